//! The credential vault (issue 16, docs/VAULT.md): only the ticket's current assignee and the
//! company's admins reveal a secret, every reveal and every refusal audited with the client's
//! address; closing the ticket erases the ciphertext and the wrapped key; no secret appears in
//! any answer but the reveal, in the logs, or in plain text anywhere in the database; the
//! customer's one-time link works once; "Mover para o cofre" redacts the message.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use atende::actions::inbox::{self, Transfer};
use atende::actions::{vault_links, Actor};
use atende::domain::{Role, Scope, TenantId};
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

pub(crate) const APP_SECRET: &str = "app-secret-for-vault-tests";

// ---------------------------------------------------------------- captured logs

/// Everything the process logs from the first call on (info, and Atende's own debug and
/// trace): a global subscriber writing to memory, capped so a long run cannot grow it forever.
#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.lock().unwrap();
        if buf.len() < 256 * 1024 * 1024 {
            buf.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,atende=trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other test sets a global subscriber");
        buf
    })
    .clone()
}

pub(crate) fn logs_contain(logs: &Arc<Mutex<Vec<u8>>>, needle: &str) -> bool {
    String::from_utf8_lossy(&logs.lock().unwrap()).contains(needle)
}

// ---------------------------------------------------------------- set-up

pub(crate) async fn connect(t: &TestApp, tenant: TenantId, phone_number_id: &str) -> i64 {
    let input = atende::actions::connections::CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id,
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: APP_SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    atende::actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input)
        .await
        .unwrap()
        .connection
        .id
}

/// A customer writes `text`; returns their ticket.
pub(crate) async fn customer_writes(
    t: &TestApp,
    conn: i64,
    phone_number_id: &str,
    from: &str,
    id: &str,
    text: &str,
) -> i64 {
    t.deliver_texts(conn, phone_number_id, APP_SECRET, &[(from, id, text)]).await;
    let sql = format!("SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = '{from}'");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(row) = sqlx::query(&sql).fetch_one(t.app.db.reader()).await {
            return sqlx::Row::get(&row, 0);
        }
        assert!(std::time::Instant::now() < deadline, "no ticket for {from}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn post_form(t: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = t.csrf(client).await;
    let mut form = fields.to_vec();
    form.push(("csrf", csrf.as_str()));
    client.post(t.url(path)).form(&form).send().await.unwrap()
}

async fn text(t: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn user(actor: &atende::store::users::User) -> Actor {
    Actor::User(actor.clone())
}

/// A secret no other test uses, so finding it anywhere means this test leaked it.
fn fresh_secret() -> String {
    format!("S3nh@-{}", atende::crypto::random_token(12))
}

async fn credential_id(t: &TestApp, ticket: i64) -> i64 {
    let sql = format!("SELECT MAX(id) FROM ticket_credentials WHERE ticket_id = {ticket}");
    sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

/// Every table of the database, as the engine lists them.
async fn tables(t: &TestApp) -> Vec<String> {
    let sql = match t.engine {
        crate::support::Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        crate::support::Engine::Postgres => "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
    };
    sqlx::query(sql).fetch_all(t.app.db.reader()).await.unwrap().iter().map(|r| sqlx::Row::get(r, 0)).collect()
}

/// Whether any text cell of any table holds `needle`.
pub(crate) async fn stored_in_plain_text(t: &TestApp, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for table in tables(t).await {
        for row in sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(t.app.db.reader()).await.unwrap() {
            for i in 0..sqlx::Row::len(&row) {
                if let Ok(Some(v)) = sqlx::Row::try_get::<Option<String>, _>(&row, i) {
                    if v.contains(needle) && !found.contains(&table) {
                        found.push(table.clone());
                    }
                }
            }
        }
    }
    found
}

struct Desk {
    demo: TenantId,
    ticket: i64,
    ana: atende::store::users::User,
    bia: atende::store::users::User,
    ana_web: reqwest::Client,
    bia_web: reqwest::Client,
    sup_web: reqwest::Client,
    admin_web: reqwest::Client,
}

/// A customer's ticket captured by agent Ana; agent Bia, a supervisor and the admin logged in.
async fn desk(t: &TestApp) -> Desk {
    let demo = t.demo_tenant().await;
    let conn = connect(t, demo, "PNVAULT").await;
    let ticket = customer_writes(t, conn, "PNVAULT", "5511987650001", "wamid.V1", "preciso de ajuda no painel").await;
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "ana-password-1").await;
    let bia = t.create_user(demo, "bia@demo.local", Role::Agent, "bia-password-1").await;
    t.create_user(demo, "sup@demo.local", Role::Supervisor, "sup-password-1").await;
    inbox::capture(&t.app, &user(&ana), demo, ticket).await.unwrap();
    Desk {
        demo,
        ticket,
        ana_web: t.login("ana@demo.local", "ana-password-1", "demo").await,
        bia_web: t.login("bia@demo.local", "bia-password-1", "demo").await,
        sup_web: t.login("sup@demo.local", "sup-password-1", "demo").await,
        admin_web: t.login_demo_admin().await,
        ana,
        bia,
    }
}

async fn add_by_web(t: &TestApp, web: &reqwest::Client, ticket: i64, secret: &str) -> i64 {
    let fields = [
        ("kind", "ssh"),
        ("label", "Servidor de produção"),
        ("host", "srv.cliente.example"),
        ("username", "root"),
        ("secret", secret),
        ("notes", "porta 2222"),
    ];
    let r = post_form(t, web, &format!("/inbox/{ticket}/credentials"), &fields).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    credential_id(t, ticket).await
}

/// A reveal through the page's endpoint: (status, JSON).
async fn reveal_by_web(t: &TestApp, web: &reqwest::Client, ticket: i64, id: i64) -> (u16, Value) {
    let r = post_form(t, web, &format!("/inbox/{ticket}/credentials/{id}/reveal"), &[]).await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn audited(t: &TestApp, action: &str, actor: &str, id: i64) -> i64 {
    t.count("audit_log", &format!("action = '{action}' AND actor = '{actor}' AND subject = 'credential:{id}'")).await
}

// ---------------------------------------------------------------- tests

engine_test!(only_the_current_assignee_and_admins_reveal_and_every_attempt_is_audited, |t: TestApp| async move {
    let logs = capture_logs();
    let d = desk(&t).await;
    let secret = fresh_secret();
    let id = add_by_web(&t, &d.ana_web, d.ticket, &secret).await;
    let (ana, bia) = (format!("user:{}", d.ana.id.0), format!("user:{}", d.bia.id.0));

    // Another agent (who cannot even see Ana's ticket) and a supervisor: 403, audited with the address.
    let (status, body) = reveal_by_web(&t, &d.bia_web, d.ticket, id).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    assert_eq!(audited(&t, "credential.reveal_refused", &bia, id).await, 1);
    let details = "action = 'credential.reveal_refused' AND details LIKE '%\"ip\":\"127.0.0.1\"%'";
    assert_eq!(t.count("audit_log", details).await, 1, "the refusal records where it came from");
    let sup = atende::store::users::find_by_email(t.app.db.reader(), d.demo, "sup@demo.local").await.unwrap().unwrap();
    assert_eq!(reveal_by_web(&t, &d.sup_web, d.ticket, id).await.0, 403);
    assert_eq!(audited(&t, "credential.reveal_refused", &format!("user:{}", sup.id.0), id).await, 1);

    // The assignee and an admin: the secret, each reveal audited.
    let (status, body) = reveal_by_web(&t, &d.ana_web, d.ticket, id).await;
    assert_eq!((status, body["secret"].as_str()), (200, Some(secret.as_str())));
    assert_eq!(audited(&t, "credential.revealed", &ana, id).await, 1);
    let (status, body) = reveal_by_web(&t, &d.admin_web, d.ticket, id).await;
    assert_eq!((status, body["secret"].as_str()), (200, Some(secret.as_str())));
    let ip = "action = 'credential.revealed' AND details LIKE '%\"ip\":\"127.0.0.1\"%'";
    assert_eq!(t.count("audit_log", ip).await, 2);

    // Transferred to Bia: the access follows the ticket.
    inbox::transfer(
        &t.app,
        &Actor::Operator,
        d.demo,
        d.ticket,
        Transfer { user_id: Some(d.bia.id), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(reveal_by_web(&t, &d.ana_web, d.ticket, id).await.0, 403);
    assert_eq!(audited(&t, "credential.reveal_refused", &ana, id).await, 1);
    let (status, body) = reveal_by_web(&t, &d.bia_web, d.ticket, id).await;
    assert_eq!((status, body["secret"].as_str()), (200, Some(secret.as_str())));

    // API tokens: `read` alone is refused (audited); `write` reveals, and an Idempotency-Key
    // neither stores nor replays the answer.
    let reader = t.token(d.demo, &[Scope::Read]).await;
    let url = t.url(&format!("/api/v1/tickets/{}/credentials/{id}/reveal", d.ticket));
    let http = reqwest::Client::new();
    let r = http.post(&url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(t.count("audit_log", "action = 'credential.reveal_refused' AND actor LIKE 'token:%'").await, 1);
    let writer = t.token(d.demo, &[Scope::Read, Scope::Write]).await;
    for _ in 0..2 {
        let r = http.post(&url).bearer_auth(&writer).header("idempotency-key", "reveal-1").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("idempotent-replayed").is_none(), "a reveal is never replayed");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.json::<Value>().await.unwrap()["secret"], json!(secret));
    }
    assert_eq!(t.count("audit_log", "action = 'credential.revealed' AND actor LIKE 'token:%'").await, 2);

    // Nowhere else: the panel, the lists, the ticket, its messages and history, the logs, the database.
    let pages = [
        format!("/inbox/{}", d.ticket),
        format!("/inbox/{}?part=panel", d.ticket),
        format!("/inbox/{}?part=messages", d.ticket),
        "/admin/audit".to_string(),
    ];
    for path in &pages {
        let (status, html) = text(&t, &d.admin_web, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains(&secret), "{path} shows the secret");
    }
    let (_, panel) = text(&t, &d.bia_web, &format!("/inbox/{}?part=panel", d.ticket)).await;
    assert!(panel.contains("Servidor de produção") && panel.contains("srv.cliente.example"), "{panel}");
    assert!(panel.contains("vault-reveal"), "the assignee gets the button: {panel}");
    for path in [
        format!("/api/v1/tickets/{}/credentials", d.ticket),
        format!("/api/v1/tickets/{}", d.ticket),
        format!("/api/v1/tickets/{}/messages", d.ticket),
        "/api/v1/audit".to_string(),
    ] {
        let r = http.get(t.url(&path)).bearer_auth(&writer).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&secret), "{path} shows the secret");
    }
    let list: Value = http
        .get(t.url(&format!("/api/v1/tickets/{}/credentials", d.ticket)))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["host"], "srv.cliente.example");
    assert!(list["data"][0].get("secret").is_none() && list["data"][0].get("secret_ciphertext").is_none());
    assert!(logs_contain(&logs, "credential revealed"), "the capture works: the reveal is logged (without its secret)");
    assert!(!logs_contain(&logs, &secret), "a log line holds the secret");
    assert!(stored_in_plain_text(&t, &secret).await.is_empty(), "the secret is stored in plain text");
    t.stop().await;
});

engine_test!(closing_the_ticket_destroys_the_secrets_and_keeps_a_note, |t: TestApp| async move {
    let d = desk(&t).await;
    let secret = fresh_secret();
    let id = add_by_web(&t, &d.ana_web, d.ticket, &secret).await;
    let ticket = d.ticket;
    assert_eq!(t.count("ticket_vault_keys", &format!("ticket_id = {ticket} AND wrapped_key IS NOT NULL")).await, 1);

    let r = post_form(&t, &d.ana_web, &format!("/inbox/{ticket}/close"), &[("farewell", "none")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(t.count("tickets", &format!("id = {ticket} AND status = 'closed'")).await, 1);
    // Gone from the database itself, in the close's transaction.
    assert_eq!(
        t.count("ticket_credentials", &format!("ticket_id = {ticket} AND secret_ciphertext IS NOT NULL")).await,
        0
    );
    assert_eq!(
        t.count("ticket_credentials", &format!("id = {id} AND destroyed_at IS NOT NULL AND host = '' AND notes = ''"))
            .await,
        1
    );
    assert_eq!(
        t.count(
            "ticket_vault_keys",
            &format!("ticket_id = {ticket} AND wrapped_key IS NULL AND destroyed_at IS NOT NULL")
        )
        .await,
        1
    );
    assert_eq!(t.count("ticket_events", &format!("ticket_id = {ticket} AND kind = 'credentials_destroyed'")).await, 1);
    assert_eq!(t.count("audit_log", &format!("action = 'vault.destroyed' AND subject = 'ticket:{ticket}'")).await, 1);

    // Not even an admin can reveal it now (refused and audited).
    let (status, body) = reveal_by_web(&t, &d.admin_web, ticket, id).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("credential_destroyed")), "{body}");
    assert_eq!(
        t.count("audit_log", &format!("action = 'credential.reveal_refused' AND subject = 'credential:{id}'")).await,
        1
    );
    let (_, panel) = text(&t, &d.admin_web, &format!("/inbox/{ticket}?part=panel")).await;
    assert!(panel.contains("Destruída em") && panel.contains("Credenciais destruídas"), "{panel}");
    assert!(!panel.contains("vault-reveal") && !panel.contains("srv.cliente.example"), "{panel}");
    // Adding to a closed ticket is refused.
    let r =
        post_form(&t, &d.admin_web, &format!("/inbox/{ticket}/credentials"), &[("kind", "ftp"), ("secret", "x")]).await;
    assert_eq!(r.status(), 409);

    // Reopened, the ticket gets a fresh key; the old secret stays gone.
    inbox::reopen(&t.app, &user(&d.ana), d.demo, ticket).await.unwrap();
    let again = fresh_secret();
    let new_id = add_by_web(&t, &d.ana_web, ticket, &again).await;
    assert_eq!(reveal_by_web(&t, &d.ana_web, ticket, new_id).await.1["secret"], json!(again));
    assert_eq!(reveal_by_web(&t, &d.ana_web, ticket, id).await.0, 409);
    assert!(stored_in_plain_text(&t, &secret).await.is_empty());
    t.stop().await;
});

/// The token inside the link the customer was sent.
async fn link_token(t: &TestApp, ticket: i64) -> String {
    let sql =
        format!("SELECT body FROM messages WHERE ticket_id = {ticket} AND body LIKE '%/acesso/%' ORDER BY id DESC");
    let body: String = sqlx::Row::get(&sqlx::query(&sql).fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let after = body.split("/acesso/").nth(1).unwrap();
    after.split_whitespace().next().unwrap().to_string()
}

engine_test!(a_customer_link_works_once_then_410_and_an_expired_one_is_refused, |t: TestApp| async move {
    let logs = capture_logs();
    let d = desk(&t).await;
    let ticket = d.ticket;
    let r = post_form(&t, &d.ana_web, &format!("/inbox/{ticket}/credentials/request"), &[]).await;
    assert_eq!(r.status(), 303);
    let token = link_token(&t, ticket).await;
    let sent =
        format!("ticket_id = {ticket} AND direction = 'out' AND body LIKE '%link seguro%' AND body LIKE '%24 horas%'");
    assert_eq!(t.count("messages", &sent).await, 1, "the pt-BR message goes through the normal send path");
    assert_eq!(t.count("jobs", "kind = 'whatsapp.send'").await, 1);
    let hash = atende::crypto::sha256_hex(&token);
    assert_eq!(t.count("credential_links", &format!("token_hash = '{hash}' AND used_at IS NULL")).await, 1);
    assert_eq!(stored_in_plain_text(&t, &token).await, vec!["messages".to_string()], "only the message carries it");

    let customer = t.browser();
    let (status, form) = text(&t, &customer, &format!("/acesso/{token}")).await;
    assert_eq!(status, 200);
    let company = atende::actions::tenants::find_by_slug(&t.app, "demo").await.unwrap().name;
    assert!(form.contains("Envio seguro de acesso") && form.contains(&company), "{form}");
    let csrf = crate::support::extract_csrf(&form);
    // A blank secret is refused and leaves the link usable.
    let blank = [("csrf", csrf.as_str()), ("kind", "ftp"), ("host", "ftp.loja.example"), ("secret", "  ")];
    let r = customer.post(t.url(&format!("/acesso/{token}"))).form(&blank).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let secret = fresh_secret();
    let fields = [
        ("csrf", csrf.as_str()),
        ("kind", "ftp"),
        ("host", "ftp.loja.example"),
        ("username", "loja"),
        ("secret", secret.as_str()),
        ("notes", "pasta /www"),
    ];
    let r = customer.post(t.url(&format!("/acesso/{token}"))).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Recebido"));
    let id = credential_id(&t, ticket).await;
    assert_eq!(
        t.count("ticket_credentials", &format!("id = {id} AND source = 'customer_link' AND created_by = 'customer'"))
            .await,
        1
    );
    assert_eq!(t.count("audit_log", &format!("actor = 'customer' AND action = 'credential.created' AND subject = 'credential:{id}' AND details LIKE '%127.0.0.1%'")).await, 1);
    assert_eq!(reveal_by_web(&t, &d.ana_web, ticket, id).await.1["secret"], json!(secret));

    // Used: a clear page with 410, for looking and for posting; the token left the message.
    let (status, gone) = text(&t, &customer, &format!("/acesso/{token}")).await;
    assert_eq!(status, 410);
    assert!(gone.contains("já foi usado ou expirou"), "{gone}");
    let r = customer.post(t.url(&format!("/acesso/{token}"))).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(t.count("ticket_credentials", &format!("ticket_id = {ticket}")).await, 1, "used once");
    assert!(stored_in_plain_text(&t, &token).await.is_empty(), "the used token is blanked in its message");
    assert_eq!(text(&t, &customer, "/acesso/not-a-token-of-ours").await.0, 410);

    // A second link that expires after 24 hours.
    let sent = vault_links::request_from_customer(&t.app, &user(&d.ana), d.demo, ticket).await.unwrap();
    let late = link_token(&t, ticket).await;
    assert!(sent.expires_at - t.app.clock.now_ms() <= 24 * 3_600_000);
    assert_eq!(text(&t, &customer, &format!("/acesso/{late}")).await.0, 200);
    t.app.clock.advance(std::time::Duration::from_secs(24 * 3600 + 60));
    assert_eq!(text(&t, &customer, &format!("/acesso/{late}")).await.0, 410);
    let r = customer.post(t.url(&format!("/acesso/{late}"))).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(t.count("ticket_credentials", &format!("ticket_id = {ticket}")).await, 1);
    assert!(!logs_contain(&logs, &secret) && !logs_contain(&logs, &token), "the logs hold the secret or the token");
    assert!(stored_in_plain_text(&t, &secret).await.is_empty());
    t.stop().await;
});

async fn message_with_provider_id(t: &TestApp, provider_id: &str) -> i64 {
    let sql = format!("SELECT id FROM messages WHERE provider_id = '{provider_id}'");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(row) = sqlx::query(&sql).fetch_one(t.app.db.reader()).await {
            return sqlx::Row::get(&row, 0);
        }
        assert!(std::time::Instant::now() < deadline, "no message {provider_id}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

engine_test!(mover_para_o_cofre_redacts_the_customers_message, |t: TestApp| async move {
    let d = desk(&t).await;
    let ticket = d.ticket;
    let demo_conn: i64 = sqlx::Row::get(
        &sqlx::query(&format!("SELECT connection_id FROM tickets WHERE id = {ticket}"))
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    let pasted = format!("a senha do painel é {}", fresh_secret());
    customer_writes(&t, demo_conn, "PNVAULT", "5511987650001", "wamid.V2", &pasted).await;
    let message = message_with_provider_id(&t, "wamid.V2").await;
    let (status, html) = text(&t, &d.ana_web, &format!("/inbox/{ticket}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/inbox/{ticket}/credentials/move?message={message}")),
        "the bubble offers the move"
    );
    let (status, form) = text(&t, &d.ana_web, &format!("/inbox/{ticket}/credentials/move?message={message}")).await;
    assert_eq!(status, 200);
    assert!(form.contains("Mover para o cofre"), "{form}");

    let secret = pasted.rsplit(' ').next().unwrap().to_string();
    let fields = [
        ("message", message.to_string()),
        ("kind", "painel".into()),
        ("label", "Painel".into()),
        ("secret", secret.clone()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_form(&t, &d.ana_web, &format!("/inbox/{ticket}/credentials/move"), &fields).await;
    assert_eq!(r.status(), 303);
    assert_eq!(t.count("messages", &format!("id = {message} AND body = '[movido para o cofre]'")).await, 1);
    assert_eq!(
        t.count("tickets", &format!("id = {ticket} AND last_message_preview = '[movido para o cofre]'")).await,
        1
    );
    assert_eq!(
        t.count("audit_log", &format!("action = 'message.redacted' AND subject = 'message:{message}'")).await,
        1
    );
    let id = credential_id(&t, ticket).await;
    assert_eq!(t.count("ticket_credentials", &format!("id = {id} AND source = 'moved'")).await, 1);
    assert_eq!(reveal_by_web(&t, &d.ana_web, ticket, id).await.1["secret"], json!(secret));
    assert!(stored_in_plain_text(&t, &secret).await.is_empty(), "the pasted password is left nowhere");

    // An agent's own message (or one already moved) is not movable.
    let note = inbox::add_note(&t.app, &user(&d.ana), d.demo, ticket, "nota interna").await.unwrap();
    let fields = [("message", note.id.to_string()), ("kind", "other".into()), ("secret", "x".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post_form(&t, &d.ana_web, &format!("/inbox/{ticket}/credentials/move"), &fields).await.status(), 422);
    t.stop().await;
});

engine_test!(the_api_creates_lists_reveals_and_deletes_with_stable_errors, |t: TestApp| async move {
    let d = desk(&t).await;
    let ticket = d.ticket;
    let token = t.token(d.demo, &[Scope::Read, Scope::Write]).await;
    let http = reqwest::Client::new();
    let base = t.url(&format!("/api/v1/tickets/{ticket}/credentials"));
    let secret = fresh_secret();
    let r = http
        .post(&base)
        .bearer_auth(&token)
        .json(&json!({"kind": "database", "host": "db.example", "username": "app", "secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert!(created.get("secret").is_none());
    assert_eq!((created["label"].as_str(), created["kind"].as_str()), (Some(""), Some("database")));
    let id = created["id"].as_i64().unwrap();
    for (body, code) in [
        (json!({"kind": "telnet", "secret": "x"}), "invalid_credential_kind"),
        (json!({"kind": "ssh", "secret": "   "}), "invalid_credential_secret"),
        (json!({"kind": "ssh", "secret": "x", "host": "a\nb"}), "invalid_credential_host"),
        (json!({"kind": "ssh", "secret": "x", "extra": 1}), "invalid_body"),
    ] {
        let r = http.post(&base).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 422, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], code, "{body}");
    }
    let list: Value = http.get(&base).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["can_reveal"], true);
    let revealed: Value =
        http.post(format!("{base}/{id}/reveal")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(revealed["secret"], json!(secret));
    assert_eq!(http.delete(format!("{base}/{id}")).bearer_auth(&token).send().await.unwrap().status(), 204);
    let r = http.post(format!("{base}/{id}/reveal")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "credential_destroyed");
    assert_eq!(http.delete(format!("{base}/{id}")).bearer_auth(&token).send().await.unwrap().status(), 409);
    assert_eq!(http.post(format!("{base}/999999/reveal")).bearer_auth(&token).send().await.unwrap().status(), 404);
    // Another company's token finds nothing here.
    let acme = t.create_tenant("acme").await;
    let theirs = t.token(acme, &[Scope::Read, Scope::Write]).await;
    assert_eq!(http.get(&base).bearer_auth(&theirs).send().await.unwrap().status(), 404);
    let r = http.post(&base).bearer_auth(&theirs).json(&json!({"kind": "ssh", "secret": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(http.post(format!("{base}/{id}/reveal")).bearer_auth(&theirs).send().await.unwrap().status(), 404);
    assert!(stored_in_plain_text(&t, &secret).await.is_empty());
    t.stop().await;
});
