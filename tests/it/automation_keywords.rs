//! Keyword rules end to end through the WhatsApp simulator: a complaint hands the ticket to
//! people at once with high priority and the chatbot stops; accents and case are ignored; a
//! whole-word rule does not fire inside another word, a "contains" one does; with people the
//! rule still raises the priority and tags, and replies once per ticket; one company's rules
//! never fire for another. On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::automation::{self, AutomationInput};
use atende::actions::keyword_rules;
use atende::actions::Actor;
use atende::domain::flow::department_menu;
use atende::domain::inbox::Priority;
use atende::domain::keyword_rules::{KeywordRule, MatchMode};
use atende::domain::TenantId;
use serde_json::Value;
use wa_sim::CustomerMessage;

use crate::automation::{department, eventually, settled, ALWAYS};
use crate::engine_test;
use crate::support::TestApp;

/// Automation with a Vendas/Suporte menu and no urgent words: only keyword rules react.
async fn configure(t: &TestApp, tenant: TenantId) -> (i64, i64) {
    let vendas = department(t, tenant, "Vendas").await;
    let suporte = department(t, tenant, "Suporte").await;
    let flow = department_menu("Como podemos ajudar?", &[(vendas, "Vendas".into()), (suporte, "Suporte".into())]);
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: "Olá!".into(),
        away_message: "Estamos fechados agora.".into(),
        flow: serde_json::to_string(&flow).unwrap(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, tenant, input).await.unwrap();
    (vendas, suporte)
}

fn complaint(suporte: Option<i64>) -> KeywordRule {
    KeywordRule {
        id: 0,
        words: "reclamação, procon, cancelar".into(),
        mode: MatchMode::Word,
        handoff: true,
        department_id: suporte,
        priority: Some(Priority::High),
        tag: "Reclamação".into(),
        reply: "Sentimos muito. Um atendente já vai falar com você.".into(),
    }
}

/// What the simulator sent to `phone`, once there are `n`.
async fn sent_to(sim: &wa_sim::Simulator, phone: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} messages to {phone}"), || async {
        let all: Vec<Value> =
            sim.sent_messages().into_iter().map(|m| m.request).filter(|r| r["to"].as_str() == Some(phone)).collect();
        (all.len() >= n).then_some(all)
    })
    .await
}

fn texts(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r["text"]["body"].as_str().or(r["interactive"]["body"]["text"].as_str()).unwrap_or_default().to_string()
        })
        .collect()
}

/// (id, status, department, priority, bot_state) of the phone's ticket.
async fn ticket_of(t: &TestApp, phone: &str) -> (i64, String, Option<i64>, String, Option<String>) {
    eventually("the ticket", || async {
        sqlx::query_as::<_, (i64, String, Option<i64>, String, Option<String>)>(
            "SELECT t.id, t.status, t.department_id, t.priority, t.bot_state FROM tickets t
             JOIN contacts c ON c.id = t.contact_id WHERE c.phone = $1",
        )
        .bind(phone)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

async fn tagged(t: &TestApp, ticket: i64, name: &str) -> bool {
    let sql =
        format!("ticket_id = {ticket} AND tag_id IN (SELECT id FROM tags WHERE name = '{}')", name.replace('\'', "''"));
    t.count("ticket_tags", &sql).await == 1
}

async fn say(t: &TestApp, sim: &wa_sim::Simulator, phone: &str, text: &str) {
    sim.customer_sends(phone, "Cliente", CustomerMessage::Text(text.into())).await.unwrap();
    // The message is stored (and its job enqueued) before the webhook is answered.
    settled(t).await;
}

engine_test!(a_complaint_goes_to_a_person_at_once_with_high_priority_and_the_bot_stops, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (_, suporte) = configure(&t, demo).await;
    keyword_rules::save(&t.app, &Actor::Operator, demo, vec![complaint(Some(suporte))]).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    let maria = "5511987650001";
    say(&t, &sim, maria, "Oi").await;
    assert_eq!(texts(&sent_to(&sim, maria, 2).await), ["Olá!", "Como podemos ajudar?"]);
    assert_eq!(ticket_of(&t, maria).await.1, "bot");
    say(&t, &sim, maria, "Quero fazer uma RECLAMAÇÃO!").await;
    let all = sent_to(&sim, maria, 4).await;
    assert_eq!(
        texts(&all[2..]),
        ["Sentimos muito. Um atendente já vai falar com você.", "Você está no setor Suporte."],
        "the rule's reply, then the department's greeting; no menu"
    );
    let (id, status, department, priority, state) = ticket_of(&t, maria).await;
    assert_eq!((status.as_str(), department, priority.as_str(), state), ("waiting", Some(suporte), "high", None));
    assert!(tagged(&t, id, "Reclamação").await);
    // The bot stopped: an answer to the old menu gets nothing, and the complaint again no second
    // reply.
    say(&t, &sim, maria, "2").await;
    say(&t, &sim, maria, "reclamacao de novo").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_to(&sim, maria, 4).await.len(), 4);
    assert_eq!(ticket_of(&t, maria).await.1, "waiting");

    // Accents and case ignored, on a brand new ticket: no greeting, straight to people.
    let joao = "5511987650002";
    say(&t, &sim, joao, "vou no procon!!").await;
    sent_to(&sim, joao, 2).await;
    let (_, status, _, priority, _) = ticket_of(&t, joao).await;
    assert_eq!((status.as_str(), priority.as_str()), ("waiting", "high"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        texts(&sent_to(&sim, joao, 2).await),
        ["Sentimos muito. Um atendente já vai falar com você.", "Você está no setor Suporte."],
        "no greeting, no menu"
    );

    // A whole word only: "cancelaram" is not "cancelar"; the chatbot goes on.
    let ana = "5511987650003";
    say(&t, &sim, ana, "Oi").await;
    sent_to(&sim, ana, 2).await;
    say(&t, &sim, ana, "cancelaram meu pedido").await;
    let again = sent_to(&sim, ana, 4).await;
    assert!(texts(&again)[2].contains("Não entendi"), "{again:?}");
    let (_, status, _, priority, _) = ticket_of(&t, ana).await;
    assert_eq!((status.as_str(), priority.as_str()), ("bot", "normal"));
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(contains_and_exact_rules_and_a_ticket_already_with_a_person, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (vendas, _) = configure(&t, demo).await;
    // A menu that asks again and again: only the rules move the ticket on.
    let patient = format!(
        r#"{{"start":"m","nodes":{{"m":{{"type":"menu","text":"Escolha","options":[{{"label":"Vendas","next":"v"}}],"retries":9}},"v":{{"type":"handoff","department":{vendas}}}}}}}"#
    );
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: "Olá!".into(),
        away_message: String::new(),
        flow: patient,
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap();
    let rules = vec![
        // A tag only: the chatbot goes on.
        KeywordRule {
            id: 0,
            words: "estorn".into(),
            mode: MatchMode::Contains,
            handoff: false,
            department_id: None,
            priority: None,
            tag: "Estorno".into(),
            reply: String::new(),
        },
        KeywordRule {
            id: 0,
            words: "advogado".into(),
            mode: MatchMode::Word,
            handoff: true,
            department_id: None,
            priority: Some(Priority::Urgent),
            tag: String::new(),
            reply: "Vamos tratar do seu caso com prioridade.".into(),
        },
        KeywordRule {
            id: 0,
            words: "atendente".into(),
            mode: MatchMode::Exact,
            handoff: true,
            department_id: None,
            priority: None,
            tag: String::new(),
            reply: String::new(),
        },
    ];
    keyword_rules::save(&t.app, &Actor::Operator, demo, rules).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    let maria = "5511987650011";
    say(&t, &sim, maria, "Oi").await;
    sent_to(&sim, maria, 2).await;
    say(&t, &sim, maria, "quero um ESTORNO").await;
    let (id, status, ..) = ticket_of(&t, maria).await;
    assert_eq!(status, "bot", "a tag-only rule leaves the chatbot on");
    assert!(tagged(&t, id, "Estorno").await);
    // "quero um atendente" is not the exact message "atendente".
    say(&t, &sim, maria, "quero um atendente").await;
    assert_eq!(ticket_of(&t, maria).await.1, "bot");
    say(&t, &sim, maria, " Atendente! ").await;
    assert_eq!(ticket_of(&t, maria).await.1, "waiting");
    // With a person: the priority still rises, the reply goes once, nothing else is said.
    let admin = t.create_user(demo, "ana@demo.local", atende::domain::Role::Admin, "ana-password-1").await;
    atende::actions::inbox::capture(&t.app, &Actor::User(admin), demo, id).await.unwrap();
    let before = sim.sent_messages().len();
    say(&t, &sim, maria, "meu advogado vai ligar").await;
    let (_, status, _, priority, _) = ticket_of(&t, maria).await;
    assert_eq!((status.as_str(), priority.as_str()), ("open", "urgent"));
    assert_eq!(texts(&sent_to(&sim, maria, before + 1).await)[before], "Vamos tratar do seu caso com prioridade.");
    say(&t, &sim, maria, "o advogado de novo").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_messages().len(), before + 1, "one reply per ticket");
    assert_eq!(ticket_of(&t, maria).await.1, "open", "still with the agent");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(one_company_s_keyword_rules_never_fire_for_another, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("outra").await;
    configure(&t, demo).await;
    configure(&t, other).await;
    keyword_rules::save(&t.app, &Actor::Operator, demo, vec![complaint(None)]).await.unwrap();
    let config = wa_sim::SimConfig { phone_number_id: "200000000000002".into(), ..wa_sim::SimConfig::default() };
    let (sim, _) = t.simulator_with(other, "WhatsApp", config).await;
    let maria = "5511987650021";
    say(&t, &sim, maria, "quero fazer uma reclamação").await;
    assert_eq!(texts(&sent_to(&sim, maria, 2).await), ["Olá!", "Como podemos ajudar?"]);
    let (_, status, _, priority, _) = ticket_of(&t, maria).await;
    assert_eq!((status.as_str(), priority.as_str()), ("bot", "normal"));
    assert!(keyword_rules::list(&t.app, &Actor::Operator, other).await.unwrap().is_empty());
    // An admin of one company cannot save rules naming another's department.
    let suporte_of_other = atende::store::departments::list(t.app.db.reader(), other).await.unwrap()[0].id;
    let e =
        keyword_rules::save(&t.app, &Actor::Operator, demo, vec![complaint(Some(suporte_of_other))]).await.unwrap_err();
    assert_eq!(e.code(), "unknown_department");
    assert_eq!(keyword_rules::list(&t.app, &Actor::Operator, demo).await.unwrap().len(), 1, "nothing half-saved");
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(the_automation_page_edits_keyword_rules_and_department_hours, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let (_, suporte) = configure(&t, demo).await;
    let admin = t.login_demo_admin().await;
    let html = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Regras por palavra-chave") && html.contains("Horário por setor"));
    assert!(html.contains("segue o horário da empresa"));
    let csrf = crate::support::extract_csrf(&html);
    let form: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("id_0", "0".into()),
        ("words_0", "reclamação, <procon>".into()),
        ("mode_0", "word".into()),
        ("handoff_0", "1".into()),
        ("department_0", suporte.to_string()),
        ("priority_0", "high".into()),
        ("tag_0", "Reclamação".into()),
        ("reply_0", "Já vamos atender".into()),
        ("id_1", "0".into()),
        ("words_1", String::new()),
        ("mode_1", "word".into()),
    ];
    let saved = admin.post(t.url("/admin/automation/keywords")).form(&form).send().await.unwrap();
    assert_eq!(saved.status(), 303);
    let stored = keyword_rules::list(&t.app, &Actor::Operator, demo).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].department_id, stored[0].priority), (Some(suporte), Some(Priority::High)));
    let html = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("reclamação, &#60;procon&#62;"), "stored words shown, escaped");
    // A rule that does nothing is refused with what was typed; the stored one stays.
    let mut bad = form.clone();
    bad.retain(|(k, _)| !["handoff_0", "priority_0", "tag_0", "reply_0", "department_0"].contains(k));
    let refused = admin.post(t.url("/admin/automation/keywords")).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("reclamação, &#60;procon&#62;"));
    assert_eq!(keyword_rules::list(&t.app, &Actor::Operator, demo).await.unwrap(), stored);
    // English too.
    let english = admin
        .get(t.url("/admin/automation"))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Keyword rules") && english.contains("Hours per department"));

    // Suporte's own hours: saved, shown, refused when bad (nothing saved), cleared to follow.
    let mut hours: Vec<(&str, String)> = vec![("csrf", csrf.clone())];
    for (i, day) in ["day0", "day1", "day2", "day3", "day4", "day5", "day6"].into_iter().enumerate() {
        hours.push((day, if i < 6 { "07:00-22:00".into() } else { String::new() }));
    }
    let url = t.url(&format!("/admin/automation/departments/{suporte}/hours"));
    assert_eq!(admin.post(&url).form(&hours).send().await.unwrap().status(), 303);
    let own = atende::store::departments::hours(t.app.db.reader(), demo, suporte).await.unwrap().unwrap();
    assert!(own.contains("420"), "{own}");
    let html = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("horário próprio") && html.contains("07:00–22:00"));
    let mut bad = hours.clone();
    bad[1].1 = "22:00-07:00".into();
    let refused = admin.post(&url).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("22:00-07:00"));
    assert_eq!(atende::store::departments::hours(t.app.db.reader(), demo, suporte).await.unwrap().unwrap(), own);
    // Another company's department is not found from this one.
    let other = t.create_tenant("outra").await;
    let foreign = crate::automation::department(&t, other, "Deles").await;
    let foreign_url = t.url(&format!("/admin/automation/departments/{foreign}/hours"));
    assert_eq!(admin.post(&foreign_url).form(&hours).send().await.unwrap().status(), 404);
    assert_eq!(atende::store::departments::hours(t.app.db.reader(), other, foreign).await.unwrap().unwrap(), "");
    let cleared: Vec<(&str, String)> =
        hours.iter().map(|(k, v)| (*k, if *k == "csrf" { v.clone() } else { String::new() })).collect();
    assert_eq!(admin.post(&url).form(&cleared).send().await.unwrap().status(), 303);
    assert_eq!(atende::store::departments::hours(t.app.db.reader(), demo, suporte).await.unwrap().unwrap(), "");
    t.stop().await;
});
