//! Service levels end to end: a company policy times new tickets (unclassified ones as medium ×
//! moderate); pre-analysis through the API retimes them and lands in the history; the scan
//! raises the near-breach warning and the breach once each (live event and webhook); breached
//! tickets lead the supervisor's list with their badge; waiting on the customer pauses the
//! resolution clock and their answer resumes it with the time left intact; "Abrir chamado"
//! tells the customer the protocol and deadline; the policy's page and API refuse bad targets
//! and other companies' departments. On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::sla::{self, Classification};
use atende::actions::webhooks::{self, SubscriptionInput};
use atende::actions::Actor;
use atende::domain::sla::{Complexity, Matrix, Target, Urgency};
use atende::domain::{Role, Scope, TenantId};
use serde_json::{json, Value};
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::TestApp;
use crate::timed_rules::{eventually, ticket_of};
use crate::timed_rules_reminders::webhook_receiver;

const MINUTE: i64 = 60_000;

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Medium × moderate (also the unclassified tickets'): 1 h / 4 h; high × simple: 30 min / 2 h.
fn policy() -> Matrix {
    let target = |f, r| Target { first_response_minutes: Some(f), resolution_minutes: Some(r) };
    Matrix::from_cells([
        ((Urgency::Medium, Complexity::Moderate), target(60, 240)),
        ((Urgency::High, Complexity::Simple), target(30, 120)),
    ])
    .unwrap()
}

/// The company counts every minute (no business hours), so deadlines are plain sums.
async fn every_minute_counts(t: &TestApp, tenant: TenantId) {
    sqlx::query("UPDATE automation SET hours = '' WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(t.app.db.writer())
        .await
        .unwrap();
}

async fn row(t: &TestApp, tenant: TenantId, ticket: i64) -> atende::store::sla::TicketSla {
    atende::store::sla::get(t.app.db.reader(), tenant, ticket).await.unwrap().expect("a timed ticket")
}

async fn created_at(t: &TestApp, ticket: i64) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT created_at FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
        .0
}

async fn history_kinds(t: &TestApp, ticket: i64) -> Vec<String> {
    sqlx::query_as::<_, (String,)>("SELECT kind FROM ticket_events WHERE ticket_id = $1 ORDER BY id")
        .bind(ticket)
        .fetch_all(t.app.db.reader())
        .await
        .unwrap()
        .into_iter()
        .map(|(k,)| k)
        .collect()
}

/// The simulator stamps a customer's message with the real time, while this test moved the
/// app's clock on: the message is dated now on the app's clock, as it would be live.
async fn customer_writes_now(t: &TestApp, sim: &wa_sim::Simulator, phone: &str, ticket: i64) -> i64 {
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Segue o print".into())).await.unwrap();
    let at = t.app.clock.now_ms();
    sqlx::query("UPDATE tickets SET last_inbound_at = $1 WHERE id = $2")
        .bind(at)
        .bind(ticket)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    at
}

engine_test!(sla_times_tickets_alerts_once_and_pauses_while_waiting_on_the_customer, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    every_minute_counts(&t, demo).await;
    sla::save_policy(&t.app, &Actor::Operator, demo, None, &policy()).await.unwrap();
    webhooks::set_allow_private_networks(&t.app, &Actor::Operator, demo, true).await.unwrap();
    let (hook_url, hooks) = webhook_receiver().await;
    let events = vec!["ticket.sla_warning".into(), "ticket.sla_breached".into()];
    let subscription = SubscriptionInput { url: hook_url, description: String::new(), events, active: true };
    webhooks::create_subscription(&t.app, &Actor::Operator, demo, subscription).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    let phone = "5511911130001";
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Meu sistema caiu".into())).await.unwrap();
    let (ticket, _, _) = ticket_of(&t, phone).await;
    let created = created_at(&t, ticket).await;

    // The scan times the new ticket as medium × moderate.
    sla::scan(&t.app).await.unwrap();
    let r = row(&t, demo, ticket).await;
    assert_eq!(r.response_due_at, Some(created + 60 * MINUTE));
    assert_eq!(r.resolution_due_at, Some(created + 240 * MINUTE));
    assert_eq!(r.resolution_warn_at, Some(created + 192 * MINUTE), "the warning at 80 %");

    // Pre-analysis through the API: high × simple, high priority.
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let api = reqwest::Client::new();
    let res = api
        .patch(t.url(&format!("/api/v1/tickets/{ticket}")))
        .bearer_auth(&token)
        .json(&json!({ "urgency": "high", "complexity": "simple", "priority": "high" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["priority"], "high");
    assert_eq!(body["sla"]["urgency"], "high");
    assert_eq!(body["sla"]["complexity"], "simple");
    assert_eq!(body["sla"]["first_response_status"], "on_track");
    let r = row(&t, demo, ticket).await;
    assert_eq!(r.response_due_at, Some(created + 30 * MINUTE));
    assert_eq!(r.resolution_due_at, Some(created + 120 * MINUTE));
    let kinds = history_kinds(&t, ticket).await;
    for k in ["priority", "urgency", "complexity"] {
        assert!(kinds.contains(&k.to_string()), "{k} in the history: {kinds:?}");
    }
    let bad = api
        .patch(t.url(&format!("/api/v1/tickets/{ticket}")))
        .bearer_auth(&token)
        .json(&json!({ "urgency": "urgentissima" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // 25 minutes (past 80 % of 30): one warning, not repeated.
    // (The periodic `sla.scan` job sees the moved clock too and may scan first: what counts is
    // that the alert is raised, once — the webhooks below are exactly one of each.)
    t.app.clock.advance(minutes(25));
    sla::scan(&t.app).await.unwrap();
    let warned = row(&t, demo, ticket).await.alerts;
    assert_ne!(warned, 0, "the warning is raised");
    assert!(row(&t, demo, ticket).await.breached_at.is_none());
    let again = sla::scan(&t.app).await.unwrap();
    assert_eq!((again.warnings, again.breaches), (0, 0), "an alert goes once");
    assert_eq!(row(&t, demo, ticket).await.alerts, warned);
    // 31 minutes: the first response is late.
    t.app.clock.advance(minutes(6));
    sla::scan(&t.app).await.unwrap();
    assert!(row(&t, demo, ticket).await.breached_at.is_some());
    let got = eventually("both webhooks", || async {
        let got = hooks.lock().unwrap().clone();
        (got.len() >= 2).then_some(got)
    })
    .await;
    let names: Vec<&str> = got.iter().filter_map(|h| h["event"].as_str()).collect();
    assert_eq!(names, ["ticket.sla_warning", "ticket.sla_breached"], "{got:?}");
    assert!(got.iter().all(|h| h["data"]["ticket_id"] == ticket && h["data"]["target"] == "first_response"));

    // The supervisor's list starts with the late ticket, though another one is newer.
    let other = "5511911130002";
    sim.customer_sends(other, "Outra", CustomerMessage::Text("Olá".into())).await.unwrap();
    let (newer, _, _) = ticket_of(&t, other).await;
    let admin = t.login_demo_admin().await;
    let html = admin.get(t.url("/inbox?tab=all")).send().await.unwrap().text().await.unwrap();
    let at = |id: i64| html.find(&format!("data-ticket=\"{id}\"")).unwrap_or(usize::MAX);
    assert!(at(ticket) < at(newer), "the breached ticket comes first");
    assert!(html.contains("SLA vencido"), "its badge says so");

    // Waiting on the customer for 100 minutes: no resolution alert though its time passes, and
    // the deadline moves by exactly the pause once they answer.
    let before = row(&t, demo, ticket).await.resolution_due_at.unwrap();
    sla::await_customer(&t.app, &Actor::Operator, demo, ticket, true).await.unwrap();
    let alerts = row(&t, demo, ticket).await.alerts;
    t.app.clock.advance(minutes(100));
    // (The newer ticket's first response breaches meanwhile; this one's clock raises nothing.)
    sla::scan(&t.app).await.unwrap();
    assert!(row(&t, demo, newer).await.breached_at.is_some());
    assert_eq!(row(&t, demo, ticket).await.alerts, alerts, "a paused clock raises nothing");
    let paused_at = row(&t, demo, ticket).await.paused_at.unwrap();
    let wrote_at = customer_writes_now(&t, &sim, phone, ticket).await;
    assert!(wrote_at - paused_at >= 100 * MINUTE);
    sla::scan(&t.app).await.unwrap();
    let r = row(&t, demo, ticket).await;
    assert_eq!(r.paused_at, None);
    assert_eq!(r.resolution_due_at, Some(before + (wrote_at - paused_at)), "moved by exactly the pause");
    let kinds = history_kinds(&t, ticket).await;
    assert!(kinds.contains(&"awaiting_customer".to_string()) && kinds.contains(&"customer_answered".to_string()));
    sim.shutdown().await;
});

engine_test!(abrir_chamado_tells_the_customer_the_protocol_and_deadline_once, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    every_minute_counts(&t, demo).await;
    sla::save_policy(&t.app, &Actor::Operator, demo, None, &policy()).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    let phone = "5511911130003";
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Preciso de suporte".into())).await.unwrap();
    let (ticket, _, _) = ticket_of(&t, phone).await;
    let ana = t.create_user(demo, "ana.sla@demo.local", Role::Agent, "senha-da-ana-1").await;
    atende::actions::inbox::assign(&t.app, &Actor::Operator, demo, ticket, ana.id).await.unwrap();
    let browser = t.login("ana.sla@demo.local", "senha-da-ana-1", "demo").await;
    let page = browser.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Abrir chamado") && page.contains("Solicitar arquivos"));
    let csrf = crate::support::extract_csrf(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("urgency", "high"),
        ("complexity", "simple"),
        ("priority", "normal"),
        ("action", "support"),
    ];
    let res = browser.post(t.url(&format!("/inbox/{ticket}/sla"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let protocol: Option<String> = sqlx::query_as::<_, (Option<String>,)>("SELECT protocol FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
        .0;
    let protocol = protocol.expect("a protocol");
    let told = eventually("the confirmation at the phone", || async {
        sim.sent_messages().into_iter().map(|m| m.request.to_string()).find(|body| body.contains(&protocol))
    })
    .await;
    assert!(told.contains("prazo de solução"), "{told}");
    let r = row(&t, demo, ticket).await;
    assert!(r.support);
    assert_eq!((r.urgency.as_deref(), r.complexity.as_deref()), (Some("high"), Some("simple")));
    assert!(history_kinds(&t, ticket).await.contains(&"support_opened".to_string()));
    // A second time: already a support ticket.
    let c = Classification::default();
    let again = sla::open_support_ticket(&t.app, &Actor::User(ana.clone()), demo, ticket, &c).await;
    assert_eq!(again.err().map(|e| e.code()), Some("support_ticket_open"));
    // The page shows the badge and no second button.
    let page = browser.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("support-chip") && !page.contains("value=\"support\""));
    sim.shutdown().await;
});

engine_test!(sla_policies_refuse_bad_targets_and_other_companies, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("sla-other").await;
    let foreign = crate::admin_pages::department(&t, other, "Fora").await;
    let token = t.token(demo, &[Scope::Read, Scope::Write]).await;
    let api = reqwest::Client::new();
    let put = |path: &str, body: Value| api.put(t.url(path)).bearer_auth(&token).json(&body).send();
    let cell = |f: i64| json!({ "urgency": "low", "complexity": "simple", "first_response_minutes": f, "resolution_minutes": 600 });
    let zero = put("/api/v1/sla/policies/company", json!({ "targets": [cell(0)] })).await.unwrap();
    assert_eq!(zero.status(), 422);
    assert_eq!(zero.json::<Value>().await.unwrap()["error"]["code"], "invalid_policy");
    let twice = put("/api/v1/sla/policies/company", json!({ "targets": [cell(60), cell(90)] })).await.unwrap();
    assert_eq!(twice.status(), 422);
    let path = format!("/api/v1/sla/policies/departments/{foreign}");
    let theirs = put(&path, json!({ "targets": [cell(60)] })).await.unwrap();
    assert_eq!(theirs.status(), 422, "another company's department is unknown here");
    let ok = put("/api/v1/sla/policies/company", json!({ "targets": [cell(60)] })).await.unwrap();
    assert_eq!(ok.status(), 200);
    let list: Value =
        api.get(t.url("/api/v1/sla/policies")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["department_id"], Value::Null);
    assert_eq!(list[0]["targets"][0]["first_response_minutes"], 60);
    // The other company has none.
    assert!(sla::policies(&t.app, &Actor::Operator, other).await.unwrap().is_empty());

    // The page: an admin saves hours typed with a comma; an agent may not see it.
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/sla")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("fr.critical.simple"));
    let csrf = crate::support::extract_csrf(&page);
    let form =
        [("csrf", csrf.as_str()), ("department", ""), ("fr.critical.simple", "0,5"), ("res.critical.simple", "4")];
    let res = admin.post(t.url("/admin/sla")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let saved = sla::policies(&t.app, &Actor::Operator, demo).await.unwrap();
    let m = &saved.iter().find(|p| p.department_id.is_none()).unwrap().matrix;
    assert_eq!(m.target(Some(Urgency::Critical), Some(Complexity::Simple)).first_response_minutes, Some(30));
    assert_eq!(m.0.len(), 1, "the page's form replaces the whole matrix");
    let bad = [("csrf", csrf.as_str()), ("department", ""), ("fr.low.simple", "abc")];
    assert_eq!(admin.post(t.url("/admin/sla")).form(&bad).send().await.unwrap().status(), 422);
    t.create_user(demo, "agente.sla@demo.local", Role::Agent, "senha-do-agente-1").await;
    let agent = t.login("agente.sla@demo.local", "senha-do-agente-1", "demo").await;
    assert_eq!(agent.get(t.url("/admin/sla")).send().await.unwrap().status(), 403);
});
