//! The chatbot's newer nodes end to end through the WhatsApp simulator: a question for the CPF
//! saved into the contact (an invalid answer asked again), a condition on the customer's words,
//! a `set` giving a tag and high priority, a menu of four sent as a list whose row the customer
//! taps on the simulator's phone, an order-status HTTP request against a local server
//! (answered when the company may reach private networks, refused to the error branch when it
//! may not), and the editor's test panel, which writes and sends nothing. On SQLite and
//! PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atende::actions::automation::{self, AutomationInput};
use atende::actions::flow_test::test_turn;
use atende::actions::Actor;
use atende::domain::flow::{department_menu, Say};
use atende::domain::TenantId;
use serde_json::Value;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::TestApp;

pub(crate) const CUSTOMER: &str = "5511987654321";

pub(crate) async fn eventually<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Saves automation (always open, no greeting) with this flow.
pub(crate) async fn with_flow(t: &TestApp, tenant: TenantId, flow: &str) {
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ["00:00-24:00"; 7].map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow: flow.into(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, tenant, input).await.unwrap();
}

/// The texts the simulator received, once there are `n`.
pub(crate) async fn texts(sim: &wa_sim::Simulator, n: usize) -> Vec<String> {
    let all = eventually(&format!("{n} messages at the simulator"), || async {
        let all: Vec<Value> = sim.sent_messages().into_iter().map(|m| m.request).collect();
        (all.len() >= n).then_some(all)
    })
    .await;
    all.iter()
        .map(|m| {
            m["text"]["body"].as_str().or(m["interactive"]["body"]["text"].as_str()).unwrap_or_default().to_string()
        })
        .collect()
}

pub(crate) async fn settled(t: &TestApp) {
    eventually("the automation jobs to finish", || async {
        (t.count("jobs", "kind = 'automation.inbound' AND state <> 'done'").await == 0).then_some(())
    })
    .await;
}

/// Sends a text as the customer and waits for the automation to finish with it.
pub(crate) async fn say(t: &TestApp, sim: &wa_sim::Simulator, text: &str) {
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text(text.into())).await.unwrap();
    // The job is enqueued with the message: wait for the message, then for the job.
    let body = text.replace('\'', "''");
    eventually("the message", || async {
        (t.count("messages", &format!("direction = 'in' AND body = '{body}'")).await > 0).then_some(())
    })
    .await;
    settled(t).await;
}

/// The customer's ticket: id, status, department, priority.
pub(crate) async fn ticket(t: &TestApp) -> (i64, String, Option<i64>, String) {
    sqlx::query_as::<_, (i64, String, Option<i64>, String)>(
        "SELECT t.id, t.status, t.department_id, t.priority FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = $1",
    )
    .bind(CUSTOMER)
    .fetch_one(t.app.db.reader())
    .await
    .unwrap()
}

/// A tiny order API on loopback: `GET /pedidos/{id}` answers `{"status":"enviado"}`; counts
/// the requests and remembers the last path.
struct OrderApi {
    url: String,
    hits: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<String>>,
}

async fn order_api() -> OrderApi {
    let hits = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (h, l) = (hits.clone(), last.clone());
    let app = axum::Router::new().route(
        "/pedidos/{id}",
        axum::routing::get(move |axum::extract::Path(id): axum::extract::Path<String>| {
            let (h, l) = (h.clone(), l.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                *l.lock().unwrap() = id;
                axum::Json(serde_json::json!({ "status": "enviado" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    OrderApi { url: format!("http://{addr}"), hits, last }
}

fn order_flow(api: &str) -> String {
    format!(
        r#"{{"start":"q","nodes":{{
        "q":{{"type":"question","text":"Qual é o número do pedido?","kind":"number","save_as":"pedido","next":"api"}},
        "api":{{"type":"http","url":"{api}/pedidos/{{{{pedido}}}}","save":{{"status":"/status"}},"next":"diz","error":"falhou"}},
        "diz":{{"type":"close","text":"Seu pedido está: {{{{status}}}}"}},
        "falhou":{{"type":"handoff","text":"Não consegui consultar seu pedido agora; um atendente vai ajudar."}}}}}}"#
    )
}

async fn allow_private(t: &TestApp, tenant: TenantId, allow: bool) {
    atende::actions::webhooks::set_allow_private_networks(&t.app, &Actor::Operator, tenant, allow).await.unwrap();
}

engine_test!(a_question_saves_the_cpf_into_the_contact_after_one_invalid_answer, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    with_flow(
        &t,
        demo,
        r#"{"start":"q","nodes":{
        "q":{"type":"question","text":"Qual é o seu CPF?","kind":"cpf_cnpj","save_as":"contact.cpf","next":"fim"},
        "fim":{"type":"close","text":"Obrigado, {{nome}}! CPF {{contact.cpf}} anotado."}}}"#,
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    assert_eq!(texts(&sim, 1).await, ["Qual é o seu CPF?"]);
    say(&t, &sim, "123.456.789-00").await;
    assert_eq!(texts(&sim, 2).await[1], "Não entendi. Informe um CPF ou CNPJ válido.");
    assert_eq!(ticket(&t).await.1, "bot");
    say(&t, &sim, "529.982.247-25").await;
    assert_eq!(texts(&sim, 3).await[2], "Obrigado, Maria! CPF 52998224725 anotado.");
    assert_eq!(ticket(&t).await.1, "closed");
    let fields: String = sqlx::query_scalar("SELECT custom_fields FROM contacts WHERE phone = $1")
        .bind(CUSTOMER)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    let fields: Value = serde_json::from_str(&fields).unwrap();
    assert_eq!(fields["cpf"], "52998224725");
    assert_eq!(t.count("contact_fields", &format!("tenant_id = {} AND field_key = 'cpf'", demo.0)).await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(
    a_menu_of_four_arrives_as_a_list_and_the_row_tapped_on_the_phone_picks_the_department,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let mut departments = Vec::new();
        for name in ["Vendas", "Suporte", "Financeiro", "Entregas"] {
            departments.push((t.department(demo, name).await, name.to_string()));
        }
        // More options than WhatsApp's three reply buttons: the menu goes as a list.
        let flow = department_menu("Com qual setor quer falar?", &departments);
        with_flow(&t, demo, &serde_json::to_string(&flow).unwrap()).await;
        let (sim, _) = t.simulator(demo).await;
        say(&t, &sim, "Oi").await;
        assert_eq!(texts(&sim, 1).await, ["Com qual setor quer falar?"]);

        // What the customer's phone page reads and draws: the list's button, then its rows.
        let http = reqwest::Client::new();
        let chat: Value = http
            .get(format!("{}/sim/conversations/{CUSTOMER}", sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = &chat["messages"][1]["list"];
        assert_eq!(list["button"], "Ver opções", "{chat}");
        let rows = list["sections"][0]["rows"].as_array().unwrap();
        let titles: Vec<&str> = rows.iter().map(|r| r["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Vendas", "Suporte", "Financeiro", "Entregas"]);
        // The tap the page makes on "Entregas": a list_reply webhook into Atende.
        let row = &rows[3];
        let tap = serde_json::json!({"wa_id": CUSTOMER, "name": "Maria", "type": "list_reply", "id": row["id"], "title": row["title"]});
        let answer: Value = http
            .post(format!("{}/sim/customer/send", sim.base_url()))
            .json(&tap)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], 200, "{answer}");
        eventually("the tap stored", || async {
            (t.count("messages", "direction = 'in' AND kind = 'list_reply' AND body = 'Entregas'").await == 1)
                .then_some(())
        })
        .await;
        settled(&t).await;
        let (_, status, department, _) = ticket(&t).await;
        assert_eq!((status.as_str(), department), ("waiting", Some(departments[3].0)));
        sim.shutdown().await;
    }
);

engine_test!(a_condition_sends_a_customer_who_mentions_the_boleto_to_finance, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let financeiro = t.department(demo, "Financeiro").await;
    with_flow(
        &t,
        demo,
        &format!(
            r#"{{"start":"c","nodes":{{
            "c":{{"type":"condition","test":"keyword","words":"boleto, segunda via","then":"fin","else":"menu"}},
            "fin":{{"type":"handoff","department":{financeiro},"text":"Vou te passar para o Financeiro."}},
            "menu":{{"type":"menu","text":"Como podemos ajudar?","options":[{{"label":"Financeiro","next":"fin"}}]}}}}}}"#
        ),
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Preciso da segunda via do BOLETO").await;
    assert_eq!(texts(&sim, 1).await, ["Vou te passar para o Financeiro."]);
    let (_, status, department, _) = ticket(&t).await;
    assert_eq!((status.as_str(), department), ("waiting", Some(financeiro)));
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_set_node_gives_the_ticket_a_tag_and_high_priority, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let suporte = t.department(demo, "Suporte").await;
    with_flow(
        &t,
        demo,
        &format!(
            r#"{{"start":"s","nodes":{{
            "s":{{"type":"set","tag":"VIP","priority":"high","department":{suporte},"next":"m"}},
            "m":{{"type":"message","text":"Um momento, por favor.","next":"h"}},
            "h":{{"type":"handoff"}}}}}}"#
        ),
    )
    .await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    assert_eq!(texts(&sim, 1).await, ["Um momento, por favor."]);
    let (id, status, department, priority) = ticket(&t).await;
    assert_eq!((status.as_str(), department, priority.as_str()), ("waiting", Some(suporte), "high"));
    let tags: Vec<String> = sqlx::query_scalar(
        "SELECT g.name FROM ticket_tags x JOIN tags g ON g.id = x.tag_id WHERE x.tenant_id = $1 AND x.ticket_id = $2",
    )
    .bind(demo.0)
    .bind(id)
    .fetch_all(t.app.db.reader())
    .await
    .unwrap();
    assert_eq!(tags, ["VIP"]);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(an_http_node_tells_the_order_status_and_closes_the_ticket, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let api = order_api().await;
    allow_private(&t, demo, true).await;
    with_flow(&t, demo, &order_flow(&api.url)).await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    assert_eq!(texts(&sim, 1).await, ["Qual é o número do pedido?"]);
    say(&t, &sim, "4512").await;
    assert_eq!(texts(&sim, 2).await[1], "Seu pedido está: enviado");
    assert_eq!(api.hits.load(Ordering::SeqCst), 1);
    assert_eq!(*api.last.lock().unwrap(), "4512");
    let (id, status, _, _) = ticket(&t).await;
    assert_eq!(status, "closed");
    assert_eq!(t.count("tickets", &format!("id = {id} AND bot_state IS NULL")).await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(an_http_node_to_a_private_address_takes_the_error_branch_unless_allowed, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let api = order_api().await;
    with_flow(&t, demo, &order_flow(&api.url)).await;
    let (sim, _) = t.simulator(demo).await;
    say(&t, &sim, "Oi").await;
    say(&t, &sim, "4512").await;
    assert_eq!(texts(&sim, 2).await[1], "Não consegui consultar seu pedido agora; um atendente vai ajudar.");
    assert_eq!(api.hits.load(Ordering::SeqCst), 0, "nothing reached the private address");
    assert_eq!(ticket(&t).await.1, "waiting");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(the_test_panel_runs_a_flow_without_writing_or_sending_anything, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let vendas = t.department(demo, "Vendas").await;
    let suporte = t.department(demo, "Suporte").await;
    let flow = serde_json::to_string(&department_menu(
        "Como podemos ajudar?",
        &[(vendas, "Vendas".into()), (suporte, "Suporte".into())],
    ))
    .unwrap();
    let admin = Actor::User(t.create_user(demo, "ana@demo.local", atende::domain::Role::Admin, "ana-password-1").await);
    let counts = || async {
        let jobs = "kind LIKE 'whatsapp%' OR kind LIKE 'automation%'";
        (t.count("messages", "1 = 1").await, t.count("tickets", "1 = 1").await, t.count("jobs", jobs).await)
    };
    let before = counts().await;
    let first = test_turn(&t.app, &admin, demo, &flow, None, "Oi").await.unwrap();
    assert_eq!(
        first.says,
        [Say::Choices { prompt: "Como podemos ajudar?".into(), options: vec!["Vendas".into(), "Suporte".into()] }]
    );
    assert!(first.outcome.is_none());
    let state = first.state.unwrap();
    let again = test_turn(&t.app, &admin, demo, &flow, Some(&state), "hã?").await.unwrap();
    assert!(matches!(&again.says[0], Say::Text(t) if t.starts_with("Não entendi")));
    let done = test_turn(&t.app, &admin, demo, &flow, Some(&state), "2").await.unwrap();
    assert_eq!(done.outcome.as_deref(), Some("Transferido para o setor Suporte"));
    assert!(done.state.is_none() && done.says.is_empty());
    // An HTTP node is called for real (here with private networks allowed).
    let api = order_api().await;
    allow_private(&t, demo, true).await;
    let order = order_flow(&api.url);
    let asked = test_turn(&t.app, &admin, demo, &order, None, "").await.unwrap();
    let told = test_turn(&t.app, &admin, demo, &order, asked.state.as_deref(), "77").await.unwrap();
    assert_eq!(told.says, [Say::Text("Seu pedido está: enviado".into())]);
    assert_eq!(told.outcome.as_deref(), Some("Atendimento encerrado"));
    assert!(told.notes.iter().any(|n| n.contains("/pedidos/77") && n.contains("HTTP 200")), "{:?}", told.notes);
    // Refusals: an invalid flow, an agent.
    let bad = r#"{"start":"x","nodes":{}}"#;
    assert_eq!(test_turn(&t.app, &admin, demo, bad, None, "").await.unwrap_err().code(), "invalid_flow");
    let agent = Actor::User(t.create_user(demo, "bia@demo.local", atende::domain::Role::Agent, "bia-password-1").await);
    assert!(matches!(
        test_turn(&t.app, &agent, demo, &flow, None, "").await,
        Err(atende::actions::ActionError::Forbidden)
    ));
    // Nothing was written or sent: no ticket, no message, no job.
    assert_eq!(counts().await, before);
    t.stop().await;
});
