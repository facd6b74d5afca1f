//! The real `atende` binary as child processes: first run and restart, SIGTERM and SIGKILL,
//! two instances on one PostgreSQL database, the admin CLI, configuration errors and backups.
//!
//! Every server runs in its own temporary data directory on a free loopback port and is killed
//! when its guard drops; every wait is bounded.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sqlx::Row;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_atende");
/// Generous: the debug binary hashes passwords and several tests run at once on few cores.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const CLI_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A command for the binary with a clean environment: no inherited `ATENDE_*` variables, run
/// from `cwd` (so no stray `./atende.toml` is read), JSON logs.
pub(crate) fn atende(cwd: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("ATENDE_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(cwd).env("ATENDE_LOG_FORMAT", "json");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// What a finished command printed.
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn json(&self) -> serde_json::Value {
        assert!(
            self.status.success(),
            "command failed: {}\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

pub(crate) fn drain(reader: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            match line {
                Ok(l) => into.lock().expect("lines lock").push(l),
                Err(_) => break,
            }
        }
    })
}

/// Runs a short command to completion (killed after `CLI_TIMEOUT`) without blocking the runtime.
pub(crate) async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let t_out = drain(child.stdout.take().expect("stdout"), out.clone());
        let t_err = drain(child.stderr.take().expect("stderr"), err.clone());
        let deadline = Instant::now() + CLI_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("command did not finish within {CLI_TIMEOUT:?}: {cmd:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = t_out.join();
        let _ = t_err.join();
        let stdout = out.lock().expect("lock").join("\n");
        let stderr = err.lock().expect("lock").join("\n");
        Output { status, stdout, stderr }
    })
    .await
    .expect("command thread")
}

/// A running `atende serve`; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    port: u16,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `atende serve` in `dir` with these extra variables (data dir and port are set here).
    pub(crate) fn start(dir: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let mut cmd = atende(dir, env);
        cmd.arg("serve")
            .env("ATENDE_DATA_DIR", dir)
            .env("ATENDE_LISTEN", format!("127.0.0.1:{port}"))
            .env("ATENDE_SHUTDOWN_GRACE_SECS", "5")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn atende serve");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            drain(child.stdout.take().expect("stdout"), stdout.clone()),
            drain(child.stderr.take().expect("stderr"), stderr.clone()),
        ];
        Server { child, port, stdout, stderr, readers }
    }

    pub(crate) fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").join("\n")
    }

    /// Waits until the process has printed "Atende is running at …" and answers /readyz.
    pub(crate) async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let running = format!("Atende is running at http://127.0.0.1:{}", self.port);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "atende serve exited early with {status}\nstdout: {:?}\nstderr: {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if self.stdout().iter().any(|l| l.starts_with(&running)) {
                let ready = client.get(self.url("/readyz")).timeout(Duration::from_secs(5)).send().await;
                if let Ok(r) = ready {
                    if r.status() == 200 {
                        let body: serde_json::Value = r.json().await.expect("readyz body");
                        assert_eq!(body["status"], "ready", "{body}");
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "atende serve not ready within {START_TIMEOUT:?}\nstdout: {:?}\nstderr: {}",
                self.stdout(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.pid()]).status().expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Waits for the process to exit; panics after `timeout`. Returns its status once the output
    /// readers have collected everything it printed.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "atende serve did not exit within {timeout:?}\nstderr: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// The password printed on first run for `email`, if this process printed one.
    pub(crate) fn first_login_password(&self, email: &str) -> Option<String> {
        first_login_lines(&self.stdout())
            .iter()
            .find(|l| l.split_whitespace().any(|w| w == email))
            .and_then(|l| l.split_whitespace().last().map(str::to_string))
    }
}

/// Waits (bounded) until the first-login lines printed by `servers` number `n`: they are printed
/// before the server answers, but the output reader threads may lag a moment behind.
pub(crate) async fn wait_first_logins(servers: &[&Server], n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while servers.iter().map(|s| first_login_lines(&s.stdout()).len()).sum::<usize>() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The "company … e-mail … password …" lines of a first run.
pub(crate) fn first_login_lines(stdout: &[String]) -> Vec<String> {
    stdout.iter().filter(|l| l.contains("e-mail") && l.contains(" password ")).cloned().collect()
}

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Logs in through the login form; returns the client (with its session) and the login status.
pub(crate) async fn web_login(server: &Server, email: &str, password: &str, tenant: &str) -> (reqwest::Client, u16) {
    let client = browser();
    let page = client.get(server.url("/login")).send().await.expect("GET /login");
    assert_eq!(page.status(), 200);
    let csrf = crate::support::extract_csrf(&page.text().await.expect("login page"));
    let response = client
        .post(server.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password), ("tenant", tenant)])
        .send()
        .await
        .expect("POST /login");
    let status = response.status().as_u16();
    (client, status)
}

/// A running server with the company "acme" and a WhatsApp Cloud connection (created through the
/// command line, `rate` per second) pointing at a fresh simulator started with `config` and this
/// `token`/`secret`/`phone_number_id`; the simulator posts its webhooks to the server.
pub(crate) async fn acme_on_simulator(
    dir: &std::path::Path,
    env: &[(&str, String)],
    config: wa_sim::SimConfig,
    rate: &str,
) -> (Server, wa_sim::Simulator, i64) {
    let (token, secret, number) =
        (config.access_token.clone(), config.app_secret.clone(), config.phone_number_id.clone());
    let sim = wa_sim::Simulator::start(config).await.expect("simulator");
    let mut server = Server::start(dir, env);
    server.wait_ready().await;
    admin(dir, None, &["create-tenant", "--name", "Acme", "--slug", "acme"]).await.json();
    let args = [
        "connection",
        "create",
        "--tenant",
        "acme",
        "--phone-number-id",
        &number,
        "--access-token",
        &token,
        "--app-secret",
        &secret,
        "--graph-url",
        &sim.base_url(),
        "--rate",
        rate,
    ];
    let created = admin(dir, None, &args).await.json();
    let connection = created["id"].as_i64().expect("connection id");
    sim.set_webhook_url(server.url(&format!("/hooks/whatsapp/{connection}")));
    (server, sim, connection)
}

/// `SELECT COUNT(*) …` straight on the database (SQLite file or PostgreSQL URL).
pub(crate) async fn count(database_url: &str, sql: &str, bind: &[&str]) -> i64 {
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect PostgreSQL");
        let mut q = sqlx::query(sql);
        for b in bind {
            q = q.bind(*b);
        }
        let n: i64 = q.fetch_one(&pool).await.expect("count").get(0);
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(database_url).await.expect("open SQLite");
        let mut q = sqlx::query(sql);
        for b in bind {
            q = q.bind(*b);
        }
        let n: i64 = q.fetch_one(&pool).await.expect("count").get(0);
        pool.close().await;
        n
    }
}

pub(crate) fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("atende.db").display())
}

pub(crate) fn data_env(dir: &Path, database_url: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![("ATENDE_DATA_DIR", dir.display().to_string())];
    if let Some(url) = database_url {
        env.push(("ATENDE_DATABASE_URL", url.to_string()));
    }
    env
}

pub(crate) async fn admin(dir: &Path, database_url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = atende(dir, &data_env(dir, database_url));
    cmd.arg("admin").args(args);
    run(cmd).await
}

// ---------------------------------------------------------------------------------------------
// 1. Zero configuration, SIGTERM, restart
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_first_run_in_an_empty_directory_prints_two_logins_that_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = Server::start(dir.path(), &[]);
    first.wait_ready().await;
    wait_first_logins(&[&first], 2).await;
    let stdout = first.stdout();
    let logins = first_login_lines(&stdout);
    assert_eq!(logins.len(), 2, "two first logins expected: {stdout:?}");
    assert!(stdout.iter().any(|l| l.starts_with("First run")), "{stdout:?}");
    let password = first.first_login_password("admin@demo.local").expect("demo admin password printed");
    assert_eq!(password.len(), 16, "{password}");
    assert!(first.first_login_password("admin@atende.local").is_some(), "{stdout:?}");

    let (admin_web, status) = web_login(&first, "admin@demo.local", &password, "demo").await;
    assert_eq!(status, 303, "login with the printed password");
    // The demo shows a weekly schedule with its template (set up once the simulator answers).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = admin_web.get(first.url("/schedules")).send().await.expect("GET /schedules");
        let html = page.text().await.expect("schedules page");
        if html.contains("Cliente Demo") && html.contains("Toda semana (seg) às 09:00") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no demo schedule: {html}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The demo's kanban has its sales stages as columns.
    let board = admin_web.get(first.url("/kanban")).send().await.expect("GET /kanban").text().await.expect("board");
    let (novo, fechado) = (board.find("aria-label=\"Novo contato\""), board.find("aria-label=\"Fechado\""));
    assert!(novo.is_some() && novo < fechado, "the demo's lanes in order: {board}");
    let (_, status) = web_login(&first, "admin@demo.local", "not-the-password", "demo").await;
    assert_eq!(status, 401, "a wrong password is refused");

    first.signal("-TERM");
    let status = first.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "SIGTERM while idle must exit 0, got {status}\nstderr: {}", first.stderr());
    drop(first);

    let mut second = Server::start(dir.path(), &[]);
    second.wait_ready().await;
    let (_, status) = web_login(&second, "admin@demo.local", &password, "demo").await;
    assert_eq!(status, 303, "the first password still works after a restart");
    let stats = admin(dir.path(), None, &["stats", "--json"]).await.json();
    assert_eq!(stats["tenants"], 1, "{stats}");
    assert_eq!(stats["users"], 2, "{stats}");

    second.signal("-TERM");
    let status = second.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "second SIGTERM: {status}");
    let stdout = second.stdout();
    assert!(stdout.iter().any(|l| l.starts_with("Atende is running at http://")), "{stdout:?}");
    assert!(first_login_lines(&stdout).is_empty(), "a restart must not print first logins: {stdout:?}");
    assert!(!stdout.iter().any(|l| l.starts_with("First run")), "{stdout:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Two instances on one PostgreSQL database
// ---------------------------------------------------------------------------------------------

/// Reads an SSE body until it contains `needle`; panics after `timeout`.
pub(crate) async fn wait_sse<S, B>(stream: &mut S, seen: &mut String, needle: &str, timeout: Duration)
where
    S: futures_util::Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => seen.push_str(&String::from_utf8_lossy(chunk.as_ref())),
            Ok(Some(Err(e))) => panic!("event stream failed: {e}; so far: {seen}"),
            Ok(None) => panic!("event stream ended before {needle:?}; so far: {seen}"),
            Err(_) => panic!("no {needle:?} within {timeout:?}; so far: {seen}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn two_instances_on_one_postgres_database_bootstrap_once_and_share_live_events() {
    let Some(base) = crate::support::postgres_base_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&base).await;
    let key = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    };
    let env = vec![("ATENDE_DATABASE_URL", url.clone()), ("ATENDE_MASTER_KEY", key.clone())];
    let dir_a = tempfile::tempdir().expect("tempdir");
    let dir_b = tempfile::tempdir().expect("tempdir");
    // Both start at once, as two replicas behind a load balancer would.
    let mut a = Server::start(dir_a.path(), &env);
    let mut b = Server::start(dir_b.path(), &env);
    a.wait_ready().await;
    b.wait_ready().await;
    wait_first_logins(&[&a, &b], 2).await;

    let (lines_a, lines_b) = (first_login_lines(&a.stdout()), first_login_lines(&b.stdout()));
    assert_eq!(
        lines_a.len() + lines_b.len(),
        2,
        "exactly one instance prints the two first logins: A {lines_a:?}, B {lines_b:?}"
    );
    assert!(lines_a.is_empty() || lines_b.is_empty(), "A {lines_a:?}, B {lines_b:?}");
    assert_eq!(count(&url, "SELECT COUNT(*) FROM users", &[]).await, 2);
    let password = a
        .first_login_password("admin@demo.local")
        .or_else(|| b.first_login_password("admin@demo.local"))
        .expect("demo admin password printed by one instance");

    let mut cli = atende(dir_a.path(), &env);
    cli.env("ATENDE_DATA_DIR", dir_a.path()).args(["admin", "token", "create", "--tenant", "demo", "--name", "t"]);
    cli.args(["--scopes", "read"]);
    let token = run(cli).await.json()["token"].as_str().expect("token").to_string();

    let sse = reqwest::Client::new()
        .get(b.url("/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET /api/v1/events on B");
    assert_eq!(sse.status(), 200);
    let mut stream = Box::pin(sse.bytes_stream());
    let mut seen = String::new();
    wait_sse(&mut stream, &mut seen, "event: ready", Duration::from_secs(10)).await;

    let (client, status) = web_login(&a, "admin@demo.local", &password, "demo").await;
    assert_eq!(status, 303, "login on A");
    let page = client.get(a.url("/admin/users")).send().await.expect("GET /admin/users");
    assert_eq!(page.status(), 200);
    let csrf = crate::support::extract_csrf(&page.text().await.expect("users page"));
    let created = client
        .post(a.url("/admin/users"))
        .form(&[("csrf", csrf.as_str()), ("name", "Ana"), ("email", "ana@demo.local"), ("role", "agent")])
        .send()
        .await
        .expect("POST /admin/users on A");
    assert_eq!(created.status(), 200, "user creation on A");
    assert!(created.text().await.expect("body").contains("ana@demo.local"));

    wait_sse(&mut stream, &mut seen, "event: user.created", Duration::from_secs(5)).await;
    assert_eq!(count(&url, "SELECT COUNT(*) FROM users", &[]).await, 3);
    drop(stream);

    a.signal("-TERM");
    b.signal("-TERM");
    assert!(a.wait_exit(Duration::from_secs(15)).await.success(), "A exits 0: {}", a.stderr());
    assert!(b.wait_exit(Duration::from_secs(15)).await.success(), "B exits 0: {}", b.stderr());
}

// ---------------------------------------------------------------------------------------------
// 5. Backups
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn backup_copies_a_running_sqlite_database_once_and_sends_postgres_users_to_pg_dump() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), &[]);
    server.wait_ready().await;

    let target = dir.path().join("backups").join("copy.db");
    std::fs::create_dir_all(target.parent().expect("parent")).expect("backup dir");
    let backup = |file: PathBuf, database_url: Option<&str>| {
        let mut cmd = atende(dir.path(), &data_env(dir.path(), database_url));
        cmd.arg("backup").arg(file);
        run(cmd)
    };
    let out = backup(target.clone(), None).await;
    let printed = out.json();
    assert_eq!(printed["backup"], target.display().to_string(), "{printed}");
    let copy = format!("sqlite://{}", target.display());
    assert_eq!(count(&copy, "SELECT COUNT(*) FROM users", &[]).await, 2, "the copy holds the users");
    let len = std::fs::metadata(&target).expect("backup file").len();

    let again = backup(target.clone(), None).await;
    assert!(!again.status.success(), "a second backup to the same file must fail: {}", again.stdout);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(std::fs::metadata(&target).expect("backup file").len(), len, "the first copy is untouched");

    let started = Instant::now();
    let pg = backup(dir.path().join("pg.db"), Some("postgres://postgres@127.0.0.1:1/x")).await;
    assert!(!pg.status.success(), "{}", pg.stdout);
    assert!(pg.stderr.contains("pg_dump"), "{}", pg.stderr);
    assert!(started.elapsed() < Duration::from_secs(5), "the advice needs no connection: {:?}", started.elapsed());
    assert!(!dir.path().join("pg.db").exists());

    server.signal("-TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.success());
}
