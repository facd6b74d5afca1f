//! Loop safety end to end: two companies' chatbots, each a customer of the other. A relay reads
//! what each simulator received from Atende (`GET /sim/conversations/…`) and has the other
//! simulator's customer phone write it (`POST /sim/customer/send`, a signed webhook), so every
//! hop is real HTTP. Each bot re-asks its menu on every answer it does not understand, so only
//! the cap on automatic messages per ticket can end the exchange: each ticket stops at or under
//! `MAX_AUTOMATIC_PER_10_MIN`, goes to people, and nothing more is said — not even once the
//! ten-minute window has passed. On SQLite and PostgreSQL.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use atende::actions::automation::{self, AutomationInput, MAX_AUTOMATIC_PER_10_MIN};
use atende::actions::Actor;
use atende::domain::TenantId;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

/// A menu no other bot can answer: whatever it hears is re-asked (200 times, more than the cap
/// allows), and only a real choice would hand the ticket over.
const STUBBORN_FLOW: &str = r#"{"start":"menu","nodes":{
    "menu":{"type":"menu","text":"Escolha uma opção:","retries":200,
            "invalid":"Não entendi. Escolha uma das opções.",
            "options":[{"label":"Vendas","next":"pessoas"},{"label":"Suporte","next":"pessoas"}]},
    "pessoas":{"type":"handoff"}}}"#;

/// One company's bot: its tenant, its simulator, and the number it shows to customers.
struct Bot {
    tenant: TenantId,
    sim: wa_sim::Simulator,
    number: &'static str,
}

async fn bot(t: &TestApp, slug: &str, number: &'static str, phone_number_id: &str) -> Bot {
    let tenant = t.create_tenant(slug).await;
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ["00:00-24:00"; 7].map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: format!("Olá! Aqui é o robô da {slug}."),
        away_message: String::new(),
        flow: STUBBORN_FLOW.into(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, tenant, input).await.unwrap();
    let config = wa_sim::SimConfig {
        phone_number_id: phone_number_id.into(),
        display_phone_number: number.into(),
        // Sent and delivered at once, never read: statuses stay out of the way.
        status_delays_ms: (0, 0, u64::MAX),
        ..wa_sim::SimConfig::default()
    };
    let (sim, _) = t.simulator_with(tenant, "WhatsApp", config).await;
    Bot { tenant, sim, number }
}

/// Over HTTP: the messages `from`'s simulator received from Atende for `to`'s number, each as
/// (wamid, what the customer's phone shows).
async fn sent_to(http: &reqwest::Client, from: &Bot, to: &Bot) -> Vec<(String, String)> {
    let url = format!("{}/sim/conversations/{}", from.sim.base_url(), to.number);
    let chat: Value = http.get(url).send().await.unwrap().json().await.unwrap();
    chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["text"].as_str().unwrap_or_default().to_string()))
        .collect()
}

/// Over HTTP: `from`'s number writes `text` to `to`'s company, through `to`'s simulator.
async fn write_as(http: &reqwest::Client, from: &Bot, to: &Bot, text: &str) {
    let body = json!({ "wa_id": from.number, "name": "Robô", "type": "text", "text": text });
    let answer: Value = http
        .post(format!("{}/sim/customer/send", to.sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], 200, "the webhook was refused: {answer}");
}

/// Relays every message each bot sent to the other and `relayed` does not hold yet, until
/// nothing moved for `quiet` (no new message and no automation or send job left); returns how
/// many it relayed.
async fn relay_until_quiet(t: &TestApp, a: &Bot, b: &Bot, relayed: &mut HashSet<String>, quiet: Duration) -> usize {
    let http = reqwest::Client::new();
    let before = relayed.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last_move = Instant::now();
    loop {
        for (from, to) in [(a, b), (b, a)] {
            for (id, text) in sent_to(&http, from, to).await {
                if relayed.insert(id) {
                    write_as(&http, from, to, &text).await;
                    last_move = Instant::now();
                }
            }
        }
        let busy = t.count("jobs", "kind IN ('automation.inbound', 'whatsapp.send') AND state <> 'done'").await;
        if busy > 0 {
            last_move = Instant::now();
        } else if last_move.elapsed() >= quiet {
            return relayed.len() - before;
        }
        assert!(Instant::now() < deadline, "the bots never stopped: {} messages relayed", relayed.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The company's one ticket: id, status and how many automatic messages it got.
async fn the_ticket(t: &TestApp, tenant: TenantId) -> (i64, String, i64) {
    let tickets: Vec<(i64, String)> = sqlx::query_as("SELECT id, status FROM tickets WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(t.app.db.reader())
        .await
        .unwrap();
    assert_eq!(tickets.len(), 1, "one conversation, one ticket: {tickets:?}");
    let (id, status) = tickets[0].clone();
    let automatic = t.count("messages", &format!("ticket_id = {id} AND origin = 'bot'")).await;
    (id, status, automatic)
}

engine_test!(two_bots_writing_to_each_other_through_the_simulator_stop_within_the_cap, |t: TestApp| async move {
    let a = bot(&t, "loja-a", "5511955550101", "100000000000101").await;
    let b = bot(&t, "loja-b", "5511955550202", "100000000000202").await;
    // Someone writes from B's number to A; from then on only the bots talk.
    write_as(&reqwest::Client::new(), &b, &a, "Oi").await;
    let mut seen = HashSet::new();
    let relayed = relay_until_quiet(&t, &a, &b, &mut seen, Duration::from_secs(2)).await;

    let mut total = 0;
    for (name, company) in [("A", &a), ("B", &b)] {
        let (ticket, status, automatic) = the_ticket(&t, company.tenant).await;
        assert!(automatic <= MAX_AUTOMATIC_PER_10_MIN, "bot {name} sent {automatic} automatic messages");
        // Greeting and menu, then two per re-ask: the bots talked until one more answer would
        // have passed the cap (nothing else could stop them earlier).
        assert!(automatic > MAX_AUTOMATIC_PER_10_MIN - 2, "bot {name} sent only {automatic}: stopped before the cap");
        assert!(
            matches!(status.as_str(), "waiting" | "open"),
            "bot {name}'s ticket {ticket} is {status}, not with people"
        );
        total += automatic;
    }
    assert_eq!(relayed as i64, total, "everything the bots said went across, and nothing else was said");

    // Past the ten-minute window nothing starts again: the tickets are with people.
    t.app.clock.advance(Duration::from_secs(11 * 60));
    write_as(&reqwest::Client::new(), &b, &a, "Ainda está aí?").await;
    let more = relay_until_quiet(&t, &a, &b, &mut seen, Duration::from_secs(1)).await;
    assert_eq!(more, 0, "a ticket with people gets no automatic answer");
    for company in [&a, &b] {
        assert!(the_ticket(&t, company.tenant).await.2 <= MAX_AUTOMATIC_PER_10_MIN);
    }
    a.sim.shutdown().await;
    b.sim.shutdown().await;
});
