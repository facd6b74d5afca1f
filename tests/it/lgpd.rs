//! LGPD and retention end to end, on SQLite and PostgreSQL: a contact with tickets, messages in
//! and out (through the WhatsApp simulator), a note, a task, consent history and webhook
//! deliveries is exported (a ZIP read back by Python's zipfile) and erased; then every text
//! column of every table is searched for its name, phone and e-mail, and the report roll-ups
//! (rebuilt from the timelines) are unchanged. Retention on the test clock purges old content
//! and its file, keeps recent messages and the Painel's figures. The company export holds the
//! company's rows and files and nothing of another company.

use std::collections::BTreeMap;
use std::time::Duration;

use atende::actions::{self, Actor};
use atende::domain::{Scope, TenantId};
use serde_json::{json, Value};
use wa_sim::CustomerMessage;

use crate::consent::{connected, contact_and_ticket};
use crate::engine_test;
use crate::support::{sent_to_sim, Engine, TestApp};

const NAME: &str = "Zuleica Quintanilha";
const PHONE: &str = "5511977771234";
const EMAIL: &str = "zuleica.q@exemplo.com.br";

/// The entries of a ZIP as Python's zipfile reads them (after its own CRC check).
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = "import sys, zipfile, json, base64\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps({i.filename: base64.b64encode(z.read(i)).decode() for i in z.infolist()}))";
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let map: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    use base64::Engine as _;
    map.into_iter().map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.decode(v).unwrap())).collect()
}

async fn get_bytes(t: &TestApp, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new().get(t.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// Every (table, column, row count) of a text column holding `needle`.
async fn text_hits(t: &TestApp, needle: &str) -> Vec<(String, String, i64)> {
    let db = t.app.db.reader();
    let columns: Vec<(String, String)> = match t.engine {
        Engine::Sqlite => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .fetch_all(db)
                    .await
                    .unwrap();
            let mut out = Vec::new();
            for table in tables {
                let cols: Vec<(String, String)> = sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                    .bind(&table)
                    .fetch_all(db)
                    .await
                    .unwrap();
                for (c, ty) in cols {
                    if ty.to_uppercase().contains("TEXT") {
                        out.push((table.clone(), c));
                    }
                }
            }
            out
        }
        Engine::Postgres => sqlx::query_as(
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND data_type = 'text'",
        )
        .fetch_all(db)
        .await
        .unwrap(),
    };
    assert!(columns.len() > 100, "the scan found too few text columns: {}", columns.len());
    let mut hits = Vec::new();
    for (table, column) in columns {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE $1");
        let n: i64 = sqlx::query_scalar(&sql).bind(format!("%{needle}%")).fetch_one(db).await.unwrap();
        if n > 0 {
            hits.push((table, column, n));
        }
    }
    hits
}

/// The company's report roll-ups, rebuilt from the tickets' timelines.
async fn rollups(t: &TestApp, tenant: TenantId) -> Vec<(String, i64)> {
    actions::reports::rebuild(&t.app, tenant).await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT metric, COUNT(*) FROM report_rollups WHERE tenant_id = $1 GROUP BY metric ORDER BY metric",
    )
    .bind(tenant.0)
    .fetch_all(t.app.db.reader())
    .await
    .unwrap();
    assert!(!rows.is_empty(), "the company has report figures");
    rows
}

async fn media_of_contact(t: &TestApp, contact: i64) -> String {
    for _ in 0..200 {
        let path: Option<String> = sqlx::query_scalar(
            "SELECT media_path FROM messages WHERE contact_id = $1 AND media_path IS NOT NULL ORDER BY id LIMIT 1",
        )
        .bind(contact)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
        .flatten();
        if let Some(p) = path {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the image was not fetched");
}

fn media_file(t: &TestApp, name: &str) -> std::path::PathBuf {
    t.app.settings.data_dir.join("media").join(&name[..2]).join(name)
}

engine_test!(a_contact_is_exported_then_erased_everywhere_and_the_figures_stay, |t: TestApp| async move {
    let tenant = t.create_tenant("lgpd").await;
    let token = t.token(tenant, &Scope::ALL).await;
    actions::webhooks::set_allow_private_networks(&t.app, &Actor::Operator, tenant, true).await.unwrap();
    let events = vec!["message.created".into(), "contact.updated".into(), "ticket.created".into()];
    let sub = actions::webhooks::SubscriptionInput {
        url: "http://127.0.0.1:9/hook".into(),
        description: String::new(),
        events,
        active: true,
    };
    actions::webhooks::create_subscription(&t.app, &Actor::Operator, tenant, sub).await.unwrap();
    let (sim, _conn) = connected(&t, tenant).await;
    sim.customer_sends(PHONE, NAME, CustomerMessage::Text(format!("Oi, sou {NAME}, {EMAIL}"))).await.unwrap();
    let (contact, ticket) = contact_and_ticket(&t, PHONE).await;
    let input = actions::contacts::ContactInput {
        name: NAME.into(),
        email: Some(EMAIL.into()),
        notes: format!("Cliente {NAME}"),
        custom_fields: [("cpf".to_string(), json!("123.456.789-09"))].into_iter().collect(),
    };
    actions::contacts::update_contact(&t.app, &Actor::Operator, tenant, contact, input).await.unwrap();
    sim.customer_sends(PHONE, NAME, CustomerMessage::Image { caption: Some("comprovante".into()) }).await.unwrap();
    let image = media_of_contact(&t, contact).await;
    // Another customer sends the same image: the file must survive the erasure.
    sim.customer_sends("5511966660000", "Outra Pessoa", CustomerMessage::Image { caption: None }).await.unwrap();
    let (other, _) = contact_and_ticket(&t, "5511966660000").await;
    assert_eq!(media_of_contact(&t, other).await, image);
    // Out: an agent's answer naming the customer; a private note; a task; an opt-out.
    let body = json!({"ticket_id": ticket, "type": "text", "text": {"body": format!("Olá {NAME}!")}});
    let r =
        reqwest::Client::new().post(t.url("/api/v1/messages")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    sent_to_sim(&sim, "the answer", |m| m["text"]["body"].as_str().is_some_and(|b| b.contains(NAME))).await;
    actions::inbox::add_note(&t.app, &Actor::Operator, tenant, ticket, &format!("{NAME} ligou, fone {PHONE}"))
        .await
        .unwrap();
    let task = actions::tasks::TaskInput {
        title: format!("Retornar para {NAME}"),
        description: format!("E-mail {EMAIL}"),
        due: "2030-01-10T09:00".into(),
        remind_before_minutes: 0,
        assignee_id: None,
        ticket_id: Some(ticket),
        contact_id: None,
    };
    let admin = t.create_user(tenant, "ana@lgpd.test", atende::domain::Role::Admin, "senha-forte-123").await;
    actions::tasks::create(&t.app, &Actor::User(admin.clone()), tenant, task).await.unwrap();
    sim.customer_sends(PHONE, NAME, CustomerMessage::Text("PARAR".into())).await.unwrap();
    // Let the fan-out write its deliveries.
    for _ in 0..100 {
        if t.count("webhook_deliveries", &format!("tenant_id = {} AND body LIKE '%{PHONE}%'", tenant.0)).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(t.count("webhook_deliveries", &format!("body LIKE '%{NAME}%'")).await > 0, "deliveries copy the name");
    assert!(t.count("consent_events", &format!("contact_id = {contact}")).await > 0);
    let before = rollups(&t, tenant).await;
    let tickets_before = t.count("tickets", &format!("tenant_id = {}", tenant.0)).await;

    // The export: every part, the media file, nothing of the other contact.
    let (status, zip) = get_bytes(&t, &token, &format!("/api/v1/contacts/{contact}/export")).await;
    assert_eq!(status, 200);
    let files = unzip(&zip);
    for part in [
        "contact.json",
        "identities.json",
        "consent_history.json",
        "tickets.json",
        "messages.json",
        "notes.json",
        "tasks.json",
        "manifest.json",
    ] {
        assert!(files.contains_key(part), "{part} in {:?}", files.keys());
    }
    let profile: Value = serde_json::from_slice(&files["contact.json"]).unwrap();
    assert_eq!(profile[0]["name"], NAME);
    assert_eq!(profile[0]["email"], EMAIL);
    let messages: Value = serde_json::from_slice(&files["messages.json"]).unwrap();
    assert!(messages.as_array().unwrap().len() >= 4, "{messages}");
    assert!(String::from_utf8_lossy(&files["notes.json"]).contains("ligou"));
    assert!(String::from_utf8_lossy(&files["tasks.json"]).contains("Retornar"));
    assert!(files.keys().any(|k| k.starts_with(&format!("media/{image}"))), "{:?}", files.keys());
    assert!(
        !files.values().any(|v| String::from_utf8_lossy(v).contains("5511966660000")),
        "nothing of another contact"
    );
    assert!(files.keys().all(|k| !k.contains("..") && !k.starts_with('/')));

    // An agent may not erase; a supervisor's erasure through the API.
    let agent = t.create_user(tenant, "beto@lgpd.test", atende::domain::Role::Agent, "senha-forte-123").await;
    let refused = actions::lgpd::erase_contact(&t.app, &Actor::User(agent), tenant, contact).await;
    assert!(matches!(refused, Err(actions::ActionError::Forbidden)), "{refused:?}");
    let r = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/contacts/{contact}/erase")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert!(report["messages"].as_u64().unwrap() >= 4, "{report}");
    assert_eq!(report["files_deleted"], 0, "the other customer's message still names the image");
    assert!(media_file(&t, &image).is_file());
    let again = reqwest::Client::new()
        .post(t.url(&format!("/api/v1/contacts/{contact}/erase")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<Value>().await.unwrap()["error"]["code"], "contact_already_erased");

    for needle in [NAME, PHONE, EMAIL, "977771234", "Quintanilha"] {
        let hits = text_hits(&t, needle).await;
        assert!(hits.is_empty(), "{needle:?} is still in {hits:?}");
    }
    assert_eq!(t.count("tickets", &format!("tenant_id = {}", tenant.0)).await, tickets_before);
    assert_eq!(rollups(&t, tenant).await, before, "the report figures are unchanged");
    assert_eq!(t.count("contact_identities", &format!("contact_id = {contact}")).await, 0);
    assert_eq!(t.count("messages", &format!("contact_id = {contact} AND redacted_at IS NULL")).await, 0);
    assert_eq!(t.count("audit_log", &format!("action = 'contact.erased' AND subject = 'contact:{contact}'")).await, 1);
    assert_eq!(t.count("messages", &format!("contact_id = {other} AND media_path IS NOT NULL")).await, 1);

    // The contact page offers both, and a customer writing again is a new contact.
    let web = t.login("ana@lgpd.test", "senha-forte-123", "lgpd").await;
    let page = web.get(t.url(&format!("/contacts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Exportar dados (LGPD)") && page.contains(&format!("/contacts/{contact}/erase")), "{page}");
    sim.customer_sends(PHONE, "Nova", CustomerMessage::Text("oi de novo".into())).await.unwrap();
    let (fresh, _) = contact_and_ticket(&t, PHONE).await;
    assert_ne!(fresh, contact);
    t.stop().await;
});

engine_test!(the_erase_page_asks_for_confirmation, |t: TestApp| async move {
    let tenant = t.create_tenant("lgpdweb").await;
    let (sim, _) = connected(&t, tenant).await;
    sim.customer_sends("5511955554444", "Rosalva Pimentel", CustomerMessage::Text("oi".into())).await.unwrap();
    let (contact, _) = contact_and_ticket(&t, "5511955554444").await;
    t.create_user(tenant, "ana@lgpdweb.test", atende::domain::Role::Supervisor, "senha-forte-123").await;
    let web = t.login("ana@lgpdweb.test", "senha-forte-123", "lgpdweb").await;
    let page = web.get(t.url(&format!("/contacts/{contact}/erase"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Eliminar definitivamente") && page.contains("Rosalva Pimentel"), "{page}");
    let csrf = t.csrf(&web).await;
    let unconfirmed =
        web.post(t.url(&format!("/contacts/{contact}/erase"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert!(unconfirmed.text().await.unwrap().contains("Marque a confirmação"));
    assert_eq!(t.count("contacts", &format!("id = {contact} AND erased_at IS NULL")).await, 1);
    let done = web
        .post(t.url(&format!("/contacts/{contact}/erase")))
        .form(&[("csrf", csrf.as_str()), ("confirm", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        t.count("contacts", &format!("id = {contact} AND erased_at IS NOT NULL AND name = 'Anônimo #{contact}'")).await,
        1
    );
    assert!(text_hits(&t, "Rosalva").await.is_empty());
    t.stop().await;
});

engine_test!(retention_purges_old_content_and_files_and_keeps_the_figures, |t: TestApp| async move {
    let tenant = t.create_tenant("retencao").await;
    let token = t.token(tenant, &Scope::ALL).await;
    let (sim, _) = connected(&t, tenant).await;
    sim.customer_sends("5511944443333", "Antigo", CustomerMessage::Image { caption: Some("velha".into()) })
        .await
        .unwrap();
    let (old_contact, _) = contact_and_ticket(&t, "5511944443333").await;
    let image = media_of_contact(&t, old_contact).await;
    assert!(media_file(&t, &image).is_file());
    let r = reqwest::Client::new()
        .put(t.url("/api/v1/settings/retention"))
        .bearer_auth(&token)
        .json(&json!({"months": 121}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_retention_months");
    let r = reqwest::Client::new()
        .put(t.url("/api/v1/settings/retention"))
        .bearer_auth(&token)
        .json(&json!({"months": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.app.clock.advance(Duration::from_secs(200 * 86_400));
    sim.advance_clock(Duration::from_secs(200 * 86_400));
    sim.customer_sends("5511933332222", "Recente", CustomerMessage::Text("mensagem nova".into())).await.unwrap();
    let before = rollups(&t, tenant).await;

    let report = actions::lgpd::retention::run_pass(&t.app).await.unwrap();
    assert!(report.messages >= 1 && !report.more, "{report:?}");
    assert_eq!(t.count("messages", &format!("contact_id = {old_contact} AND redacted_at IS NULL")).await, 0);
    assert_eq!(t.count("messages", &format!("tenant_id = {} AND body = 'mensagem nova'", tenant.0)).await, 1);
    assert!(!media_file(&t, &image).exists(), "the file nothing names any more is gone");
    assert_eq!(rollups(&t, tenant).await, before, "the Painel's figures survive the purge");
    let again = actions::lgpd::retention::run_pass(&t.app).await.unwrap();
    assert_eq!(again.messages, 0);

    let r: Value = reqwest::Client::new()
        .get(t.url("/api/v1/settings/retention"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["months"], 6);
    assert!(r["last_purge_at"].is_string() && r["last_purge_messages"].as_i64().unwrap() >= 1, "{r}");
    t.create_user(tenant, "ana@retencao.test", atende::domain::Role::Admin, "senha-forte-123").await;
    let web = t.login("ana@retencao.test", "senha-forte-123", "retencao").await;
    let page = web.get(t.url("/admin/settings")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Guardar conversas por") && page.contains("value=\"6\""), "{page}");
    assert!(page.contains("mensagens") && !page.contains("nenhuma ainda"), "{page}");
    t.stop().await;
});

engine_test!(the_company_export_holds_its_own_data_only, |t: TestApp| async move {
    let mine = t.create_tenant("exporta").await;
    let theirs = t.create_tenant("outra").await;
    let (sim_a, _) = connected(&t, mine).await;
    let (sim_b, _) = connected(&t, theirs).await;
    sim_a.customer_sends("5511922221111", "Cliente Meu", CustomerMessage::Image { caption: None }).await.unwrap();
    sim_b
        .customer_sends("5511911110000", "Cliente Alheio", CustomerMessage::Text("segredo alheio".into()))
        .await
        .unwrap();
    let (a, _) = contact_and_ticket(&t, "5511922221111").await;
    let image = media_of_contact(&t, a).await;
    t.create_user(mine, "ana@exporta.test", atende::domain::Role::Admin, "senha-forte-123").await;
    let agent = t.create_user(mine, "beto@exporta.test", atende::domain::Role::Agent, "senha-forte-123").await;
    assert!(actions::lgpd::company_export(&t.app, &Actor::User(agent), mine).await.is_err());
    let web = t.login("ana@exporta.test", "senha-forte-123", "exporta").await;
    let csrf = t.csrf(&web).await;
    let r = web.post(t.url("/admin/settings/export")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let files = unzip(&r.bytes().await.unwrap());
    let contacts = String::from_utf8_lossy(&files["tables/contacts.jsonl"]).to_string();
    assert!(contacts.contains("5511922221111"), "{contacts}");
    assert!(files.contains_key("tables/messages.jsonl") && files.contains_key("tables/tenants.jsonl"));
    assert!(files.keys().any(|k| k.starts_with(&format!("media/{image}"))));
    let users = String::from_utf8_lossy(&files["tables/users.jsonl"]).to_string();
    assert!(users.contains("ana@exporta.test") && !users.contains("password_hash") && !users.contains("argon2"));
    for (name, data) in &files {
        let text = String::from_utf8_lossy(data);
        for foreign in ["5511911110000", "segredo alheio", "Cliente Alheio", "outra"] {
            assert!(!text.contains(foreign), "{foreign} of the other company is in {name}");
        }
        for line in text.lines().filter(|_| name.ends_with(".jsonl")) {
            let row: Value = serde_json::from_str(line).unwrap();
            if let Some(tid) = row.get("tenant_id") {
                assert_eq!(tid, mine.0, "{name}: {line}");
            }
        }
    }
    assert!(!files.contains_key("tables/sessions.jsonl"));
    assert_eq!(t.count("audit_log", &format!("tenant_id = {} AND action = 'company.exported'", mine.0)).await, 1);
    t.stop().await;
});
