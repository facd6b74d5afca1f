//! The application: everything a request, a job or a command needs, built once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::domain::ratelimit::{RateLimiter, TokenBuckets};
use crate::metrics::Metrics;
use crate::realtime::Bus;
use crate::store::{self, Backend, Db};

pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub bus: Bus,
    pub clock: Clock,
    pub master_key: MasterKey,
    pub metrics: Metrics,
    /// Failed logins per client address (any account).
    pub login_ip_limiter: RateLimiter,
    /// Failed logins per account from one address: locks that address out of that account.
    pub login_account_limiter: RateLimiter,
    /// Failed logins per account from anywhere: only slows attempts down (see `actions::auth`),
    /// so a stranger cannot lock the owner out.
    pub login_account_failures: RateLimiter,
    /// API requests per token (by the hash of its secret), for the per-token rate limit.
    pub api_limiter: TokenBuckets,
    /// Wakes idle job workers when this process enqueues a job.
    pub jobs_wakeup: Arc<Notify>,
    /// Distinguishes this process's job leases from other instances'.
    pub instance_id: String,
    /// The group-commit writer for inbound webhook deliveries.
    pub ingest: crate::actions::receive::Ingest,
    /// Webhook connections with their secrets opened, briefly cached (see `hooks`).
    pub webhook_connections: crate::http::hooks::ConnectionCache,
    /// The Graph API client (one keep-alive pool for every WhatsApp Cloud API number).
    pub graph: crate::channels::whatsapp_cloud::graph::Graph,
}

pub type AppState = Arc<App>;

impl App {
    /// Connects to the database, applies migrations, loads the master key and starts the bus.
    pub async fn build(settings: Settings) -> anyhow::Result<Arc<App>> {
        // Before the first file (database, master key) is created.
        crate::os::private_umask();
        let url = settings.effective_database_url();
        let db = Db::connect(&url, settings.db_max_connections)
            .await
            .with_context(|| format!("database {} is unreachable", crate::config::redact_url(&url)))?;
        store::migrate::run(&db).await.context("applying migrations")?;
        db.spawn_checkpointer();
        let master_key = MasterKey::load_or_create(settings.master_key.as_ref(), &settings.data_dir)?;
        let bus = Bus::new(db.backend);
        let jobs_wakeup = Arc::new(Notify::new());
        if db.backend == Backend::Postgres {
            // Wait until this instance hears events, so none published right after start is missed.
            let listening = bus.spawn_pg_listener(url);
            if tokio::time::timeout(Duration::from_secs(10), listening).await.is_err() {
                tracing::warn!("the live-event listener is not connected yet; it keeps retrying");
            }
        }
        let clock = Clock::system();
        let ingest =
            crate::actions::receive::Ingest::spawn(db.clone(), bus.clone(), clock.clone(), jobs_wakeup.clone());
        Ok(Arc::new(App {
            ingest,
            webhook_connections: Default::default(),
            graph: crate::channels::whatsapp_cloud::graph::Graph::new().context("building the Graph client")?,
            db,
            bus,
            clock,
            master_key,
            metrics: Metrics::default(),
            login_ip_limiter: RateLimiter::new(30, 5 * 60_000),
            login_account_limiter: RateLimiter::new(5, 15 * 60_000),
            login_account_failures: RateLimiter::new(usize::MAX, 15 * 60_000),
            api_limiter: TokenBuckets::new(settings.api_rate_per_sec, settings.api_rate_burst),
            jobs_wakeup,
            instance_id: crate::crypto::random_token(9),
            settings,
        }))
    }
}

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
    let router = crate::http::router(app.clone());
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
