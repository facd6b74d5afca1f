//! Automation end to end through the WhatsApp simulator: a customer's first message meets the
//! greeting and the chatbot's menu (reply buttons on the Cloud API); tapping "Suporte" hands the
//! ticket to Suporte with its greeting; an unclear answer is asked again once, then people take
//! over; outside business hours (and on Good Friday 2027) the away message goes once; the
//! business's own messages never trigger anything; an agent who takes the ticket stops the bot.
//! On SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use atende::actions::automation::{self, AutomationInput};
use atende::actions::departments::{self, DepartmentInput};
use atende::actions::Actor;
use atende::domain::flow::department_menu;
use atende::domain::inbox::DistributionMode;
use atende::domain::TenantId;
use chrono::Datelike;
use serde_json::Value;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::TestApp;

pub(crate) const CUSTOMER: &str = "5511987654321";

pub(crate) async fn department(t: &TestApp, tenant: TenantId, name: &str) -> i64 {
    let input = DepartmentInput {
        name: name.into(),
        colour: "#0f766e".into(),
        greeting: format!("Você está no setor {name}."),
        sign_messages: false,
        distribution_mode: DistributionMode::Off,
    };
    departments::create_department(&t.app, &Actor::Operator, tenant, input).await.unwrap().id
}

/// Automation with a Vendas/Suporte menu; `days` per weekday (Monday first).
async fn configure(t: &TestApp, tenant: TenantId, days: [&str; 7]) -> (i64, i64) {
    let vendas = department(t, tenant, "Vendas").await;
    let suporte = department(t, tenant, "Suporte").await;
    let flow = department_menu("Como podemos ajudar?", &[(vendas, "Vendas".into()), (suporte, "Suporte".into())]);
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: days.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: "Olá, {{nome}}!".into(),
        away_message: "Estamos fechados agora.".into(),
        flow: serde_json::to_string(&flow).unwrap(),
        urgent_words: "reclamação, procon".into(),
        handoff_after: 4,
    };
    automation::save(&t.app, &Actor::Operator, tenant, input).await.unwrap();
    (vendas, suporte)
}

pub(crate) const ALWAYS: [&str; 7] = ["00:00-24:00"; 7];

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

/// The requests the simulator received, once there are `n`.
pub(crate) async fn sent(sim: &wa_sim::Simulator, n: usize) -> Vec<Value> {
    eventually(&format!("{n} messages at the simulator"), || async {
        let all: Vec<Value> = sim.sent_messages().into_iter().map(|m| m.request).collect();
        (all.len() >= n).then_some(all)
    })
    .await
}

pub(crate) async fn ticket(t: &TestApp) -> (i64, String, Option<i64>) {
    eventually("the ticket", || async {
        sqlx::query_as::<_, (i64, String, Option<i64>)>(
            "SELECT t.id, t.status, t.department_id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = $1",
        )
        .bind(CUSTOMER)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

pub(crate) async fn settled(t: &TestApp) {
    eventually("the automation jobs to finish", || async {
        (t.count("jobs", "kind = 'automation.inbound' AND state <> 'done'").await == 0).then_some(())
    })
    .await;
}

engine_test!(the_chatbot_greets_offers_a_menu_and_hands_the_ticket_to_the_department_chosen, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (_, suporte) = configure(&t, demo, ALWAYS).await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    let first = sent(&sim, 2).await;
    assert_eq!(first[0]["text"]["body"], "Olá, Maria!");
    assert_eq!(first[1]["type"], "interactive");
    assert_eq!(first[1]["interactive"]["body"]["text"], "Como podemos ajudar?");
    let titles: Vec<&str> = first[1]["interactive"]["action"]["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reply"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Vendas", "Suporte"]);
    let (id, status, _) = ticket(&t).await;
    assert_eq!(status, "bot");
    settled(&t).await;
    // Supervisors see it under Chatbot, not under Em espera.
    let admin = t.login_demo_admin().await;
    let list = |tab: &'static str| {
        let admin = admin.clone();
        let url = t.url(&format!("/inbox?tab={tab}&part=list"));
        async move { admin.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(list("bot").await.contains("Maria"));
    assert!(!list("waiting").await.contains("Maria"));

    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::ButtonReply { id: "opt-2".into(), title: "Suporte".into() })
        .await
        .unwrap();
    let after = sent(&sim, 3).await;
    assert_eq!(after[2]["text"]["body"], "Você está no setor Suporte.");
    settled(&t).await;
    assert_eq!(ticket(&t).await, (id, "waiting".into(), Some(suporte)));
    // Handed to people: a later message gets no automatic answer.
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Alguém aí?".into())).await.unwrap();
    settled(&t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_messages().len(), 3);
    assert_eq!(t.count("messages", &format!("ticket_id = {id} AND origin = 'bot'")).await, 3);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(an_unclear_answer_is_asked_again_once_then_people_take_over, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    configure(&t, demo, ALWAYS).await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    sent(&sim, 2).await;
    settled(&t).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("quanto custa?".into())).await.unwrap();
    let again = sent(&sim, 4).await;
    assert!(again[2]["text"]["body"].as_str().unwrap().contains("Não entendi"), "{again:?}");
    assert_eq!(again[3]["type"], "interactive");
    settled(&t).await;
    assert_eq!(ticket(&t).await.1, "bot");
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("hã".into())).await.unwrap();
    settled(&t).await;
    let (_, status, department) = ticket(&t).await;
    assert_eq!((status.as_str(), department), ("waiting", None));
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(outside_hours_the_away_message_goes_once, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    // Open only on a day three days from today (São Paulo time): closed now.
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::Sao_Paulo).weekday().num_days_from_monday();
    let mut days = [""; 7];
    days[((today + 3) % 7) as usize] = "08:00-18:00";
    configure(&t, demo, days).await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    let away = sent(&sim, 1).await;
    assert_eq!(away[0]["text"]["body"], "Estamos fechados agora.");
    settled(&t).await;
    assert_eq!(ticket(&t).await.1, "waiting");
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Olá?".into())).await.unwrap();
    settled(&t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_messages().len(), 1, "the away message goes once per ticket");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(good_friday_2027_is_closed_and_the_business_s_own_messages_trigger_nothing, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    configure(&t, demo, ["08:00-18:00", "08:00-18:00", "08:00-18:00", "08:00-18:00", "08:00-18:00", "", ""]).await;
    // Friday 26 March 2027, 10:00 in São Paulo: a weekday within hours, but Good Friday.
    let good_friday = 1_806_066_000_000_i64;
    let ahead = Duration::from_millis((good_friday - t.app.clock.now_ms()) as u64);
    t.app.clock.advance(ahead);
    let (sim, _) = t.simulator(demo).await;
    sim.advance_clock(ahead);
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Vocês abrem hoje?".into())).await.unwrap();
    let away = sent(&sim, 1).await;
    assert_eq!(away[0]["text"]["body"], "Estamos fechados agora.");
    settled(&t).await;
    // The bot's own message is not an inbound one: no job for it, and nothing more was said.
    assert_eq!(t.count("jobs", "kind = 'automation.inbound'").await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(an_agent_who_takes_a_ticket_from_the_chatbot_stops_it, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    configure(&t, demo, ALWAYS).await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    sent(&sim, 2).await;
    settled(&t).await;
    let (id, _, _) = ticket(&t).await;
    let admin = t.create_user(demo, "ana@demo.local", atende::domain::Role::Admin, "ana-password-1").await;
    let actor = Actor::User(admin);
    atende::actions::inbox::capture(&t.app, &actor, demo, id).await.unwrap();
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("2".into())).await.unwrap();
    settled(&t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_messages().len(), 2, "the bot said nothing more");
    assert_eq!(ticket(&t).await.1, "open");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_complaint_goes_to_people_at_once_with_high_priority, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    configure(&t, demo, ALWAYS).await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    sent(&sim, 2).await;
    settled(&t).await;
    sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text("Quero fazer uma RECLAMAÇÃO!".into())).await.unwrap();
    settled(&t).await;
    let (id, status, department) = ticket(&t).await;
    assert_eq!((status.as_str(), department), ("waiting", None));
    assert_eq!(t.count("tickets", &format!("id = {id} AND priority = 'high'")).await, 1);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(a_customer_still_in_the_chatbot_after_four_messages_goes_to_people, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let vendas = department(&t, demo, "Vendas").await;
    // A menu that loops back to itself on any answer: only the hand-off after N ends it.
    let flow = format!(
        r#"{{"start":"m","nodes":{{"m":{{"type":"menu","text":"Escolha","options":[{{"label":"Vendas","next":"v"}}],"retries":9}},"v":{{"type":"handoff","department":{vendas}}}}}}}"#
    );
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow,
        urgent_words: String::new(),
        handoff_after: 4,
    };
    automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    for text in ["Oi", "hein", "?", "ok"] {
        sim.customer_sends(CUSTOMER, "Maria", CustomerMessage::Text(text.into())).await.unwrap();
        settled(&t).await;
    }
    assert_eq!(ticket(&t).await.1, "waiting", "the fourth message hands the ticket over");
    sim.shutdown().await;
    t.stop().await;
});

#[test]
fn good_friday_2027_is_the_instant_the_test_uses() {
    let at = chrono::DateTime::from_timestamp_millis(1_806_066_000_000).unwrap();
    assert_eq!(
        at.with_timezone(&chrono_tz::America::Sao_Paulo).format("%Y-%m-%d %H:%M").to_string(),
        "2027-03-26 10:00"
    );
}

engine_test!(an_invalid_flow_is_refused_with_the_node_named, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow:
            r#"{"start":"menu","nodes":{"menu":{"type":"menu","text":"Oi","options":[{"label":"A","next":"nada"}]}}}"#
                .into(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    let e = automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap_err();
    assert_eq!(e.code(), "invalid_flow");
    assert!(e.to_string().contains("menu") && e.to_string().contains("nada"), "{e}");
    let bad_tz = AutomationInput {
        enabled: true,
        time_zone: "Mars/Olympus".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow: String::new(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    assert_eq!(automation::save(&t.app, &Actor::Operator, demo, bad_tz).await.unwrap_err().code(), "invalid_time_zone");
    t.stop().await;
});

engine_test!(the_automation_page_saves_hours_holidays_and_messages, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let admin = t.login_demo_admin().await;
    let html = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Horário de atendimento") && html.contains("Sexta-feira Santa"),
        "the next closures list national holidays"
    );
    let csrf = crate::support::extract_csrf(&html);
    let mut form: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("enabled", "1".into()),
        ("time_zone", "America/Sao_Paulo".into()),
        ("holiday", "carnival_monday".into()),
        ("holiday", "carnival_tuesday".into()),
        ("greeting", "Oi <b>{{nome}}</b>".into()),
        ("away_message", "Voltamos às 8h.".into()),
        ("flow", String::new()),
    ];
    for i in 0..7 {
        form.push((
            ["day0", "day1", "day2", "day3", "day4", "day5", "day6"][i],
            if i < 5 { "08:00-12:00, 13:30-18:00".into() } else { String::new() },
        ));
    }
    let saved = admin.post(t.url("/admin/automation")).form(&form).send().await.unwrap();
    assert_eq!(saved.status(), 303);
    let a = atende::store::automation::get(t.app.db.reader(), demo).await.unwrap();
    assert!(a.enabled && a.chatbot_id.is_none());
    assert!(a.calendar.contains("carnival_monday") && a.calendar.contains("carnival_tuesday"));
    let html = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("08:00–12:00, 13:30–18:00") && html.contains("Oi &#60;b&#62;{{nome}}&#60;/b&#62;"),
        "saved values shown, escaped"
    );
    assert!(html.contains("Carnaval"), "the optional holidays join the closures");
    // A bad interval is refused next to what was typed; nothing is saved.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "day0");
    bad.push(("day0", "18:00-08:00".into()));
    let refused = admin.post(t.url("/admin/automation")).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("18:00-08:00"));
    // A flow with a dangling option is refused naming the node and the missing target.
    let mut bad_flow = form.clone();
    bad_flow.retain(|(k, _)| *k != "flow");
    bad_flow.push((
        "flow",
        r#"{"start":"inicio","nodes":{"inicio":{"type":"menu","text":"Oi","options":[{"label":"A","next":"sumiu"}]}}}"#
            .into(),
    ));
    let refused = admin.post(t.url("/admin/automation")).form(&bad_flow).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    let alert = text.split("role=\"alert\">").nth(1).and_then(|a| a.split("</p>").next()).unwrap_or_default();
    assert!(alert.contains("inicio") && alert.contains("sumiu"), "{alert}");
    t.stop().await;
});
