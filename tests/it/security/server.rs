//! Finding 5 (slow and idle clients, connection floods) and the file modes of finding 8: real TCP
//! sockets against the real server, with short timeouts and a small connection cap.

use std::time::Duration;

use atende::config::Settings;
use atende::domain::Scope;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::engine_test_with;
use crate::support::{Engine, TestApp};

/// Timeouts short enough for tests; the idle timeout outlasts the heartbeat, as in production.
fn short_timeouts(s: &mut Settings) {
    s.header_timeout_secs = 1;
    s.body_timeout_secs = 1;
    s.idle_timeout_secs = 3;
    s.sse_heartbeat_secs = 1;
}

/// How the server left a socket.
#[derive(Debug)]
struct Outcome {
    /// When the server closed it (EOF or reset), counted from the start; `None`: still open.
    closed_after: Option<Duration>,
    /// What the server sent before.
    received: String,
}

/// Writes `bytes` one at a time, `every` apart (forever, cycling), reading what comes back, until
/// the server closes the socket or `give_up` passes.
async fn trickle(stream: &mut TcpStream, bytes: &[u8], every: Duration, give_up: Duration) -> Outcome {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    for byte in bytes.iter().cycle() {
        if started.elapsed() > give_up {
            break;
        }
        if stream.write_all(&[*byte]).await.is_err() {
            return Outcome { closed_after: Some(started.elapsed()), received: lossy(&received) };
        }
        let deadline = Instant::now() + every;
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    return Outcome { closed_after: Some(started.elapsed()), received: lossy(&received) }
                }
                Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            }
        }
    }
    Outcome { closed_after: None, received: lossy(&received) }
}

/// Reads until the server closes the socket or `give_up` passes, sending nothing.
async fn wait_for_close(stream: &mut TcpStream, give_up: Duration) -> Outcome {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(started + give_up, stream.read(&mut buf)).await {
            Err(_) => return Outcome { closed_after: None, received: lossy(&received) },
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Outcome { closed_after: Some(started.elapsed()), received: lossy(&received) }
            }
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One request on a fresh socket with `Connection: close`; the whole answer.
async fn request(t: &TestApp, head: &str) -> String {
    let mut stream = TcpStream::connect(t.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let outcome = wait_for_close(&mut stream, Duration::from_secs(10)).await;
    assert!(outcome.closed_after.is_some(), "the server kept a Connection: close socket open: {outcome:?}");
    outcome.received
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: atende\r\nConnection: close\r\n\r\n";

engine_test_with!(a_client_trickling_header_bytes_is_cut_off, short_timeouts, |t: TestApp| async move {
    let mut stream = TcpStream::connect(t.addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: atende\r\n").await.unwrap();
    // A header line that never ends, one byte every 100 ms (slowloris).
    let outcome =
        trickle(&mut stream, b"X-Slow: aaaaaaaaaaaaaaaaaaaa", Duration::from_millis(100), Duration::from_secs(8)).await;
    let closed = outcome.closed_after.unwrap_or_else(|| panic!("a trickled request head held the socket: {outcome:?}"));
    assert!(closed < Duration::from_secs(4), "cut off only after {closed:?}");
    // Everyone else is still served.
    assert!(request(&t, HEALTHZ).await.starts_with("HTTP/1.1 200"));
    t.stop().await;
});

engine_test_with!(a_client_trickling_a_body_is_cut_off, short_timeouts, |t: TestApp| async move {
    let token = t.token(t.demo_tenant().await, &[Scope::Read, Scope::Write]).await;
    let mut stream = TcpStream::connect(t.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/tags HTTP/1.1\r\nHost: atende\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"name\": \""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A body announced at 100 KB that arrives a byte every 100 ms: each byte keeps the socket
    // busy, so only a deadline for the whole body ends it.
    let outcome = trickle(&mut stream, b"a", Duration::from_millis(100), Duration::from_secs(8)).await;
    let closed = outcome.closed_after.unwrap_or_else(|| panic!("a trickled body held the socket: {outcome:?}"));
    assert!(closed < Duration::from_secs(4), "cut off only after {closed:?}");
    assert!(outcome.received.starts_with("HTTP/1.1 408"), "{outcome:?}");
    t.stop().await;
});

engine_test_with!(idle_sockets_are_closed_but_event_streams_stay_open, short_timeouts, |t: TestApp| async move {
    let token = t.token(t.demo_tenant().await, &[Scope::Read]).await;
    // A socket that never sends anything, and one idle after a keep-alive request.
    let mut silent = TcpStream::connect(t.addr).await.unwrap();
    let mut kept_alive = TcpStream::connect(t.addr).await.unwrap();
    kept_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: atende\r\n\r\n").await.unwrap();
    // An event stream: quiet but for heartbeats (every second here, idle timeout 3 s).
    let mut events = TcpStream::connect(t.addr).await.unwrap();
    let head = format!("GET /api/v1/events HTTP/1.1\r\nHost: atende\r\nAuthorization: Bearer {token}\r\n\r\n");
    events.write_all(head.as_bytes()).await.unwrap();

    let silent = wait_for_close(&mut silent, Duration::from_secs(6)).await;
    assert!(silent.closed_after.is_some_and(|d| d < Duration::from_secs(4)), "a silent socket stayed: {silent:?}");
    let kept_alive = wait_for_close(&mut kept_alive, Duration::from_secs(6)).await;
    assert!(kept_alive.received.starts_with("HTTP/1.1 200"), "{kept_alive:?}");
    assert!(kept_alive.closed_after.is_some(), "an idle keep-alive socket stayed: {kept_alive:?}");
    // By now the stream has lived past the idle timeout; it is still open and beating.
    let stream = wait_for_close(&mut events, Duration::from_secs(2)).await;
    assert!(stream.closed_after.is_none(), "the event stream was cut: {stream:?}");
    assert!(stream.received.contains(": heartbeat") || stream.received.contains(":heartbeat"), "{stream:?}");
    t.stop().await;
});

fn small_cap(s: &mut Settings) {
    short_timeouts(s);
    s.header_timeout_secs = 2;
    s.max_connections = 5;
}

engine_test_with!(
    more_connections_than_the_cap_get_a_503_and_healthz_still_answers,
    small_cap,
    |t: TestApp| async move {
        // Five idle sockets take every slot.
        let mut idle = Vec::new();
        for _ in 0..5 {
            idle.push(TcpStream::connect(t.addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The sixth is told so at once, and closed.
        let started = Instant::now();
        let refused = request(&t, HEALTHZ).await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(refused.to_ascii_lowercase().contains("connection: close"), "{refused}");
        assert!(started.elapsed() < Duration::from_secs(2), "the refusal took {:?}", started.elapsed());
        // The idle sockets lose their slots at the header timeout, and /healthz answers again.
        for socket in &mut idle {
            let outcome = wait_for_close(socket, Duration::from_secs(5)).await;
            assert!(outcome.closed_after.is_some(), "an idle socket kept its slot: {outcome:?}");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = request(&t, HEALTHZ).await;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(Instant::now() < deadline, "/healthz did not come back: {answer}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        t.stop().await;
    }
);

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Spawns with a permissive umask in force (the usual 022), as `atende serve` is started by a
/// shell or a service manager.
#[cfg(unix)]
async fn spawn_under_umask_022(engine: Engine) -> Option<TestApp> {
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(crate::support::fresh_postgres_database(&crate::support::postgres_base_url()?).await),
    };
    // SAFETY: umask only swaps the process's file-creation mask.
    unsafe { libc::umask(0o022) };
    Some(TestApp::spawn_with(engine, url, |_| {}).await)
}

#[cfg(unix)]
async fn files_are_private(engine: Engine) {
    let Some(t) = spawn_under_umask_022(engine).await else { return };
    let data = t.app.settings.data_dir.clone();
    assert_eq!(mode(&data.join("master.key")), 0o600);
    let sha = atende::store::files::put(&data, b"a customer's photo".to_vec()).await.unwrap();
    let media = data.join("media").join(&sha[..2]).join(&sha);
    assert_eq!(mode(&media), 0o600, "media file");
    assert_eq!(mode(media.parent().unwrap()), 0o700, "media directory");
    assert_eq!(mode(&data.join("media")), 0o700, "media directory");
    if engine == Engine::Sqlite {
        for name in ["atende.db", "atende.db-wal", "atende.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
        let backup = data.join("backup.db");
        atende::store::backup_sqlite(&t.app.db, backup.to_str().unwrap()).await.unwrap();
        assert_eq!(mode(&backup), 0o600, "backup");
        // A database an older version left readable by everyone is narrowed when opened.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o644)).unwrap();
        let reopened = atende::store::Db::connect(&format!("sqlite://{}", backup.display()), 1).await.unwrap();
        reopened.close().await;
        assert_eq!(mode(&backup), 0o600, "reopened database");
    }
    t.stop().await;
}

#[cfg(unix)]
mod database_and_media_files_are_private_to_the_server_user {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        files_are_private(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        files_are_private(Engine::Postgres).await;
    }
}
