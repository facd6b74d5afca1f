//! Test helpers: `TestApp::spawn` builds the real `App` (same `App::build` as production) on a
//! fresh database and serves it on a random loopback port.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use atende::actions::{self, Actor};
use atende::app::App;
use atende::config::{Secret, Settings};
use atende::domain::{Role, Scope, TenantId};
use atende::store::users::User;
use sqlx::Executor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Declares a test that runs once per engine: `engine_test!(name, |t| async move { … });`
/// creates `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! engine_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::TestApp::spawn($crate::support::Engine::Sqlite).await;
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::support::TestApp::spawn_postgres().await else {
                    return;
                };
                ($body)(t).await;
            }
        }
    };
}

/// Declares a test that runs once per engine with tweaked settings:
/// `engine_test_with!(name, |s: &mut Settings| …, |t| async move { … });`
#[macro_export]
macro_rules! engine_test_with {
    ($name:ident, $tweak:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::TestApp::spawn_with($crate::support::Engine::Sqlite, None, $tweak).await;
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(base) = $crate::support::postgres_base_url() else {
                    return;
                };
                let url = $crate::support::fresh_postgres_database(&base).await;
                let t =
                    $crate::support::TestApp::spawn_with($crate::support::Engine::Postgres, Some(url), $tweak).await;
                ($body)(t).await;
            }
        }
    };
}

/// The PostgreSQL server for tests, or a loud note that those variants do not run.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("ATENDE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("!!! ATENDE_TEST_DATABASE_URL is not set: the PostgreSQL variant of this test did NOT run !!!");
            None
        }
    }
}

/// Creates a fresh database on the test server; returns its URL.
pub async fn fresh_postgres_database(base: &str) -> String {
    let name = format!("atende_t_{}", atende::crypto::random_token(9).to_lowercase().replace(['-', '_'], "x"));
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(base).await.expect("connect to test PostgreSQL");
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    let query = base.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{prefix}/{name}{query}")
}

/// Drops a per-test database (best effort: CI also sweeps leftovers of failed tests).
pub async fn drop_postgres_database(url: &str) {
    let Some(base) = postgres_base_url() else { return };
    let name = url.rsplit_once('/').map(|(_, n)| n.split('?').next().unwrap_or(n)).unwrap_or_default();
    if !name.starts_with("atende_t_") {
        return;
    }
    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await {
        let _ = conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
    }
}

pub struct FirstLogins {
    pub platform_password: String,
    pub demo_password: String,
}

pub struct TestApp {
    pub app: Arc<App>,
    pub addr: SocketAddr,
    pub base: String,
    pub engine: Engine,
    pub database_url: String,
    pub logins: FirstLogins,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        let database_url = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => {
                let base = postgres_base_url().expect("PostgreSQL requested without ATENDE_TEST_DATABASE_URL");
                Some(fresh_postgres_database(&base).await)
            }
        };
        Self::spawn_with(engine, database_url, |_| {}).await
    }

    pub async fn spawn_postgres() -> Option<TestApp> {
        postgres_base_url()?;
        Some(Self::spawn(Engine::Postgres).await)
    }

    /// Spawns with a given database URL (`None`: SQLite in the temp dir) and settings tweaks.
    pub async fn spawn_with(
        engine: Engine,
        database_url: Option<String>,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            database_url: database_url.clone().map(Secret::new),
            job_workers: 1,
            shutdown_grace_secs: 2,
            db_max_connections: 4,
            ..Settings::default()
        };
        tweak(&mut settings);
        // Bound first, so links and the webhook URLs handed to providers name this server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        settings.base_url.get_or_insert_with(|| format!("http://{addr}"));
        let app = App::build(settings).await.expect("build app");
        let logins = actions::bootstrap::first_run(&app).await.expect("first run");
        let password =
            |slug: &str| logins.iter().find(|l| l.tenant == slug).map(|l| l.password.clone()).unwrap_or_default();
        let logins = FirstLogins { platform_password: password("platform"), demo_password: password("demo") };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = app.clone();
        let server = tokio::spawn(async move {
            let _ = atende::server::serve(serving, listener, async move {
                let _ = stopped.await;
            })
            .await;
        });
        let database_url = database_url.unwrap_or_else(|| app.settings.effective_database_url());
        TestApp {
            app,
            addr,
            base: format!("http://{addr}"),
            engine,
            database_url,
            logins,
            dir,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn demo_tenant(&self) -> TenantId {
        actions::tenants::find_by_slug(&self.app, "demo").await.expect("demo tenant").id
    }

    pub async fn create_tenant(&self, slug: &str) -> TenantId {
        actions::tenants::create_tenant(&self.app, &Actor::Operator, &format!("Company {slug}"), slug)
            .await
            .expect("create tenant")
            .id
    }

    /// Creates a user with a known password.
    pub async fn create_user(&self, tenant: TenantId, email: &str, role: Role, password: &str) -> User {
        let input = actions::users::CreateUser {
            email,
            name: email.split('@').next().unwrap_or(email),
            role,
            password: Some(password),
        };
        actions::users::create_user(&self.app, &Actor::Operator, tenant, input).await.expect("create user").0
    }

    pub async fn token(&self, tenant: TenantId, scopes: &[Scope]) -> String {
        actions::tokens::create_token(&self.app, &Actor::Operator, tenant, "test", scopes)
            .await
            .expect("create token")
            .1
    }

    /// The CSRF token the server set for this client (reads it from a login page).
    pub async fn csrf(&self, client: &reqwest::Client) -> String {
        let html = client.get(self.url("/login")).send().await.expect("get /login").text().await.expect("body");
        extract_csrf(&html)
    }

    /// Logs a fresh browser in; panics when login fails.
    pub async fn login(&self, email: &str, password: &str, tenant: &str) -> reqwest::Client {
        let client = self.browser();
        let csrf = self.csrf(&client).await;
        let response = client
            .post(self.url("/login"))
            .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password), ("tenant", tenant)])
            .send()
            .await
            .expect("post /login");
        assert_eq!(response.status(), 303, "login of {email} failed");
        client
    }

    pub async fn login_demo_admin(&self) -> reqwest::Client {
        self.login("admin@demo.local", &self.logins.demo_password, "demo").await
    }

    /// Counts rows of a table matching a SQL condition (tests only).
    pub async fn count(&self, table: &str, condition: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {condition}");
        sqlx::Row::get::<i64, _>(&sqlx::query(&sql).fetch_one(self.app.db.reader()).await.expect("count"), 0)
    }

    /// Customers write: one webhook delivery of text messages `(phone, wamid, text)` to
    /// connection `conn` (business number `phone_number_id`), signed with `app_secret`, as
    /// Meta sends them; asserts it is acknowledged.
    pub async fn deliver_texts(
        &self,
        conn: i64,
        phone_number_id: &str,
        app_secret: &str,
        messages: &[(&str, &str, &str)],
    ) {
        use serde_json::{json, Value};
        let now_secs = (self.app.clock.now_ms() / 1000).to_string();
        let contacts: Vec<Value> =
            messages.iter().map(|(p, _, _)| json!({"profile": {"name": format!("Cliente {p}")}, "wa_id": p})).collect();
        let msgs: Vec<Value> = messages
            .iter()
            .map(|(p, id, text)| json!({"from": p, "id": id, "timestamp": now_secs, "type": "text", "text": {"body": text}}))
            .collect();
        let body =
            json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "5511900000000", "phone_number_id": phone_number_id},
                "contacts": contacts, "messages": msgs}}]}]})
            .to_string();
        let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(app_secret.as_bytes(), body.as_bytes()));
        let answer = reqwest::Client::new()
            .post(self.url(&format!("/hooks/whatsapp/{conn}")))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .expect("deliver the webhook");
        assert_eq!(answer.status(), 200, "webhook refused: {}", answer.text().await.unwrap_or_default());
    }

    /// A department `name` of `tenant` that neither signs messages nor distributes tickets.
    pub async fn department(&self, tenant: TenantId, name: &str) -> i64 {
        let input = actions::departments::DepartmentInput {
            name: name.into(),
            colour: "#2563eb".into(),
            greeting: String::new(),
            sign_messages: false,
            distribution_mode: atende::domain::inbox::DistributionMode::Off,
        };
        actions::departments::create_department(&self.app, &Actor::Operator, tenant, input)
            .await
            .expect("create a department")
            .id
    }

    /// A WhatsApp simulator started with `config`, wired to a new connection `name` of `tenant`
    /// (Graph calls go to the simulator, its webhooks come here); returns it and the connection id.
    pub async fn simulator_with(
        &self,
        tenant: TenantId,
        name: &str,
        config: wa_sim::SimConfig,
    ) -> (wa_sim::Simulator, i64) {
        let sim = wa_sim::Simulator::start(config).await.expect("start the simulator");
        let input = actions::connections::CreateWhatsappCloud {
            name,
            phone_number_id: sim.phone_number_id(),
            waba_id: "",
            access_token: "sim-access-token",
            app_secret: "sim-app-secret",
            graph_url: Some(&sim.base_url()),
            api_version: None,
            rate_per_sec: None,
        };
        let conn = actions::connections::create_whatsapp_cloud(&self.app, &Actor::Operator, tenant, input)
            .await
            .expect("create the simulator's connection")
            .connection
            .id;
        sim.set_webhook_url(self.url(&format!("/hooks/whatsapp/{conn}")));
        (sim, conn)
    }

    /// [`TestApp::simulator_with`] the simulator's defaults, as connection "WhatsApp".
    pub async fn simulator(&self, tenant: TenantId) -> (wa_sim::Simulator, i64) {
        self.simulator_with(tenant, "WhatsApp", wa_sim::SimConfig::default()).await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if self.engine == Engine::Postgres {
            drop_postgres_database(&self.database_url).await;
        }
    }
}

/// The value of the first hidden `csrf` input of a page.
pub fn extract_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let end = html[start..].find('"').expect("csrf value ends") + start;
    html[start..end].to_string()
}

/// Waits (up to 20 s) until the simulator received a Graph message matching `pick`.
pub async fn sent_to_sim(
    sim: &wa_sim::Simulator,
    what: &str,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(m) = sim.sent_messages().into_iter().find(|m| pick(&m.request)) {
            return m.request;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator did not receive {what}: {:?}",
            sim.sent_messages()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The type the simulator stored for an uploaded media id.
pub async fn sim_media_type(sim: &wa_sim::Simulator, media_id: &str) -> String {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v21.0/{media_id}", sim.base_url()))
        .bearer_auth("sim-access-token")
        .send()
        .await
        .expect("ask the simulator")
        .json()
        .await
        .expect("the simulator's JSON");
    v["mime_type"].as_str().unwrap_or_default().to_string()
}
