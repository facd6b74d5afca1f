//! The composition root of a serving process: the HTTP server, the inbound ingest writer and the
//! job workers around one [`App`], and a graceful shutdown. The CLI's `serve`, the benchmarks and
//! the tests start Atende here.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;

/// Serves HTTP on `listener` and runs the job workers until `shutdown` resolves; then lets
/// in-flight requests and jobs finish within the grace period and releases leftover leases.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::os::private_umask();
    let open_files = crate::os::raise_open_file_limit();
    let max_connections = crate::os::connection_cap(app.settings.max_connections, open_files);
    if max_connections < app.settings.max_connections {
        tracing::warn!(
            configured = app.settings.max_connections,
            open_file_limit = open_files,
            "max_connections lowered to {max_connections}: the open-file limit cannot hold more"
        );
    }
    let limits = crate::http::server::Limits {
        max_connections,
        header_timeout: Duration::from_secs(app.settings.header_timeout_secs),
        body_timeout: Duration::from_secs(app.settings.body_timeout_secs),
        idle_timeout: Duration::from_secs(app.settings.idle_timeout_secs),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = crate::jobs::spawn(app.clone(), app.settings.job_workers, stop_rx.clone());
    // The group-commit writer for inbound webhook deliveries: only a serving process needs one.
    let ingest = crate::actions::receive::Ingest::spawn(
        app.db.clone(),
        app.bus.clone(),
        app.clock.clone(),
        app.jobs_wakeup.clone(),
    );
    let router = crate::http::router(app.clone(), ingest);
    let mut server = tokio::spawn(crate::http::server::run(listener, router, limits, stop_rx.clone()));
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests and jobs");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(app.settings.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        for w in workers {
            let _ = w.await;
        }
        let _ = (&mut server).await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("grace period over; stopping now");
        // Closes the connections still open (event streams never end by themselves).
        server.abort();
    }
    crate::jobs::release_leases(&app).await;
    app.db.close().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
