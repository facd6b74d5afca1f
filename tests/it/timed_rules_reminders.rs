//! The agent reminder rule through the durable job: a ticket whose customer waits for an answer
//! reminds its assignee once — a line in its history, `ticket.reminder` on that person's event
//! stream (no one else's), the outgoing webhook and a badge in their inbox list — not again on
//! the next passes nor for more messages of the same wait, and again once the agent answered
//! and the customer wrote anew. Answered tickets, tickets nobody took and other companies'
//! tickets are left alone. On SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atende::actions::timed_rules::{self, TimedRule};
use atende::actions::webhooks::{self, SubscriptionInput};
use atende::actions::{inbox, Actor};
use atende::domain::{Role, TenantId, UserId};
use serde_json::Value;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::TestApp;
use crate::timed_rules::{eventually, pass, reply, ticket_of};

const MINUTE: Duration = Duration::from_secs(60);

/// Who each reminder of a ticket went to, oldest first.
async fn reminders(t: &TestApp, ticket: i64) -> Vec<Option<i64>> {
    sqlx::query_as::<_, (Option<i64>,)>(
        "SELECT to_user_id FROM ticket_events WHERE ticket_id = $1 AND kind = 'reminded' ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(t.app.db.reader())
    .await
    .unwrap()
    .into_iter()
    .map(|(u,)| u)
    .collect()
}

/// A customer writes through the simulator; the ticket is given to `agent`.
async fn assigned_ticket(t: &TestApp, sim: &wa_sim::Simulator, tenant: TenantId, phone: &str, agent: UserId) -> i64 {
    // Answered only once the message is stored: the ticket exists when this returns.
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text("Oi, preciso de ajuda".into())).await.unwrap();
    let (id, _, _) = ticket_of(t, phone).await;
    inbox::assign(&t.app, &Actor::Operator, tenant, id, agent).await.unwrap();
    id
}

async fn in_department(t: &TestApp, ticket: i64, department: i64) {
    sqlx::query("UPDATE tickets SET department_id = $1 WHERE id = $2")
        .bind(department)
        .bind(ticket)
        .execute(t.app.db.writer())
        .await
        .unwrap();
}

async fn customer_writes(sim: &wa_sim::Simulator, phone: &str, text: &str) {
    let delivery = sim.customer_sends(phone, "Cliente", CustomerMessage::Text(text.into())).await.unwrap();
    assert_eq!(delivery.status, 200);
}

/// The kinds of the events a person's stream replays from the log (everything stored that they
/// may see), up to the `ready` that follows the replay.
async fn replayed_kinds(t: &TestApp, browser: &reqwest::Client) -> Vec<String> {
    let mut stream = browser.get(t.url("/events")).header("Last-Event-ID", "0").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !text.contains("event: ready") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk()).await.expect("the stream's replay ends").unwrap();
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.lines().filter_map(|l| l.strip_prefix("event: ")).map(str::to_string).collect()
}

/// A loopback endpoint that keeps the JSON bodies webhooks POST to it.
pub(crate) async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let keep = keep.clone();
        async move {
            keep.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::Null));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), got)
}

engine_test!(an_agent_is_reminded_once_per_unanswered_wait_and_again_after_answering, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let rule = TimedRule { department_id: 0, remind_after_minutes: 30, ..TimedRule::default() };
    timed_rules::save(&t.app, &Actor::Operator, demo, vec![rule.clone()]).await.unwrap();
    assert_eq!(timed_rules::list(&t.app, &Actor::Operator, demo).await.unwrap(), vec![rule]);
    webhooks::set_allow_private_networks(&t.app, &Actor::Operator, demo, true).await.unwrap();
    let (hook_url, hooks) = webhook_receiver().await;
    let subscription = SubscriptionInput {
        url: hook_url,
        description: String::new(),
        events: vec!["ticket.reminder".into()],
        active: true,
    };
    webhooks::create_subscription(&t.app, &Actor::Operator, demo, subscription).await.unwrap();
    let ana = t.create_user(demo, "ana@demo.local", Role::Agent, "senha-da-ana-1").await;
    // A supervisor sees every ticket: only the event's audience keeps the reminder from him.
    t.create_user(demo, "bruno@demo.local", Role::Supervisor, "senha-do-bruno-1").await;
    let (sim, _) = t.simulator(demo).await;
    let ticket = assigned_ticket(&t, &sim, demo, "5511911120001", ana.id).await;

    // 29 minutes: nothing yet. Past 30: Ana is reminded, once.
    t.app.clock.advance(29 * MINUTE);
    pass(&t).await; // a pass moves the clock on a minute
    assert!(reminders(&t, ticket).await.is_empty(), "not before 30 minutes");
    pass(&t).await;
    assert_eq!(reminders(&t, ticket).await, vec![Some(ana.id.0)]);
    assert_eq!(t.count("events", &format!("kind = 'ticket.reminder' AND audience = 'user:{}'", ana.id.0)).await, 1);

    // Her stream carries it, Bruno's does not; her inbox marks the ticket; the history says it.
    let ana_browser = t.login("ana@demo.local", "senha-da-ana-1", "demo").await;
    let bruno_browser = t.login("bruno@demo.local", "senha-do-bruno-1", "demo").await;
    assert!(replayed_kinds(&t, &ana_browser).await.contains(&"ticket.reminder".to_string()));
    assert!(!replayed_kinds(&t, &bruno_browser).await.contains(&"ticket.reminder".to_string()));
    let list = ana_browser.get(t.url("/inbox")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("badge reminder") && list.contains(">lembrete</span>"), "{list}");
    let panel = ana_browser.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(panel.contains("Lembrete ao atendente: cliente sem resposta") && panel.contains("há 30 min"), "{panel}");
    let delivered = eventually("the ticket.reminder webhook", || async {
        hooks.lock().unwrap().iter().find(|b| b["event"] == "ticket.reminder").cloned()
    })
    .await;
    assert_eq!(delivered["data"]["ticket_id"], ticket);
    assert_eq!(delivered["data"]["assignee_id"], ana.id.0);
    assert_eq!(delivered["data"]["minutes"], 30);
    assert_eq!(delivered["data"]["ticket"]["id"], ticket);

    // Later passes, and more messages of the same unanswered wait, do not remind her again.
    pass(&t).await;
    customer_writes(&sim, "5511911120001", "Alguém aí?").await;
    t.app.clock.advance(31 * MINUTE);
    pass(&t).await;
    assert_eq!(reminders(&t, ticket).await.len(), 1, "one reminder per unanswered wait");

    // Ana answers: no reminder while the customer has her answer, and no badge.
    reply(&t, demo, ticket, "Oi! Já vou verificar.").await;
    t.app.clock.advance(31 * MINUTE);
    pass(&t).await;
    assert_eq!(reminders(&t, ticket).await.len(), 1, "the agent answered");
    let list = ana_browser.get(t.url("/inbox")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("badge reminder"), "{list}");

    // The customer writes again and waits: a new reminder.
    customer_writes(&sim, "5511911120001", "Conseguiu verificar?").await;
    t.app.clock.advance(29 * MINUTE);
    pass(&t).await;
    assert_eq!(reminders(&t, ticket).await.len(), 1, "29 minutes are not 30");
    pass(&t).await;
    assert_eq!(reminders(&t, ticket).await, vec![Some(ana.id.0), Some(ana.id.0)]);
    eventually("the second webhook", || async {
        (hooks.lock().unwrap().iter().filter(|b| b["event"] == "ticket.reminder").count() == 2).then_some(())
    })
    .await;
    sim.shutdown().await;
});

engine_test!(reminders_leave_answered_untaken_and_other_companies_tickets_alone, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    let suporte = t.department(demo, "Suporte").await;
    // Only Suporte reminds in Demo; the other company reminds of nothing.
    let rule = TimedRule { department_id: suporte, remind_after_minutes: 10, ..TimedRule::default() };
    timed_rules::save(&t.app, &Actor::Operator, demo, vec![rule]).await.unwrap();
    let ana = t.create_user(demo, "ana@demo.local", Role::Supervisor, "senha-da-ana-1").await;
    let theirs = t.create_user(other, "carla@outra.local", Role::Supervisor, "senha-da-carla-1").await;
    let (sim, _) = t.simulator(demo).await;
    let other_sim = wa_sim::SimConfig {
        phone_number_id: "100000000000002".into(),
        display_phone_number: "15550000002".into(),
        ..wa_sim::SimConfig::default()
    };
    let (their_sim, _) = t.simulator_with(other, "WhatsApp", other_sim).await;

    // Unanswered in Suporte: reminded. Answered in Suporte: not. Unanswered without a
    // department (no rule there): not. Waiting in Suporte, nobody took it: not (no one to
    // remind). The other company's, unanswered: not (Demo's rule is Demo's).
    let unanswered = assigned_ticket(&t, &sim, demo, "5511911130001", ana.id).await;
    in_department(&t, unanswered, suporte).await;
    let answered = assigned_ticket(&t, &sim, demo, "5511911130002", ana.id).await;
    in_department(&t, answered, suporte).await;
    reply(&t, demo, answered, "Olá! Como posso ajudar?").await;
    let elsewhere = assigned_ticket(&t, &sim, demo, "5511911130003", ana.id).await;
    customer_writes(&sim, "5511911130004", "Oi").await;
    let (untaken, status, _) = ticket_of(&t, "5511911130004").await;
    assert_eq!(status, "waiting");
    in_department(&t, untaken, suporte).await;
    // Even put under Demo's Suporte id, the other company's ticket is not Demo's to remind of.
    let foreign = assigned_ticket(&t, &their_sim, other, "5511911130005", theirs.id).await;
    in_department(&t, foreign, suporte).await;

    t.app.clock.advance(11 * MINUTE);
    pass(&t).await;
    assert_eq!(reminders(&t, unanswered).await, vec![Some(ana.id.0)]);
    for (what, id) in [("answered", answered), ("no department", elsewhere), ("untaken", untaken), ("foreign", foreign)]
    {
        assert!(reminders(&t, id).await.is_empty(), "{what} ticket reminded");
    }
    assert_eq!(t.count("events", &format!("kind = 'ticket.reminder' AND tenant_id = {}", other.0)).await, 0);
    sim.shutdown().await;
    their_sim.shutdown().await;
});
