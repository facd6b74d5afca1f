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

const BIN: &str = env!("CARGO_BIN_EXE_atende");
/// Generous: the debug binary hashes passwords and several tests run at once on few cores.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A command for the binary with a clean environment: no inherited `ATENDE_*` variables, run
/// from `cwd` (so no stray `./atende.toml` is read), JSON logs.
fn atende(cwd: &Path, env: &[(&str, String)]) -> Command {
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
    status: ExitStatus,
    stdout: String,
    stderr: String,
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

fn drain(reader: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
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
async fn run(mut cmd: Command) -> Output {
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
    child: Child,
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

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn stdout(&self) -> Vec<String> {
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
    fn first_login_password(&self, email: &str) -> Option<String> {
        first_login_lines(&self.stdout())
            .iter()
            .find(|l| l.split_whitespace().any(|w| w == email))
            .and_then(|l| l.split_whitespace().last().map(str::to_string))
    }
}

/// Waits (bounded) until the first-login lines printed by `servers` number `n`: they are printed
/// before the server answers, but the output reader threads may lag a moment behind.
async fn wait_first_logins(servers: &[&Server], n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while servers.iter().map(|s| first_login_lines(&s.stdout()).len()).sum::<usize>() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The "company … e-mail … password …" lines of a first run.
fn first_login_lines(stdout: &[String]) -> Vec<String> {
    stdout.iter().filter(|l| l.contains("e-mail") && l.contains(" password ")).cloned().collect()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Logs in through the login form; returns the client (with its session) and the login status.
async fn web_login(server: &Server, email: &str, password: &str, tenant: &str) -> (reqwest::Client, u16) {
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

fn data_env(dir: &Path, database_url: Option<&str>) -> Vec<(&'static str, String)> {
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
async fn a_first_run_in_an_empty_directory_prints_two_logins_that_survive_a_restart() {
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

    let (_, status) = web_login(&first, "admin@demo.local", &password, "demo").await;
    assert_eq!(status, 303, "login with the printed password");
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
// 2. SIGKILL during a job: the job runs again and its effect happens exactly once
// ---------------------------------------------------------------------------------------------

async fn job_state(dir: &Path, database_url: Option<&str>, id: i64) -> serde_json::Value {
    admin(dir, database_url, &["job", "show", &id.to_string()]).await.json()
}

async fn wait_job_state(dir: &Path, database_url: Option<&str>, id: i64, state: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let job = job_state(dir, database_url, id).await;
        if job["state"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} not {state} within {timeout:?}: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn killed_job_runs_exactly_once(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database_url.as_deref();
    // The 3 s hold outlives the 2 s lease: the running worker must keep renewing it, or the
    // server's second worker would take the job over mid-run.
    let mut env = vec![("ATENDE_JOB_LEASE_SECS", "2".to_string()), ("ATENDE_JOB_WORKERS", "2".to_string())];
    if let Some(url) = db {
        env.push(("ATENDE_DATABASE_URL", url.to_string()));
    }
    let mut first = Server::start(dir.path(), &env);
    first.wait_ready().await;

    let enqueued =
        admin(dir.path(), db, &["job", "diagnostic", "--tenant", "demo", "--marker", "m1", "--hold-ms", "3000"])
            .await
            .json();
    let id = enqueued["job_id"].as_i64().unwrap_or_else(|| panic!("job id: {enqueued}"));
    wait_job_state(dir.path(), db, id, "running", Duration::from_secs(20)).await;
    first.signal("-KILL");
    let status = first.wait_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "SIGKILL: {status}");
    let job = job_state(dir.path(), db, id).await;
    assert_eq!(job["state"], "running", "the job must have been interrupted mid-run: {job}");
    drop(first);

    let mut second = Server::start(dir.path(), &env);
    second.wait_ready().await;
    wait_job_state(dir.path(), db, id, "done", Duration::from_secs(30)).await;
    let job = job_state(dir.path(), db, id).await;
    assert_eq!(job["attempts"], 2, "one interrupted try and one complete one: {job}");

    let url = database_url.unwrap_or_else(|| sqlite_url(dir.path()));
    let marks =
        count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = 'diagnostic.ran' AND subject = $1", &["m1"]).await;
    assert_eq!(marks, 1, "the job's effect must happen exactly once");

    second.signal("-TERM");
    let status = second.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "SIGTERM after the job: {status}\nstderr: {}", second.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_is_killed_mid_run_completes_exactly_once_after_restart_on_sqlite() {
    killed_job_runs_exactly_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_is_killed_mid_run_completes_exactly_once_after_restart_on_postgres() {
    let Some(base) = crate::support::postgres_base_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&base).await;
    killed_job_runs_exactly_once(Some(url)).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Two instances on one PostgreSQL database
// ---------------------------------------------------------------------------------------------

/// Reads an SSE body until it contains `needle`; panics after `timeout`.
async fn wait_sse<S, B>(stream: &mut S, seen: &mut String, needle: &str, timeout: Duration)
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
async fn two_instances_on_one_postgres_database_bootstrap_once_and_share_live_events() {
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
// 4. The command line
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_tenants_users_and_tokens_and_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut server = Server::start(d, &[]);
    server.wait_ready().await;

    let tenant = admin(d, None, &["create-tenant", "--name", "Acme", "--slug", "acme"]).await.json();
    assert_eq!(tenant["slug"], "acme", "{tenant}");
    assert_eq!(tenant["name"], "Acme", "{tenant}");
    let again = admin(d, None, &["create-tenant", "--name", "Acme 2", "--slug", "acme"]).await;
    assert!(!again.status.success(), "a duplicate slug must fail: {}", again.stdout);
    assert!(again.stderr.contains("slug"), "the error names the slug: {}", again.stderr);

    let user = admin(d, None, &["create-user", "--tenant", "acme", "--email", "a@acme.com", "--role", "agent"]).await;
    let user = user.json();
    assert_eq!(user["email"], "a@acme.com", "{user}");
    let first = user["password"].as_str().expect("password").to_string();
    assert_eq!(first.len(), 16, "{user}");
    let reset = admin(d, None, &["reset-password", "--tenant", "acme", "--email", "a@acme.com"]).await.json();
    let second = reset["password"].as_str().expect("new password").to_string();
    assert_eq!(second.len(), 16, "{reset}");
    assert_ne!(first, second, "the reset gives a new password");
    let (_, status) = web_login(&server, "a@acme.com", &second, "acme").await;
    assert_eq!(status, 303, "the reset password logs in");
    let (_, status) = web_login(&server, "a@acme.com", &first, "acme").await;
    assert_eq!(status, 401, "the old password no longer does");

    let token = admin(d, None, &["token", "create", "--tenant", "acme", "--name", "x", "--scopes", "read,send"]).await;
    let token = token.json()["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("atd_"), "{token}");
    let me = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("GET /api/v1/me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("me");
    assert_eq!(me["tenant"]["slug"], "acme", "{me}");
    let bogus = admin(d, None, &["token", "create", "--tenant", "acme", "--name", "y", "--scopes", "read,bogus"]).await;
    assert!(!bogus.status.success(), "an unknown scope must fail: {}", bogus.stdout);
    assert!(bogus.stderr.contains("bogus"), "{}", bogus.stderr);
    let url = sqlite_url(d);
    assert_eq!(count(&url, "SELECT COUNT(*) FROM api_tokens WHERE name = $1", &["y"]).await, 0);

    server.signal("-TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_connection_set_token_replaces_the_token_and_clears_needs_reauth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut server = Server::start(d, &[]);
    server.wait_ready().await;
    let args = ["connection", "create", "--tenant", "demo", "--phone-number-id", "444000444"];
    let created =
        admin(d, None, &[&args[..], &["--access-token", "EAAG-old", "--app-secret", "s1"]].concat()).await.json();
    let id = created["id"].as_i64().expect("connection id").to_string();
    let url = sqlite_url(d);
    {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open SQLite");
        sqlx::query("UPDATE connections SET needs_reauth = 1 WHERE phone_number_id = '444000444'")
            .execute(&pool)
            .await
            .expect("flag");
        pool.close().await;
    }
    let listed = admin(d, None, &["connection", "list", "--tenant", "demo"]).await.json();
    let ours = listed.as_array().and_then(|l| l.iter().find(|c| c["phone_number_id"] == "444000444")).cloned();
    assert_eq!(ours.map(|c| c["needs_reauth"].clone()), Some(serde_json::json!(true)), "{listed}");

    let missing =
        admin(d, None, &["connection", "set-token", "--tenant", "demo", "--id", "999", "--access-token", "x"]).await;
    assert!(!missing.status.success(), "an unknown connection must fail: {}", missing.stdout);
    let empty =
        admin(d, None, &["connection", "set-token", "--tenant", "demo", "--id", &id, "--access-token", " "]).await;
    assert!(!empty.status.success(), "an empty token must fail: {}", empty.stdout);
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM connections WHERE needs_reauth = 1 AND phone_number_id = $1", &["444000444"])
            .await,
        1
    );

    let set = ["connection", "set-token", "--tenant", "demo", "--id", &id, "--access-token", "EAAG-new"];
    let out = admin(d, None, &set).await;
    let updated = out.json();
    assert_eq!(updated["needs_reauth"], false, "{updated}");
    assert_eq!(updated["id"].as_i64().map(|i| i.to_string()), Some(id.clone()));
    assert!(!out.stdout.contains("EAAG-new"), "the token is never printed: {}", out.stdout);
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM connections WHERE needs_reauth = 1 AND phone_number_id = $1", &["444000444"])
            .await,
        0
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = $1", &["connection.secrets_updated"]).await,
        1
    );

    server.signal("-TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atende_config_never_prints_the_database_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("ATENDE_DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/x".to_string())];
    let mut cmd = atende(dir.path(), &env);
    cmd.arg("config");
    let out = run(cmd).await;
    let config = out.json();
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    assert!(out.stdout.contains("[redacted]"), "{}", out.stdout);
    assert_eq!(config["database_url"], "postgres://u:[redacted]@127.0.0.1:1/x", "{config}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_listen_address_stops_every_command_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [&["config"][..], &["admin", "stats"], &["serve"], &["migrate"]] {
        let mut cmd = atende(dir.path(), &[("ATENDE_LISTEN", "nope".to_string())]);
        cmd.env("ATENDE_DATA_DIR", dir.path()).args(args);
        let out = run(cmd).await;
        assert!(!out.status.success(), "{args:?} must fail: {}", out.stdout);
        assert!(out.stderr.contains("ATENDE_LISTEN"), "{args:?}: {}", out.stderr);
    }
    assert!(!dir.path().join("atende.db").exists(), "nothing is created on a configuration error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_in_the_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9\"\nlistne = \"127.0.0.1:9\"\n").expect("write config");
    let mut cmd = atende(dir.path(), &[]);
    cmd.arg("--config").arg(&file).arg("config");
    let out = run(cmd).await;
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains("listne"), "{}", out.stderr);

    // The same file without the typo is accepted and applied.
    std::fs::write(&file, "listen = \"127.0.0.1:9\"\n").expect("write config");
    let mut cmd = atende(dir.path(), &[]);
    cmd.arg("--config").arg(&file).arg("config");
    assert_eq!(run(cmd).await.json()["listen"], "127.0.0.1:9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_an_unreachable_database_exits_non_zero_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut server =
        Server::start(dir.path(), &[("ATENDE_DATABASE_URL", "postgres://postgres@127.0.0.1:1/x".to_string())]);
    let status = server.wait_exit(Duration::from_secs(30)).await;
    let elapsed = started.elapsed();
    assert!(!status.success(), "{status}");
    let stderr = server.stderr();
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert!(server.stdout().iter().all(|l| !l.contains("Atende is running")), "{:?}", server.stdout());
}

// ---------------------------------------------------------------------------------------------
// 5. Backups
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_running_sqlite_database_once_and_sends_postgres_users_to_pg_dump() {
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

// ---------------------------------------------------------------------------------------------
// 6. SIGKILL during a webhook ingest: every acknowledged message stored exactly once
// ---------------------------------------------------------------------------------------------

const INGEST_SECRET: &str = "ingest-kill-secret";

fn ingest_body(i: usize) -> String {
    serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
        "metadata":{"display_phone_number":"15550009","phone_number_id":"777000777"},
        "contacts":[{"profile":{"name":format!("Cliente {}", i % 50)},"wa_id":format!("55119{:08}", 80000000 + i % 50)}],
        "messages":[{"from":format!("55119{:08}", 80000000 + i % 50),"id":format!("wamid.KILL{i}"),"timestamp":"1700000000",
            "type":"text","text":{"body":format!("mensagem {i}")}}]}}]}]})
    .to_string()
}

/// Sends the given message indexes with `concurrency` requests in flight until stopped; records
/// each index whose delivery was acknowledged (2xx).
async fn send_until_stopped(
    url: String,
    indexes: Vec<usize>,
    acked: Arc<Mutex<std::collections::HashSet<usize>>>,
    concurrency: usize,
) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let queue = Arc::new(Mutex::new(indexes));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, acked, url) = (client.clone(), queue.clone(), acked.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(i) = queue.lock().expect("queue").pop() else { return };
                let body = ingest_body(i);
                let signature =
                    format!("sha256={}", atende::crypto::hmac_sha256_hex(INGEST_SECRET.as_bytes(), body.as_bytes()));
                match client.post(&url).header("X-Hub-Signature-256", signature).body(body).send().await {
                    Ok(r) if r.status().is_success() => {
                        acked.lock().expect("acked").insert(i);
                    }
                    // Refused or cut off: not acknowledged, so it may or may not be stored; it is
                    // sent again after the restart, as Meta would.
                    _ => return,
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_webhook_messages_survive_sigkill_exactly_once() {
    use rand::Rng;
    const TOTAL: usize = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = vec![("ATENDE_JOB_WORKERS", "1".to_string())];
    let mut server = Server::start(dir.path(), &env);
    server.wait_ready().await;
    let created = admin(
        dir.path(),
        None,
        &[
            "connection",
            "create",
            "--tenant",
            "demo",
            "--phone-number-id",
            "777000777",
            "--access-token",
            "t",
            "--app-secret",
            INGEST_SECRET,
        ],
    )
    .await
    .json();
    let connection = created["id"].as_i64().expect("connection id");
    let acked = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("kill timing seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for round in 0..4 {
        let pending: Vec<usize> = {
            let acked = acked.lock().expect("acked");
            (0..TOTAL).filter(|i| !acked.contains(i)).collect()
        };
        let url = server.url(&format!("/hooks/whatsapp/{connection}"));
        let sender = tokio::spawn(send_until_stopped(url, pending, acked.clone(), 32));
        if round < 3 {
            // Kill at a random moment while deliveries are in flight.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1500))).await;
            server.signal("-KILL");
            let _ = server.wait_exit(Duration::from_secs(10)).await;
            let _ = tokio::time::timeout(Duration::from_secs(20), sender).await;
            drop(server);
            server = Server::start(dir.path(), &env);
            server.wait_ready().await;
        } else {
            tokio::time::timeout(Duration::from_secs(300), sender).await.expect("last round finishes").expect("sender");
        }
    }
    let acked_now = acked.lock().expect("acked").len();
    assert_eq!(acked_now, TOTAL, "every message is acknowledged in the end");
    // Meta re-delivers acknowledged messages too: all no-ops.
    let again: Vec<usize> = (0..TOTAL).step_by(40).collect();
    send_until_stopped(server.url(&format!("/hooks/whatsapp/{connection}")), again, acked.clone(), 8).await;

    let url = sqlite_url(dir.path());
    let stored = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'in'", &[]).await;
    let distinct = count(&url, "SELECT COUNT(DISTINCT provider_id) FROM messages WHERE direction = 'in'", &[]).await;
    assert_eq!(distinct, TOTAL as i64, "every acknowledged message is stored");
    assert_eq!(stored, TOTAL as i64, "and stored once");
    let unread = count(&url, "SELECT CAST(SUM(unread_count) AS BIGINT) FROM tickets", &[]).await;
    assert_eq!(unread, TOTAL as i64, "ticket counters match the messages");
    server.signal("-TERM");
    let _ = server.wait_exit(Duration::from_secs(10)).await;
}

// ---------------------------------------------------------------------------------------------
// 7. SIGKILL during outbound sends: every queued send ends sent or failed, none twice after a
//    recorded success
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_sends_survive_sigkill_and_none_is_resent_after_its_recorded_success() {
    use rand::Rng;
    const SENDS: usize = 90;
    const CUSTOMERS: usize = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    // Short leases: the jobs a killed server held are taken over within seconds.
    let env = vec![
        ("ATENDE_DEMO", "false".to_string()),
        ("ATENDE_JOB_WORKERS", "4".to_string()),
        ("ATENDE_JOB_LEASE_SECS", "3".to_string()),
    ];
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        access_token: "kill-token".into(),
        app_secret: "kill-secret".into(),
        phone_number_id: "888000888".into(),
        rate_per_sec: Some(60),
        status_delays_ms: (0, u64::MAX, u64::MAX),
        ..wa_sim::SimConfig::default()
    })
    .await
    .expect("simulator");
    let mut server = Server::start(dir.path(), &env);
    server.wait_ready().await;
    admin(dir.path(), None, &["create-tenant", "--name", "Acme", "--slug", "acme"]).await.json();
    let created = admin(
        dir.path(),
        None,
        &[
            "connection",
            "create",
            "--tenant",
            "acme",
            "--phone-number-id",
            "888000888",
            "--access-token",
            "kill-token",
            "--app-secret",
            "kill-secret",
            "--graph-url",
            &sim.base_url(),
            "--rate",
            "50",
        ],
    )
    .await
    .json();
    let connection = created["id"].as_i64().expect("connection id");
    sim.set_webhook_url(server.url(&format!("/hooks/whatsapp/{connection}")));
    let customer = |n: usize| format!("{}", 5_511_966_660_001u64 + n as u64);
    for n in 0..CUSTOMERS {
        let d = sim
            .customer_sends(&customer(n), "Cliente", wa_sim::CustomerMessage::Text("oi".into()))
            .await
            .expect("customer");
        assert_eq!(d.status, 200);
    }
    // Queue every send through the command line (each one its own process and transaction).
    let conn_arg = connection.to_string();
    for i in 0..SENDS {
        let to = customer(i % CUSTOMERS);
        let text = format!("resposta {i}");
        admin(dir.path(), None, &["send", "--tenant", "acme", "--connection", &conn_arg, "--to", &to, "--text", &text])
            .await
            .json();
        // Kill the server twice while it is sending.
        if i == SENDS / 3 || i == 2 * SENDS / 3 {
            tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(50..400))).await;
            server.signal("-KILL");
            let _ = server.wait_exit(Duration::from_secs(10)).await;
            drop(server);
            server = Server::start(dir.path(), &env);
            server.wait_ready().await;
            sim.set_webhook_url(server.url(&format!("/hooks/whatsapp/{connection}")));
        }
    }
    let url = sqlite_url(dir.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'queued'", &[]).await > 0 {
        assert!(Instant::now() < deadline, "sends still queued after 120 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let outbound = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out'", &[]).await;
    assert_eq!(outbound, SENDS as i64, "every queued send is kept");
    let failed = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'failed'", &[]).await;
    let sent =
        count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND provider_id IS NOT NULL", &[]).await;
    assert_eq!(sent + failed, SENDS as i64, "each send ends sent or failed");
    // What the provider received: each text at least once if it is recorded as sent; more than
    // once only for sends a kill interrupted between the provider's answer and our commit (at most
    // one per job worker per kill) — never a resend after the success was recorded.
    let received = sim.sent_messages();
    let mut times: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for m in &received {
        let body = m.request["text"]["body"].as_str().unwrap_or_default().to_string();
        *times.entry(body).or_default() += 1;
    }
    let resent: usize = times.values().map(|n| n.saturating_sub(1)).sum();
    assert!(resent <= 2 * 4, "at most one duplicate per worker per kill, got {resent}");
    for i in 0..SENDS {
        let recorded = count(
            &url,
            "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND body = $1 AND provider_id IS NOT NULL",
            &[&format!("resposta {i}")],
        )
        .await;
        if recorded == 1 {
            assert!(
                times.get(&format!("resposta {i}")).copied().unwrap_or(0) >= 1,
                "recorded as sent but never received: {i}"
            );
        }
    }
    server.signal("-TERM");
    let _ = server.wait_exit(Duration::from_secs(10)).await;
    sim.shutdown().await;
}
