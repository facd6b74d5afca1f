//! The agent inbox (backend): protocols, departments and the visibility rule, capture, assign,
//! transfer (history, closed tickets refused), close with farewell and CSAT, reopen window,
//! signatures in what Meta receives, private notes, automatic distribution, keyset pagination,
//! search and filters, quick replies, tags and contacts — with cross-tenant and
//! cross-department denials that write nothing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atende::actions::departments::{self, DepartmentInput};
use atende::actions::inbox::{self, Farewell, Transfer};
use atende::actions::send::{self, SendRequest, SendTarget};
use atende::actions::{self, ActionError, Actor};
use atende::domain::inbox::{DistributionMode, Priority};
use atende::domain::outbound::OutboundContent;
use atende::domain::{Role, TenantId};
use atende::store::inbox::{Cursor, Filter, Tab};
use atende::store::users::User;
use axum::extract::State;
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

const TOKEN: &str = "EAAG-inbox-token";
const SECRET: &str = "inbox-app-secret";
const PHONE_NUMBER_ID: &str = "2098765";
const PASSWORD: &str = "correct horse battery";

// ---------------------------------------------------------------- a minimal fake Graph API

#[derive(Default)]
struct Graph {
    sends: Mutex<Vec<Value>>,
}

impl Graph {
    fn messages(&self) -> Vec<Value> {
        self.sends.lock().unwrap().iter().filter(|b| b.get("status").is_none()).cloned().collect()
    }
}

async fn graph_send(State(g): State<Arc<Graph>>, Json(body): Json<Value>) -> Json<Value> {
    let mut sends = g.sends.lock().unwrap();
    sends.push(body.clone());
    if body.get("status").is_some() {
        return Json(json!({"success": true}));
    }
    let wamid = format!("wamid.OUT{}", sends.len());
    Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
        "messages": [{"id": wamid}]}))
}

async fn spawn_graph() -> (Arc<Graph>, String) {
    let g = Arc::new(Graph::default());
    let router = axum::Router::new().route("/{version}/{phone_id}/messages", post(graph_send)).with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (g, base)
}

// ---------------------------------------------------------------- helpers

struct Shop {
    tenant: TenantId,
    conn: i64,
    graph: Arc<Graph>,
}

async fn shop(t: &TestApp) -> Shop {
    let (graph, base) = spawn_graph().await;
    let tenant = t.demo_tenant().await;
    let conn = connect(t, tenant, PHONE_NUMBER_ID, &base).await;
    Shop { tenant, conn, graph }
}

async fn connect(t: &TestApp, tenant: TenantId, phone_number_id: &str, graph: &str) -> i64 {
    let input = actions::connections::CreateWhatsappCloud {
        name: "Loja",
        phone_number_id,
        waba_id: "WABA1",
        access_token: TOKEN,
        app_secret: SECRET,
        graph_url: Some(graph),
        api_version: Some("v21.0"),
        rate_per_sec: None,
    };
    actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

fn customer(i: usize) -> String {
    format!("55119876{i:05}")
}

/// Customers write (one signed webhook delivery): (phone, wamid, text) each.
async fn deliver(t: &TestApp, conn: i64, messages: &[(String, String, String)]) {
    let texts: Vec<(&str, &str, &str)> =
        messages.iter().map(|(p, id, text)| (p.as_str(), id.as_str(), text.as_str())).collect();
    t.deliver_texts(conn, PHONE_NUMBER_ID, SECRET, &texts).await;
}

async fn say(t: &TestApp, conn: i64, phone: &str, wamid: &str, text: &str) {
    deliver(t, conn, &[(phone.to_string(), wamid.to_string(), text.to_string())]).await;
}

/// The ticket an inbound message went to.
async fn ticket_of(t: &TestApp, s: &Shop, wamid: &str) -> i64 {
    atende::store::messages::find_by_provider_id(t.app.db.reader(), s.tenant, s.conn, wamid)
        .await
        .unwrap()
        .expect("inbound message stored")
        .ticket_id
}

async fn ticket(t: &TestApp, tenant: TenantId, id: i64) -> atende::store::tickets::Ticket {
    atende::store::tickets::get(t.app.db.reader(), tenant, id).await.unwrap().unwrap()
}

async fn person(t: &TestApp, tenant: TenantId, email: &str, role: Role) -> Actor {
    Actor::User(t.create_user(tenant, email, role, PASSWORD).await)
}

fn user(a: &Actor) -> &User {
    match a {
        Actor::User(u) => u,
        _ => panic!("not a person"),
    }
}

/// Re-reads a person (after their signature or presence changed).
async fn fresh(t: &TestApp, a: &Actor) -> Actor {
    let u = user(a);
    Actor::User(atende::store::users::get(t.app.db.reader(), u.tenant_id, u.id).await.unwrap().unwrap())
}

async fn department(t: &TestApp, tenant: TenantId, name: &str, mode: DistributionMode, sign: bool) -> i64 {
    let input = DepartmentInput {
        name: name.into(),
        colour: "#22aa66".into(),
        greeting: format!("Bem-vindo ao {name}"),
        sign_messages: sign,
        distribution_mode: mode,
    };
    departments::create_department(&t.app, &Actor::Operator, tenant, input).await.unwrap().id
}

async fn join(t: &TestApp, tenant: TenantId, department: i64, who: &Actor) {
    departments::set_member(&t.app, &Actor::Operator, tenant, department, user(who).id, true).await.unwrap();
}

async fn visible_ids(t: &TestApp, who: &Actor, tenant: TenantId, tab: Tab) -> Vec<i64> {
    let page = inbox::list_tickets(&t.app, who, tenant, tab, &Filter::default(), None, 200).await.unwrap();
    page.tickets.iter().map(|x| x.id).collect()
}

fn assert_code(e: ActionError, code: &str) {
    assert_eq!(e.code(), code, "{e:?}");
}

fn text(body: &str) -> OutboundContent {
    OutboundContent::Text { body: body.into(), preview_url: false }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------- tickets and visibility

engine_test!(a_new_inbound_ticket_gets_a_protocol_its_connections_department_and_waits, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(sales)).await.unwrap();
    say(&t, s.conn, &customer(1), "wamid.A1", "Olá, quero um orçamento").await;
    let id = ticket_of(&t, &s, "wamid.A1").await;
    let tk = ticket(&t, s.tenant, id).await;
    assert_eq!(tk.status, "waiting");
    assert_eq!(tk.department_id, Some(sales));
    assert_eq!(tk.assignee_id, None);
    assert!(tk.queued_at.is_some());
    assert_eq!(tk.priority, "normal");
    assert_eq!(tk.last_message_preview.as_deref(), Some("Olá, quero um orçamento"));
    let protocol = tk.protocol.unwrap();
    let (day, seq) = protocol.split_once('-').unwrap();
    assert_eq!(day.len(), 8);
    assert_eq!(seq, "000001");
    let detail = inbox::get_ticket(&t.app, &Actor::Operator, s.tenant, id).await.unwrap();
    assert_eq!(detail.history.len(), 1);
    assert_eq!(detail.history[0].kind, "created");
    assert_eq!(detail.history[0].to_department_id, Some(sales));
    assert_eq!(detail.ticket.department_name.as_deref(), Some("Vendas"));
    assert_eq!(detail.ticket.unread_count, 1);
    t.stop().await;
});

engine_test!(agents_see_their_departments_waiting_tickets_and_their_own_and_nothing_else, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    let support = department(&t, s.tenant, "Suporte", DistributionMode::Off, false).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let bia = person(&t, s.tenant, "bia@demo.test", Role::Agent).await;
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    join(&t, s.tenant, sales, &ana).await;
    join(&t, s.tenant, support, &bia).await;
    // One ticket with no department, then one in Vendas.
    say(&t, s.conn, &customer(1), "wamid.N1", "sem fila").await;
    let loose = ticket_of(&t, &s, "wamid.N1").await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(sales)).await.unwrap();
    say(&t, s.conn, &customer(2), "wamid.V1", "vendas").await;
    let in_sales = ticket_of(&t, &s, "wamid.V1").await;

    let mut ana_sees = visible_ids(&t, &ana, s.tenant, Tab::Waiting).await;
    ana_sees.sort();
    assert_eq!(ana_sees, vec![loose, in_sales]);
    assert_eq!(visible_ids(&t, &bia, s.tenant, Tab::Waiting).await, vec![loose]);
    assert_eq!(visible_ids(&t, &sup, s.tenant, Tab::All).await.len(), 2);

    // Bia may not open, capture, note, transfer or close the Vendas ticket: "not found", nothing written.
    let events_before = t.count("ticket_events", "1=1").await;
    let messages_before = t.count("messages", "1=1").await;
    assert_code(inbox::get_ticket(&t.app, &bia, s.tenant, in_sales).await.unwrap_err(), "not_found");
    assert_code(inbox::capture(&t.app, &bia, s.tenant, in_sales).await.unwrap_err(), "not_found");
    assert_code(inbox::add_note(&t.app, &bia, s.tenant, in_sales, "psst").await.unwrap_err(), "not_found");
    let to_support = Transfer { department_id: Some(support), ..Default::default() };
    assert_code(inbox::transfer(&t.app, &bia, s.tenant, in_sales, to_support).await.unwrap_err(), "not_found");
    assert_code(inbox::close(&t.app, &bia, s.tenant, in_sales, Farewell::None).await.unwrap_err(), "not_found");
    assert_code(inbox::list_messages(&t.app, &bia, s.tenant, in_sales, None, 50).await.unwrap_err(), "not_found");
    let reply = SendRequest {
        marketing: false,
        tenant: s.tenant,
        target: SendTarget::Ticket(in_sales),
        content: text("oi"),
        reply_to: None,
        idempotency_key: None,
    };
    assert_code(send::send_message(&t.app, &bia, reply).await.unwrap_err(), "not_found");
    assert_eq!(t.count("ticket_events", "1=1").await, events_before);
    assert_eq!(t.count("messages", "1=1").await, messages_before);
    assert_eq!(ticket(&t, s.tenant, in_sales).await.status, "waiting");

    // Ana captures it: open and hers; it leaves the waiting list of everyone else.
    let captured = inbox::capture(&t.app, &ana, s.tenant, in_sales).await.unwrap();
    assert_eq!((captured.status.as_str(), captured.assignee_id), ("open", Some(user(&ana).id.0)));
    assert_eq!(visible_ids(&t, &ana, s.tenant, Tab::Mine).await, vec![in_sales]);
    assert_eq!(visible_ids(&t, &ana, s.tenant, Tab::Waiting).await, vec![loose]);
    // Another Vendas agent no longer sees it (it is Ana's now).
    let caio = person(&t, s.tenant, "caio@demo.test", Role::Agent).await;
    join(&t, s.tenant, sales, &caio).await;
    assert_code(inbox::capture(&t.app, &caio, s.tenant, in_sales).await.unwrap_err(), "not_found");
    // Capturing twice changes nothing.
    inbox::capture(&t.app, &ana, s.tenant, in_sales).await.unwrap();
    assert_eq!(t.count("ticket_events", &format!("ticket_id = {in_sales} AND kind = 'captured'")).await, 1);

    // Another company: "not found" everywhere, its list is closed to us.
    let other = t.create_tenant("outra").await;
    let stranger = person(&t, other, "admin@outra.test", Role::Admin).await;
    assert_code(inbox::get_ticket(&t.app, &stranger, s.tenant, in_sales).await.unwrap_err(), "not_found");
    assert_code(inbox::close(&t.app, &stranger, s.tenant, in_sales, Farewell::None).await.unwrap_err(), "not_found");
    assert_code(
        inbox::list_tickets(&t.app, &stranger, s.tenant, Tab::All, &Filter::default(), None, 50).await.unwrap_err(),
        "not_found",
    );
    assert!(visible_ids(&t, &stranger, other, Tab::All).await.is_empty());
    assert_code(inbox::get_ticket(&t.app, &stranger, other, in_sales).await.unwrap_err(), "not_found");
    t.stop().await;
});

engine_test!(assign_is_for_supervisors_and_only_to_active_members_of_the_department, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(sales)).await.unwrap();
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let outsider = person(&t, s.tenant, "out@demo.test", Role::Agent).await;
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    join(&t, s.tenant, sales, &ana).await;
    say(&t, s.conn, &customer(1), "wamid.S1", "oi").await;
    let id = ticket_of(&t, &s, "wamid.S1").await;

    assert_code(inbox::assign(&t.app, &ana, s.tenant, id, user(&ana).id).await.unwrap_err(), "forbidden");
    assert_code(inbox::assign(&t.app, &sup, s.tenant, id, user(&outsider).id).await.unwrap_err(), "not_in_department");
    let other = t.create_tenant("outra").await;
    let foreign = person(&t, other, "x@outra.test", Role::Agent).await;
    assert_code(inbox::assign(&t.app, &sup, s.tenant, id, user(&foreign).id).await.unwrap_err(), "unknown_agent");
    let update = actions::users::UpdateUser { name: "Ana", role: Role::Agent, active: false };
    let gone = person(&t, s.tenant, "gone@demo.test", Role::Agent).await;
    join(&t, s.tenant, sales, &gone).await;
    actions::users::update_user(&t.app, &Actor::Operator, s.tenant, user(&gone).id, update).await.unwrap();
    assert_code(inbox::assign(&t.app, &sup, s.tenant, id, user(&gone).id).await.unwrap_err(), "unknown_agent");
    assert_eq!(t.count("ticket_events", &format!("ticket_id = {id} AND kind = 'assigned'")).await, 0);
    assert_eq!(ticket(&t, s.tenant, id).await.status, "waiting");

    let assigned = inbox::assign(&t.app, &sup, s.tenant, id, user(&ana).id).await.unwrap();
    assert_eq!((assigned.status.as_str(), assigned.assignee_id), ("open", Some(user(&ana).id.0)));
    // Supervisors themselves may take any ticket, member or not.
    inbox::assign(&t.app, &sup, s.tenant, id, user(&sup).id).await.unwrap();
    let history = inbox::get_ticket(&t.app, &sup, s.tenant, id).await.unwrap().history;
    let last = history.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.from_user_id, last.to_user_id),
        ("assigned", Some(user(&ana).id.0), Some(user(&sup).id.0))
    );
    t.stop().await;
});

engine_test!(a_transfer_keeps_its_history_and_a_closed_ticket_refuses_with_ticket_closed, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    let support = department(&t, s.tenant, "Suporte", DistributionMode::Off, false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(sales)).await.unwrap();
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let bia = person(&t, s.tenant, "bia@demo.test", Role::Agent).await;
    join(&t, s.tenant, sales, &ana).await;
    join(&t, s.tenant, support, &bia).await;
    say(&t, s.conn, &customer(1), "wamid.T1", "minha internet caiu").await;
    let id = ticket_of(&t, &s, "wamid.T1").await;
    inbox::capture(&t.app, &ana, s.tenant, id).await.unwrap();

    // Unknown targets are refused and change nothing.
    let bad = Transfer { department_id: Some(999_999), ..Default::default() };
    assert_code(inbox::transfer(&t.app, &ana, s.tenant, id, bad).await.unwrap_err(), "unknown_department");
    let nobody = Transfer::default();
    assert_code(inbox::transfer(&t.app, &ana, s.tenant, id, nobody).await.unwrap_err(), "invalid_transfer");
    // Bia is not in Vendas: to her alone is refused; to Suporte and her is fine.
    let to_bia = Transfer { user_id: Some(user(&bia).id), ..Default::default() };
    assert_code(inbox::transfer(&t.app, &ana, s.tenant, id, to_bia).await.unwrap_err(), "not_in_department");
    assert_eq!(ticket(&t, s.tenant, id).await.assignee_id, Some(user(&ana).id.0));

    let to_support =
        Transfer { department_id: Some(support), user_id: None, note: Some("É problema técnico".into()) };
    let moved = inbox::transfer(&t.app, &ana, s.tenant, id, to_support).await.unwrap();
    assert_eq!((moved.status.as_str(), moved.department_id, moved.assignee_id), ("waiting", Some(support), None));
    assert!(visible_ids(&t, &bia, s.tenant, Tab::Waiting).await.contains(&id));
    assert_code(inbox::get_ticket(&t.app, &ana, s.tenant, id).await.unwrap_err(), "not_found");
    let taken = inbox::capture(&t.app, &bia, s.tenant, id).await.unwrap();
    assert_eq!(taken.assignee_id, Some(user(&bia).id.0));

    let history = inbox::get_ticket(&t.app, &bia, s.tenant, id).await.unwrap().history;
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "captured", "transferred", "captured"]);
    let tr = &history[2];
    assert_eq!(tr.from_department_id, Some(sales));
    assert_eq!(tr.to_department_id, Some(support));
    assert_eq!(tr.from_user_id, Some(user(&ana).id.0));
    assert_eq!(tr.actor_user_id, Some(user(&ana).id.0));
    assert_eq!(tr.note.as_deref(), Some("É problema técnico"));

    inbox::close(&t.app, &bia, s.tenant, id, Farewell::None).await.unwrap();
    let events_before = t.count("ticket_events", "1=1").await;
    let back = Transfer { department_id: Some(sales), ..Default::default() };
    let e = inbox::transfer(&t.app, &bia, s.tenant, id, back).await.unwrap_err();
    assert!(matches!(e, ActionError::Conflict { code: "ticket_closed", .. }), "{e:?}");
    assert_code(inbox::close(&t.app, &bia, s.tenant, id, Farewell::None).await.unwrap_err(), "ticket_closed");
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    assert_code(inbox::assign(&t.app, &sup, s.tenant, id, user(&bia).id).await.unwrap_err(), "ticket_closed");
    assert_eq!(t.count("ticket_events", "1=1").await, events_before);
    let tk = ticket(&t, s.tenant, id).await;
    assert_eq!((tk.status.as_str(), tk.department_id), ("closed", Some(support)));
    t.stop().await;
});

// ---------------------------------------------------------------- close, CSAT, reopen

engine_test!(closing_sends_farewell_and_rating_question_and_the_answer_is_stored, |t: TestApp| async move {
    let s = shop(&t).await;
    let settings = atende::store::settings::TenantSettings {
        csat_enabled: true,
        farewell: "Obrigado, {{nome}}! Protocolo {{protocolo}}.".into(),
        ..Default::default()
    };
    actions::settings::update_settings(&t.app, &Actor::Operator, s.tenant, settings).await.unwrap();
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let phone = customer(7);
    say(&t, s.conn, &phone, "wamid.C1", "oi").await;
    let id = ticket_of(&t, &s, "wamid.C1").await;
    inbox::capture(&t.app, &ana, s.tenant, id).await.unwrap();
    let protocol = ticket(&t, s.tenant, id).await.protocol.unwrap();

    let closed = inbox::close(&t.app, &ana, s.tenant, id, Farewell::Default).await.unwrap();
    assert_eq!(closed.ticket.status, "closed");
    assert!(closed.ticket.closed_at.is_some());
    assert!(closed.ticket.csat_requested_at.is_some());
    assert_eq!(closed.not_sent, None);
    let farewell = closed.farewell_message_id.unwrap();
    let question = closed.csat_message_id.unwrap();
    assert_eq!(t.count("jobs", &format!("dedupe_key IN ('send:{farewell}', 'send:{question}')")).await, 2);
    wait_for("farewell and question at Meta", || s.graph.messages().len() == 2).await;
    let bodies: Vec<String> =
        s.graph.messages().iter().map(|b| b["text"]["body"].as_str().unwrap_or_default().to_string()).collect();
    assert!(bodies.contains(&format!("Obrigado, Cliente {phone}! Protocolo {protocol}.")), "{bodies:?}");
    assert!(bodies.contains(&inbox::DEFAULT_CSAT_QUESTION.to_string()), "{bodies:?}");

    // "5 obrigado" is not a rating: within the reopen window it reopens the ticket instead…
    // so first the real answer: a 4 is stored, the ticket stays closed.
    say(&t, s.conn, &phone, "wamid.C2", " 4 ").await;
    let tk = ticket(&t, s.tenant, id).await;
    assert_eq!((tk.status.as_str(), tk.csat_rating), ("closed", Some(4)));
    assert_eq!(tk.unread_count, 0, "a closed ticket never counts unread messages");
    assert_eq!(ticket_of(&t, &s, "wamid.C2").await, id, "the answer is kept on the ticket it rates");
    // The answer is thanked, through the outbound queue as an automatic message.
    wait_for("the thank-you at Meta", || s.graph.messages().len() == 3).await;
    let thanks = s.graph.messages()[2]["text"]["body"].as_str().unwrap_or_default().to_string();
    assert_eq!(thanks, atende::actions::csat::DEFAULT_CSAT_THANKS);
    assert_eq!(t.count("messages", &format!("ticket_id = {id} AND origin = 'bot'")).await, 1);
    // The same webhook again changes nothing.
    say(&t, s.conn, &phone, "wamid.C2", " 4 ").await;
    assert_eq!(t.count("messages", "provider_id = 'wamid.C2'").await, 1);
    assert_eq!(t.count("messages", &format!("ticket_id = {id} AND origin = 'bot'")).await, 1, "thanked once");
    assert_eq!(ticket(&t, s.tenant, id).await.reopened_count, 0);
    // A second number after the answer is a normal message: it reopens the ticket.
    say(&t, s.conn, &phone, "wamid.C3", "5").await;
    let tk = ticket(&t, s.tenant, id).await;
    assert_eq!((tk.status.as_str(), tk.csat_rating, tk.reopened_count), ("waiting", Some(4), 1));
    assert_eq!(tk.unread_count, 1, "the reopened ticket counts the new message");
    assert_eq!(tk.csat_requested_at, None);
    let kinds: Vec<String> = inbox::get_ticket(&t.app, &Actor::Operator, s.tenant, id)
        .await
        .unwrap()
        .history
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["created", "captured", "closed", "csat", "reopened"]);
    t.stop().await;
});

engine_test!(
    anything_but_a_rating_is_a_normal_message_and_outside_the_window_nothing_is_sent,
    |t: TestApp| async move {
        let s = shop(&t).await;
        let settings = atende::store::settings::TenantSettings { csat_enabled: true, ..Default::default() };
        actions::settings::update_settings(&t.app, &Actor::Operator, s.tenant, settings).await.unwrap();
        let phone = customer(8);
        say(&t, s.conn, &phone, "wamid.D1", "oi").await;
        let id = ticket_of(&t, &s, "wamid.D1").await;
        inbox::close(&t.app, &Actor::Operator, s.tenant, id, Farewell::None).await.unwrap();
        say(&t, s.conn, &phone, "wamid.D2", "nota 5").await;
        let tk = ticket(&t, s.tenant, id).await;
        assert_eq!((tk.status.as_str(), tk.csat_rating), ("waiting", None));

        // A day later the window is shut: closing sends nothing and still closes.
        t.app.clock.advance(Duration::from_secs(25 * 3600));
        let closed =
            inbox::close(&t.app, &Actor::Operator, s.tenant, id, Farewell::Text("Tchau".into())).await.unwrap();
        assert_eq!(closed.ticket.status, "closed");
        assert_eq!(
            (closed.farewell_message_id, closed.csat_message_id, closed.not_sent),
            (None, None, Some("outside_window"))
        );
        assert_eq!(closed.ticket.csat_requested_at, None);
        t.stop().await;
    }
);

engine_test!(a_message_within_the_reopen_window_reopens_and_later_starts_a_new_ticket, |t: TestApp| async move {
    let s = shop(&t).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let phone = customer(3);
    say(&t, s.conn, &phone, "wamid.R1", "oi").await;
    let first = ticket_of(&t, &s, "wamid.R1").await;
    inbox::capture(&t.app, &ana, s.tenant, first).await.unwrap();
    inbox::close(&t.app, &ana, s.tenant, first, Farewell::None).await.unwrap();
    // Ana sees her closed ticket under Finalizados.
    assert_eq!(visible_ids(&t, &ana, s.tenant, Tab::Closed).await, vec![first]);

    t.app.clock.advance(Duration::from_secs(60 * 60));
    say(&t, s.conn, &phone, "wamid.R2", "esqueci de perguntar").await;
    assert_eq!(ticket_of(&t, &s, "wamid.R2").await, first);
    let tk = ticket(&t, s.tenant, first).await;
    assert_eq!((tk.status.as_str(), tk.assignee_id, tk.reopened_count, tk.closed_at), ("waiting", None, 1, None));

    inbox::capture(&t.app, &ana, s.tenant, first).await.unwrap();
    inbox::close(&t.app, &ana, s.tenant, first, Farewell::None).await.unwrap();
    t.app.clock.advance(Duration::from_secs(3 * 60 * 60));
    say(&t, s.conn, &phone, "wamid.R3", "outro assunto").await;
    let second = ticket_of(&t, &s, "wamid.R3").await;
    assert_ne!(second, first);
    let tk2 = ticket(&t, s.tenant, second).await;
    assert_eq!(tk2.status, "waiting");
    assert_ne!(tk2.protocol, ticket(&t, s.tenant, first).await.protocol);
    assert_eq!(ticket(&t, s.tenant, first).await.status, "closed");
    // Reopening the old one by hand is refused while the new one is in progress.
    assert_code(inbox::reopen(&t.app, &ana, s.tenant, first).await.unwrap_err(), "ticket_superseded");
    inbox::close(&t.app, &Actor::Operator, s.tenant, second, Farewell::None).await.unwrap();
    let reopened = inbox::reopen(&t.app, &ana, s.tenant, first).await.unwrap();
    assert_eq!((reopened.status.as_str(), reopened.assignee_id), ("open", Some(user(&ana).id.0)));
    assert_code(inbox::reopen(&t.app, &ana, s.tenant, first).await.unwrap_err(), "ticket_not_closed");
    t.stop().await;
});

// ---------------------------------------------------------------- sending: signature, notes, read

engine_test!(
    the_agents_name_signs_outgoing_text_when_the_department_or_the_agent_enables_it,
    |t: TestApp| async move {
        let s = shop(&t).await;
        let signed = department(&t, s.tenant, "Vendas", DistributionMode::Off, true).await;
        let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
        join(&t, s.tenant, signed, &ana).await;
        departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(signed)).await.unwrap();
        say(&t, s.conn, &customer(1), "wamid.G1", "oi").await;
        let id = ticket_of(&t, &s, "wamid.G1").await;
        inbox::capture(&t.app, &ana, s.tenant, id).await.unwrap();
        let reply = |ticket: i64, body: &str| SendRequest {
            marketing: false,
            tenant: s.tenant,
            target: SendTarget::Ticket(ticket),
            content: text(body),
            reply_to: None,
            idempotency_key: None,
        };
        let m = send::send_message(&t.app, &ana, reply(id, "Como posso ajudar?")).await.unwrap();
        assert_eq!(m.body.as_deref(), Some("*ana:*\nComo posso ajudar?"));
        assert_eq!(m.sender_user_id, Some(user(&ana).id.0));
        wait_for("the signed text at Meta", || !s.graph.messages().is_empty()).await;
        assert_eq!(s.graph.messages()[0]["text"]["body"], "*ana:*\nComo posso ajudar?");
        let tk = ticket(&t, s.tenant, id).await;
        let first_reply = tk.first_agent_reply_at.unwrap();
        assert_eq!(tk.last_message_preview.as_deref(), Some("*ana:* Como posso ajudar?"));
        t.app.clock.advance(Duration::from_secs(5));
        send::send_message(&t.app, &ana, reply(id, "Mais algo?")).await.unwrap();
        assert_eq!(ticket(&t, s.tenant, id).await.first_agent_reply_at, Some(first_reply));

        // No department: plain text, until Ana turns her own signature on.
        departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, None).await.unwrap();
        say(&t, s.conn, &customer(2), "wamid.G2", "oi").await;
        let plain = ticket_of(&t, &s, "wamid.G2").await;
        inbox::capture(&t.app, &ana, s.tenant, plain).await.unwrap();
        let m = send::send_message(&t.app, &ana, reply(plain, "Oi!")).await.unwrap();
        assert_eq!(m.body.as_deref(), Some("Oi!"));
        actions::settings::set_signature(&t.app, &ana, s.tenant, user(&ana).id, true).await.unwrap();
        let ana = fresh(&t, &ana).await;
        let m = send::send_message(&t.app, &ana, reply(plain, "Tudo certo")).await.unwrap();
        assert_eq!(m.body.as_deref(), Some("*ana:*\nTudo certo"));
        // An API token has no name to sign with.
        let m = send::send_message(&t.app, &Actor::Operator, reply(plain, "Automático")).await.unwrap();
        assert_eq!((m.body.as_deref(), m.sender_user_id), (Some("Automático"), None));
        t.stop().await;
    }
);

engine_test!(private_notes_are_stored_but_never_sent_nor_enqueued, |t: TestApp| async move {
    let s = shop(&t).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    say(&t, s.conn, &customer(1), "wamid.P1", "oi").await;
    let id = ticket_of(&t, &s, "wamid.P1").await;
    inbox::capture(&t.app, &ana, s.tenant, id).await.unwrap();
    let jobs_before = t.count("jobs", "kind = 'whatsapp.send'").await;
    let note = inbox::add_note(&t.app, &ana, s.tenant, id, "cliente VIP, cuidado").await.unwrap();
    assert_eq!((note.direction.as_str(), note.body.as_deref()), ("note", Some("cliente VIP, cuidado")));
    assert_eq!(note.sender_user_id, Some(user(&ana).id.0));
    assert_eq!(note.provider_id, None);
    assert_eq!(t.count("jobs", "kind = 'whatsapp.send'").await, jobs_before);
    assert_eq!(t.count("jobs", &format!("payload LIKE '%{}%'", note.id)).await, 0);
    assert_code(inbox::add_note(&t.app, &ana, s.tenant, id, "   ").await.unwrap_err(), "invalid_note");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.graph.messages().is_empty());
    let (messages, more) = inbox::list_messages(&t.app, &ana, s.tenant, id, None, 50).await.unwrap();
    assert!(!more);
    assert_eq!(messages.iter().map(|m| m.direction.as_str()).collect::<Vec<_>>(), ["in", "note"]);
    t.stop().await;
});

engine_test!(marking_read_clears_the_unread_count_and_sends_the_read_receipt, |t: TestApp| async move {
    let s = shop(&t).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    deliver(
        &t,
        s.conn,
        &[(customer(1), "wamid.U1".into(), "um".into()), (customer(1), "wamid.U2".into(), "dois".into())],
    )
    .await;
    let id = ticket_of(&t, &s, "wamid.U1").await;
    assert_eq!(ticket(&t, s.tenant, id).await.unread_count, 2);
    inbox::capture(&t.app, &ana, s.tenant, id).await.unwrap();
    inbox::mark_read(&t.app, &ana, s.tenant, id).await.unwrap();
    assert_eq!(ticket(&t, s.tenant, id).await.unread_count, 0);
    let newest = atende::store::messages::find_by_provider_id(t.app.db.reader(), s.tenant, s.conn, "wamid.U2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.count("jobs", &format!("dedupe_key = 'read:{}' AND kind = 'whatsapp.mark_read'", newest.id)).await, 1);
    wait_for("the read receipt at Meta", || {
        s.graph.sends.lock().unwrap().iter().any(|b| b["status"] == "read" && b["message_id"] == "wamid.U2")
    })
    .await;
    t.stop().await;
});

// ---------------------------------------------------------------- distribution

engine_test!(distribution_goes_round_robin_then_least_busy_among_online_members_only, |t: TestApp| async move {
    let s = shop(&t).await;
    let d = department(&t, s.tenant, "Suporte", DistributionMode::RoundRobin, false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(d)).await.unwrap();
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let bia = person(&t, s.tenant, "bia@demo.test", Role::Agent).await;
    let off = person(&t, s.tenant, "off@demo.test", Role::Agent).await;
    for a in [&ana, &bia, &off] {
        join(&t, s.tenant, d, a).await;
    }
    // Nobody online: tickets wait.
    say(&t, s.conn, &customer(0), "wamid.W0", "oi").await;
    assert_eq!(ticket(&t, s.tenant, ticket_of(&t, &s, "wamid.W0").await).await.status, "waiting");
    // "off" was online long ago; Ana and Bia now.
    actions::settings::touch_presence(&t.app, user(&off)).await.unwrap();
    t.app.clock.advance(Duration::from_secs(6 * 60));
    actions::settings::touch_presence(&t.app, user(&ana)).await.unwrap();
    actions::settings::touch_presence(&t.app, user(&bia)).await.unwrap();

    let mut owners = Vec::new();
    for i in 1..=4 {
        let wamid = format!("wamid.W{i}");
        say(&t, s.conn, &customer(i), &wamid, "oi").await;
        let tk = ticket(&t, s.tenant, ticket_of(&t, &s, &wamid).await).await;
        assert_eq!(tk.status, "open");
        owners.push(tk.assignee_id.unwrap());
    }
    let (a, b) = (user(&ana).id.0, user(&bia).id.0);
    assert_eq!(owners, [a, b, a, b], "round-robin alternates between the online members");
    let auto = t.count("ticket_events", "kind = 'assigned' AND data LIKE '%round_robin%'").await;
    assert_eq!(auto, 4);

    // Least busy: Ana closes both of hers, so the next two go to her.
    let input = DepartmentInput {
        name: "Suporte".into(),
        colour: "#22aa66".into(),
        greeting: String::new(),
        sign_messages: false,
        distribution_mode: DistributionMode::LeastBusy,
    };
    departments::update_department(&t.app, &Actor::Operator, s.tenant, d, input).await.unwrap();
    let anas: Vec<i64> = visible_ids(&t, &ana, s.tenant, Tab::Mine).await;
    assert_eq!(anas.len(), 2);
    for id in anas {
        inbox::close(&t.app, &ana, s.tenant, id, Farewell::None).await.unwrap();
    }
    for i in 5..=6 {
        let wamid = format!("wamid.W{i}");
        say(&t, s.conn, &customer(i), &wamid, "oi").await;
        assert_eq!(ticket(&t, s.tenant, ticket_of(&t, &s, &wamid).await).await.assignee_id, Some(a));
    }
    // Tied at two each: turns continue after the last one handed out.
    say(&t, s.conn, &customer(7), "wamid.W7", "oi").await;
    assert_eq!(ticket(&t, s.tenant, ticket_of(&t, &s, "wamid.W7").await).await.assignee_id, Some(b));

    // A transfer to the department without an agent is distributed too.
    let other = department(&t, s.tenant, "Vendas", DistributionMode::RoundRobin, false).await;
    join(&t, s.tenant, other, &bia).await;
    let w0 = ticket_of(&t, &s, "wamid.W0").await;
    let moved = inbox::transfer(
        &t.app,
        &Actor::Operator,
        s.tenant,
        w0,
        Transfer { department_id: Some(other), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!((moved.status.as_str(), moved.assignee_id), ("open", Some(b)));
    t.stop().await;
});

engine_test!(an_away_agent_keeps_their_tickets_but_gets_no_new_ones_until_back, |t: TestApp| async move {
    let s = shop(&t).await;
    let d = department(&t, s.tenant, "Suporte", DistributionMode::RoundRobin, false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(d)).await.unwrap();
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let bia = person(&t, s.tenant, "bia@demo.test", Role::Agent).await;
    for a in [&ana, &bia] {
        join(&t, s.tenant, d, a).await;
        actions::settings::touch_presence(&t.app, user(a)).await.unwrap();
    }
    let (a, b) = (user(&ana).id.0, user(&bia).id.0);
    let owner = |i: usize| {
        let t = &t;
        let s = &s;
        async move {
            let wamid = format!("wamid.AW{i}");
            say(t, s.conn, &customer(i), &wamid, "oi").await;
            ticket(t, s.tenant, ticket_of(t, s, &wamid).await).await.assignee_id
        }
    };
    assert_eq!(owner(1).await, Some(a));
    let first = ticket_of(&t, &s, "wamid.AW1").await;

    // Ana steps away (still online by presence): every new ticket goes to Bia; Ana keeps hers.
    actions::settings::set_away(&t.app, user(&ana), true).await.unwrap();
    assert!(user(&fresh(&t, &ana).await).away);
    for i in 2..=4 {
        assert_eq!(owner(i).await, Some(b), "ticket {i} skips the away agent");
    }
    assert_eq!(ticket(&t, s.tenant, first).await.assignee_id, Some(a), "an away agent keeps their tickets");
    // With everyone away, tickets wait.
    actions::settings::set_away(&t.app, user(&bia), true).await.unwrap();
    assert_eq!(owner(5).await, None);
    assert_eq!(ticket(&t, s.tenant, ticket_of(&t, &s, "wamid.AW5").await).await.status, "waiting");

    // Back online: Ana is handed tickets again.
    actions::settings::set_away(&t.app, user(&ana), false).await.unwrap();
    actions::settings::set_away(&t.app, user(&bia), false).await.unwrap();
    let owners = [owner(6).await, owner(7).await];
    assert!(owners.contains(&Some(a)) && owners.contains(&Some(b)), "{owners:?}");

    // Only the person's own row, in their own company.
    let other = t.create_tenant("outra").await;
    let stranger = person(&t, other, "ana@outra.test", Role::Agent).await;
    actions::settings::set_away(&t.app, user(&stranger), true).await.unwrap();
    assert!(!user(&fresh(&t, &ana).await).away && !user(&fresh(&t, &bia).await).away);
    // Someone of another company, named with this company's id, is not found here.
    let forged = User { tenant_id: s.tenant, ..user(&stranger).clone() };
    let refused = actions::settings::set_away(&t.app, &forged, false).await;
    assert!(matches!(refused, Err(ActionError::NotFound)), "{refused:?}");
    assert!(user(&fresh(&t, &stranger).await).away, "the stranger's own status is untouched");
    t.stop().await;
});

// ---------------------------------------------------------------- protocols

engine_test!(protocols_stay_unique_when_tickets_are_created_concurrently, |t: TestApp| async move {
    let s = shop(&t).await;
    let template = OutboundContent::Template { name: "ola".into(), language: "pt_BR".into(), components: json!([]) };
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = t.app.clone();
        let (tenant, conn, content) = (s.tenant, s.conn, template.clone());
        tasks.push(tokio::spawn(async move {
            let req = SendRequest {
                marketing: false,
                tenant,
                target: SendTarget::Phone { connection_id: conn, phone: format!("+{}", customer(100 + i)) },
                content,
                reply_to: None,
                idempotency_key: None,
            };
            send::send_message(&app, &Actor::Operator, req).await.unwrap();
        }));
    }
    let inbound: Vec<_> = (0..8)
        .map(|i| {
            let messages: Vec<(String, String, String)> =
                (0..3).map(|j| (customer(200 + i * 3 + j), format!("wamid.X{i}-{j}"), "oi".to_string())).collect();
            messages
        })
        .collect();
    let mut posts = Vec::new();
    for batch in &inbound {
        posts.push(deliver(&t, s.conn, batch));
    }
    futures_join(posts).await;
    for task in tasks {
        task.await.unwrap();
    }
    let rows = sqlx::query("SELECT protocol FROM tickets WHERE tenant_id = $1")
        .bind(s.tenant.0)
        .fetch_all(t.app.db.reader())
        .await
        .unwrap();
    let protocols: Vec<String> = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, 0)).collect();
    assert_eq!(protocols.len(), 48);
    let unique: HashSet<&String> = protocols.iter().collect();
    assert_eq!(unique.len(), 48, "{protocols:?}");
    let mut seqs: Vec<i64> = protocols.iter().map(|p| p.split_once('-').unwrap().1.parse().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=48).collect::<Vec<i64>>(), "the daily sequence has no gaps");
    t.stop().await;
});

async fn futures_join<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    futures_util::future::join_all(futures).await;
}

// ---------------------------------------------------------------- list: pages, search, filters

engine_test!(inbox_pages_never_repeat_or_skip_a_ticket, |t: TestApp| async move {
    let s = shop(&t).await;
    let messages: Vec<(String, String, String)> =
        (0..53).map(|i| (customer(i), format!("wamid.L{i}"), format!("mensagem {i}"))).collect();
    deliver(&t, s.conn, &messages).await;
    // Give many tickets the same last activity, so ties are broken by id.
    sqlx::query("UPDATE tickets SET last_message_at = 1700000000000 + (id % 7) WHERE tenant_id = $1")
        .bind(s.tenant.0)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page =
            inbox::list_tickets(&t.app, &Actor::Operator, s.tenant, Tab::Waiting, &Filter::default(), cursor, 10)
                .await
                .unwrap();
        pages += 1;
        assert!(page.tickets.len() <= 10);
        seen.extend(page.tickets.iter().map(|x| (x.last_message_at, x.id)));
        match page.next {
            Some(next) => cursor = Some(Cursor::decode(&next.encode()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    assert_eq!(seen.len(), 53);
    assert_eq!(seen.iter().map(|x| x.1).collect::<HashSet<_>>().len(), 53, "no duplicates");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest activity first, ties by id descending");
    t.stop().await;
});

engine_test!(
    search_and_filters_find_tickets_by_name_phone_protocol_text_tag_department_and_connection,
    |t: TestApp| async move {
        let s = shop(&t).await;
        let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
        deliver(
            &t,
            s.conn,
            &[
                (customer(11), "wamid.F1".into(), "Quero trocar o produto".into()),
                (customer(22), "wamid.F2".into(), "Cadê meu pedido 50%_off?".into()),
            ],
        )
        .await;
        let (one, two) = (ticket_of(&t, &s, "wamid.F1").await, ticket_of(&t, &s, "wamid.F2").await);
        let find = |search: &str| Filter { search: Some(search.into()), ..Default::default() };
        let ids = |f: Filter| {
            let app = t.app.clone();
            let tenant = s.tenant;
            async move {
                let page = inbox::list_tickets(&app, &Actor::Operator, tenant, Tab::All, &f, None, 50).await.unwrap();
                page.tickets.iter().map(|x| x.id).collect::<Vec<i64>>()
            }
        };
        assert_eq!(ids(find("TROCAR")).await, vec![one]);
        assert_eq!(ids(find(&format!("cliente {}", customer(22)))).await, vec![two]);
        assert_eq!(ids(find("987600022")).await, vec![two]);
        assert_eq!(ids(find("50%_")).await, vec![two]);
        assert_eq!(ids(find("%")).await, vec![two], "LIKE wildcards are literal");
        let protocol = ticket(&t, s.tenant, one).await.protocol.unwrap();
        assert_eq!(ids(find(&protocol)).await, vec![one]);

        let tag = actions::contacts::create_tag(&t.app, &Actor::Operator, s.tenant, "Troca", "#ff0000").await.unwrap();
        inbox::tag_ticket(&t.app, &Actor::Operator, s.tenant, one, tag.id, true).await.unwrap();
        assert_eq!(ids(Filter { tag_id: Some(tag.id), ..Default::default() }).await, vec![one]);
        let to_sales = Transfer { department_id: Some(sales), ..Default::default() };
        inbox::transfer(&t.app, &Actor::Operator, s.tenant, two, to_sales).await.unwrap();
        assert_eq!(ids(Filter { department_id: Some(sales), ..Default::default() }).await, vec![two]);
        assert_eq!(ids(Filter { connection_id: Some(s.conn), ..Default::default() }).await.len(), 2);
        assert!(ids(Filter { connection_id: Some(s.conn + 1000), ..Default::default() }).await.is_empty());
        let detail = inbox::get_ticket(&t.app, &Actor::Operator, s.tenant, one).await.unwrap();
        assert_eq!(detail.tags.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Troca"]);
        inbox::set_priority(&t.app, &Actor::Operator, s.tenant, one, Priority::Urgent).await.unwrap();
        assert_eq!(ticket(&t, s.tenant, one).await.priority, "urgent");
        t.stop().await;
    }
);

engine_test!(older_messages_load_page_by_page, |t: TestApp| async move {
    let s = shop(&t).await;
    let messages: Vec<(String, String, String)> =
        (0..25).map(|i| (customer(1), format!("wamid.M{i}"), format!("parte {i}"))).collect();
    deliver(&t, s.conn, &messages).await;
    let id = ticket_of(&t, &s, "wamid.M0").await;
    let (newest, more) = inbox::list_messages(&t.app, &Actor::Operator, s.tenant, id, None, 10).await.unwrap();
    assert!(more);
    assert_eq!(newest.first().unwrap().body.as_deref(), Some("parte 15"));
    assert_eq!(newest.last().unwrap().body.as_deref(), Some("parte 24"));
    let (middle, more) =
        inbox::list_messages(&t.app, &Actor::Operator, s.tenant, id, Some(newest[0].id), 10).await.unwrap();
    assert!(more);
    assert_eq!(middle.last().unwrap().id + 1, newest[0].id);
    let (oldest, more) =
        inbox::list_messages(&t.app, &Actor::Operator, s.tenant, id, Some(middle[0].id), 10).await.unwrap();
    assert!(!more);
    assert_eq!(oldest.len(), 5);
    assert_eq!(oldest[0].body.as_deref(), Some("parte 0"));
    t.stop().await;
});

// ---------------------------------------------------------------- quick replies, departments, tags, contacts

engine_test!(quick_replies_are_kept_by_supervisors_and_filled_per_ticket, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    let support = department(&t, s.tenant, "Suporte", DistributionMode::Off, false).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    join(&t, s.tenant, sales, &ana).await;
    use actions::quick_replies::{self as qr, QuickReplyInput};
    let input = |department_id: Option<i64>, shortcut: &str, body: &str| QuickReplyInput {
        department_id,
        shortcut: shortcut.into(),
        body: body.into(),
    };
    assert_code(
        qr::create_quick_reply(&t.app, &ana, s.tenant, input(None, "ola", "x")).await.unwrap_err(),
        "forbidden",
    );
    qr::create_quick_reply(&t.app, &sup, s.tenant, input(None, "/ola", "Olá {{nome}}, aqui é {{atendente}}."))
        .await
        .unwrap();
    qr::create_quick_reply(
        &t.app,
        &sup,
        s.tenant,
        input(Some(sales), "ola", "Vendas: oi {{nome}}! Protocolo {{protocolo}}"),
    )
    .await
    .unwrap();
    qr::create_quick_reply(&t.app, &sup, s.tenant, input(Some(support), "ola", "Suporte: oi")).await.unwrap();
    let e = qr::create_quick_reply(&t.app, &sup, s.tenant, input(None, "ola", "de novo")).await.unwrap_err();
    assert_code(e, "shortcut_taken");
    assert_code(
        qr::create_quick_reply(&t.app, &sup, s.tenant, input(None, "com espaço", "x")).await.unwrap_err(),
        "invalid_shortcut",
    );
    assert_code(
        qr::create_quick_reply(&t.app, &sup, s.tenant, input(Some(999_999), "x", "x")).await.unwrap_err(),
        "unknown_department",
    );
    // Ana lists the tenant-wide and Vendas replies, not Suporte's.
    let mine = qr::list_quick_replies(&t.app, &ana, s.tenant).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|q| q.department_id != Some(support)));
    assert_eq!(qr::list_quick_replies(&t.app, &sup, s.tenant).await.unwrap().len(), 3);

    departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, Some(sales)).await.unwrap();
    say(&t, s.conn, &customer(5), "wamid.Q1", "oi").await;
    let id = ticket_of(&t, &s, "wamid.Q1").await;
    let protocol = ticket(&t, s.tenant, id).await.protocol.unwrap();
    let text = inbox::expand_quick_reply(&t.app, &ana, s.tenant, id, "/ola").await.unwrap();
    assert_eq!(text, format!("Vendas: oi Cliente {}! Protocolo {protocol}", customer(5)));
    inbox::transfer(
        &t.app,
        &sup,
        s.tenant,
        id,
        Transfer { user_id: Some(user(&sup).id), department_id: None, note: None },
    )
    .await
    .unwrap();
    departments::delete_department(&t.app, &Actor::Operator, s.tenant, sales).await.unwrap();
    let text = inbox::expand_quick_reply(&t.app, &sup, s.tenant, id, "ola").await.unwrap();
    assert_eq!(text, format!("Olá Cliente {}, aqui é sup.", customer(5)));
    assert_code(inbox::expand_quick_reply(&t.app, &sup, s.tenant, id, "nada").await.unwrap_err(), "not_found");
    assert_eq!(ticket(&t, s.tenant, id).await.department_id, None);
    t.stop().await;
});

engine_test!(departments_tags_and_contacts_respect_roles_and_tenants, |t: TestApp| async move {
    let s = shop(&t).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    let admin = person(&t, s.tenant, "chefe@demo.test", Role::Admin).await;
    let input = |name: &str| DepartmentInput {
        name: name.into(),
        colour: "#123abc".into(),
        greeting: String::new(),
        sign_messages: false,
        distribution_mode: DistributionMode::Off,
    };
    assert_code(departments::create_department(&t.app, &sup, s.tenant, input("X")).await.unwrap_err(), "forbidden");
    let d = departments::create_department(&t.app, &admin, s.tenant, input("Financeiro")).await.unwrap();
    assert_code(
        departments::create_department(&t.app, &admin, s.tenant, input("Financeiro")).await.unwrap_err(),
        "name_taken",
    );
    let bad = DepartmentInput { colour: "red".into(), ..input("Y") };
    assert_code(departments::create_department(&t.app, &admin, s.tenant, bad).await.unwrap_err(), "invalid_colour");
    assert_eq!(departments::list_departments(&t.app, &ana, s.tenant).await.unwrap().len(), 1);
    assert_eq!(t.count("audit_log", "action = 'department.created'").await, 1);
    let other = t.create_tenant("outra").await;
    let stranger = person(&t, other, "admin@outra.test", Role::Admin).await;
    assert_code(departments::get_department(&t.app, &stranger, s.tenant, d.id).await.unwrap_err(), "not_found");
    assert_code(departments::get_department(&t.app, &stranger, other, d.id).await.unwrap_err(), "not_found");
    assert_code(
        departments::set_member(&t.app, &stranger, other, d.id, user(&stranger).id, true).await.unwrap_err(),
        "not_found",
    );
    // A person of another company cannot be made a member here.
    assert_code(
        departments::set_member(&t.app, &admin, s.tenant, d.id, user(&stranger).id, true).await.unwrap_err(),
        "unknown_agent",
    );
    departments::set_member(&t.app, &admin, s.tenant, d.id, user(&ana).id, true).await.unwrap();
    let members = departments::list_members(&t.app, &sup, s.tenant, d.id).await.unwrap();
    assert_eq!(members.iter().map(|m| m.user_id).collect::<Vec<_>>(), [user(&ana).id.0]);
    assert_code(departments::list_members(&t.app, &ana, s.tenant, d.id).await.unwrap_err(), "forbidden");

    // Tags: supervisors keep the list; anyone tags contacts.
    assert_code(
        actions::contacts::create_tag(&t.app, &ana, s.tenant, "VIP", "#00ff00").await.unwrap_err(),
        "forbidden",
    );
    let vip = actions::contacts::create_tag(&t.app, &sup, s.tenant, "VIP", "#00ff00").await.unwrap();
    say(&t, s.conn, &customer(9), "wamid.K1", "oi").await;
    let contact = ticket(&t, s.tenant, ticket_of(&t, &s, "wamid.K1").await).await.contact_id;
    actions::contacts::tag_contact(&t.app, &ana, s.tenant, contact, vip.id, true).await.unwrap();
    let foreign_tag = actions::contacts::create_tag(&t.app, &stranger, other, "Deles", "#000000").await.unwrap();
    assert_code(
        actions::contacts::tag_contact(&t.app, &ana, s.tenant, contact, foreign_tag.id, true).await.unwrap_err(),
        "unknown_tag",
    );
    assert_code(
        actions::contacts::tag_contact(&t.app, &stranger, other, contact, foreign_tag.id, true).await.unwrap_err(),
        "not_found",
    );

    // Contacts: name, e-mail, notes, custom fields.
    let mut fields = serde_json::Map::new();
    fields.insert("cpf".into(), json!("123.456.789-00"));
    let edit = actions::contacts::ContactInput {
        name: "Maria Souza".into(),
        email: Some("Maria@Example.com".into()),
        notes: "prefere à tarde".into(),
        custom_fields: fields.clone(),
    };
    let c = actions::contacts::update_contact(&t.app, &ana, s.tenant, contact, edit.clone()).await.unwrap();
    assert_eq!((c.name.as_str(), c.email.as_deref()), ("Maria Souza", Some("maria@example.com")));
    assert_eq!(serde_json::from_str::<Value>(&c.custom_fields).unwrap()["cpf"], "123.456.789-00");
    let bad = actions::contacts::ContactInput { email: Some("não".into()), ..edit.clone() };
    assert_code(
        actions::contacts::update_contact(&t.app, &ana, s.tenant, contact, bad).await.unwrap_err(),
        "invalid_email",
    );
    assert_code(
        actions::contacts::update_contact(&t.app, &stranger, other, contact, edit).await.unwrap_err(),
        "not_found",
    );
    let detail = actions::contacts::get_contact(&t.app, &ana, s.tenant, contact).await.unwrap();
    assert_eq!(detail.tags.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["VIP"]);
    assert_eq!(detail.tickets.len(), 1);
    // The name people gave wins over the WhatsApp profile name from now on.
    say(&t, s.conn, &customer(9), "wamid.K2", "oi de novo").await;
    assert_eq!(
        actions::contacts::get_contact(&t.app, &ana, s.tenant, contact).await.unwrap().contact.name,
        "Maria Souza"
    );

    // Settings: admins only.
    let s2 = atende::store::settings::TenantSettings { reopen_window_minutes: 30, ..Default::default() };
    assert_code(actions::settings::update_settings(&t.app, &sup, s.tenant, s2.clone()).await.unwrap_err(), "forbidden");
    actions::settings::update_settings(&t.app, &admin, s.tenant, s2).await.unwrap();
    assert_eq!(actions::settings::get_settings(&t.app, &ana, s.tenant).await.unwrap().reopen_window_minutes, 30);
    // Signatures: oneself or an admin.
    assert_code(
        actions::settings::set_signature(&t.app, &ana, s.tenant, user(&sup).id, true).await.unwrap_err(),
        "forbidden",
    );
    t.stop().await;
});

engine_test!(an_agents_todos_tab_merges_their_own_and_visible_waiting_tickets_page_by_page, |t: TestApp| async move {
    let s = shop(&t).await;
    let sales = department(&t, s.tenant, "Vendas", DistributionMode::Off, false).await;
    let support = department(&t, s.tenant, "Suporte", DistributionMode::Off, false).await;
    let ana = person(&t, s.tenant, "ana@demo.test", Role::Agent).await;
    let bia = person(&t, s.tenant, "bia@demo.test", Role::Agent).await;
    join(&t, s.tenant, sales, &ana).await;
    join(&t, s.tenant, support, &bia).await;
    let set_department =
        |d: Option<i64>| departments::set_connection_department(&t.app, &Actor::Operator, s.tenant, s.conn, d);
    say(&t, s.conn, &customer(1), "wamid.U1", "sem fila").await;
    let loose = ticket_of(&t, &s, "wamid.U1").await;
    set_department(Some(sales)).await.unwrap();
    say(&t, s.conn, &customer(2), "wamid.U2", "vendas").await;
    let waiting_sales = ticket_of(&t, &s, "wamid.U2").await;
    say(&t, s.conn, &customer(3), "wamid.U3", "vendas, da Ana").await;
    let anas_open = ticket_of(&t, &s, "wamid.U3").await;
    inbox::capture(&t.app, &ana, s.tenant, anas_open).await.unwrap();
    say(&t, s.conn, &customer(4), "wamid.U4", "vendas, fechado").await;
    let anas_closed = ticket_of(&t, &s, "wamid.U4").await;
    inbox::capture(&t.app, &ana, s.tenant, anas_closed).await.unwrap();
    inbox::close(&t.app, &ana, s.tenant, anas_closed, Farewell::None).await.unwrap();
    set_department(Some(support)).await.unwrap();
    say(&t, s.conn, &customer(5), "wamid.U5", "suporte").await;
    say(&t, s.conn, &customer(6), "wamid.U6", "suporte, da Bia").await;
    let bias_open = ticket_of(&t, &s, "wamid.U6").await;
    inbox::capture(&t.app, &bia, s.tenant, bias_open).await.unwrap();
    // A ticket of Suporte transferred to Ana herself: hers, although not of her department.
    say(&t, s.conn, &customer(7), "wamid.U7", "suporte, para a Ana").await;
    let given_to_ana = ticket_of(&t, &s, "wamid.U7").await;
    let to_ana = Transfer { user_id: Some(user(&ana).id), ..Default::default() };
    assert_code(inbox::transfer(&t.app, &bia, s.tenant, given_to_ana, to_ana).await.unwrap_err(), "not_in_department");
    let sup = person(&t, s.tenant, "sup@demo.test", Role::Supervisor).await;
    join(&t, s.tenant, support, &ana).await;
    inbox::assign(&t.app, &sup, s.tenant, given_to_ana, user(&ana).id).await.unwrap();
    departments::set_member(&t.app, &Actor::Operator, s.tenant, support, user(&ana).id, false).await.unwrap();

    // In last-activity order, as the whole-tenant list orders them.
    let ids = [loose, waiting_sales, anas_open, given_to_ana];
    let sql = format!(
        "SELECT id FROM tickets WHERE id IN ({}) ORDER BY last_message_at DESC, id DESC",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    );
    let expected: Vec<i64> =
        sqlx::query(&sql).fetch_all(t.app.db.reader()).await.unwrap().iter().map(|r| sqlx::Row::get(r, 0)).collect();
    assert_eq!(visible_ids(&t, &ana, s.tenant, Tab::All).await, expected);
    let mut mine = visible_ids(&t, &ana, s.tenant, Tab::Mine).await;
    mine.sort();
    let mut own = vec![anas_open, given_to_ana];
    own.sort();
    assert_eq!(mine, own);
    assert_eq!(visible_ids(&t, &ana, s.tenant, Tab::Closed).await, vec![anas_closed]);
    // One ticket per page: the keyset cursor walks the merged ranges without gaps or repeats.
    let (mut walked, mut after) = (Vec::new(), None);
    loop {
        let page = inbox::list_tickets(&t.app, &ana, s.tenant, Tab::All, &Filter::default(), after, 1).await.unwrap();
        walked.extend(page.tickets.iter().map(|x| x.id));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(walked.len() <= ids.len(), "the pages do not end: {walked:?}");
    }
    assert_eq!(walked, expected);
    t.stop().await;
});
