//! Business hours per department, end to end through the WhatsApp simulator: a department with
//! its own week that is closed while the company is open gets the away message when the chatbot
//! hands a ticket to it (a department that follows the company does not); a ticket that starts
//! in a closed department gets it at once; the flow's "business hours" condition reads the
//! ticket's department. On SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::automation::{self, AutomationInput};
use atende::actions::Actor;
use atende::domain::flow::department_menu;
use atende::domain::TenantId;
use chrono::Datelike;
use serde_json::Value;
use wa_sim::CustomerMessage;

use crate::automation::{department, eventually, settled, ALWAYS};
use crate::engine_test;
use crate::support::TestApp;

/// Open only on a day three days from today (São Paulo time): closed now.
fn closed_now() -> [String; 7] {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::Sao_Paulo).weekday().num_days_from_monday();
    let mut days: [String; 7] = Default::default();
    days[((today + 3) % 7) as usize] = "08:00-18:00".into();
    days
}

async fn save(t: &TestApp, tenant: TenantId, flow: String) {
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: ALWAYS.map(str::to_string),
        optional_holidays: Vec::new(),
        greeting: "Olá!".into(),
        away_message: "Estamos fechados agora.".into(),
        flow,
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, tenant, input).await.unwrap();
}

async fn sent_to(sim: &wa_sim::Simulator, phone: &str, n: usize) -> Vec<String> {
    eventually(&format!("{n} messages to {phone}"), || async {
        let all: Vec<String> = sim
            .sent_messages()
            .into_iter()
            .map(|m| m.request)
            .filter(|r: &Value| r["to"].as_str() == Some(phone))
            .map(|r| {
                r["text"]["body"].as_str().or(r["interactive"]["body"]["text"].as_str()).unwrap_or_default().to_string()
            })
            .collect();
        (all.len() >= n).then_some(all)
    })
    .await
}

async fn status_of(t: &TestApp, phone: &str) -> (String, Option<i64>) {
    eventually("the ticket", || async {
        sqlx::query_as::<_, (String, Option<i64>)>(
            "SELECT t.status, t.department_id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.phone = $1",
        )
        .bind(phone)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

engine_test!(
    a_department_outside_its_own_hours_gets_the_away_message_while_the_company_is_open,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let vendas = department(&t, demo, "Vendas").await;
        let suporte = department(&t, demo, "Suporte").await;
        let flow = department_menu("Como podemos ajudar?", &[(vendas, "Vendas".into()), (suporte, "Suporte".into())]);
        save(&t, demo, serde_json::to_string(&flow).unwrap()).await;
        automation::save_department_hours(&t.app, &Actor::Operator, demo, suporte, &closed_now()).await.unwrap();
        let (sim, _) = t.simulator(demo).await;
        let maria = "5511987650101";
        sim.customer_sends(maria, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
        assert_eq!(sent_to(&sim, maria, 2).await, ["Olá!", "Como podemos ajudar?"], "the company is open");
        settled(&t).await;
        sim.customer_sends(
            maria,
            "Maria",
            CustomerMessage::ButtonReply { id: "opt-2".into(), title: "Suporte".into() },
        )
        .await
        .unwrap();
        let all = sent_to(&sim, maria, 4).await;
        assert_eq!(all[2..], ["Você está no setor Suporte.", "Estamos fechados agora."]);
        settled(&t).await;
        assert_eq!(status_of(&t, maria).await, ("waiting".into(), Some(suporte)));
        // Vendas follows the company's hours: open, no away message.
        let joao = "5511987650102";
        sim.customer_sends(joao, "João", CustomerMessage::Text("Oi".into())).await.unwrap();
        sent_to(&sim, joao, 2).await;
        settled(&t).await;
        sim.customer_sends(joao, "João", CustomerMessage::ButtonReply { id: "opt-1".into(), title: "Vendas".into() })
            .await
            .unwrap();
        sent_to(&sim, joao, 3).await;
        settled(&t).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sent_to(&sim, joao, 3).await[2..], ["Você está no setor Vendas."]);
        sim.shutdown().await;
        t.stop().await;
    }
);

engine_test!(a_ticket_starting_in_a_closed_department_gets_the_away_message_once, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let suporte = department(&t, demo, "Suporte").await;
    // No chatbot: new tickets wait for people in the connection's department.
    save(&t, demo, String::new()).await;
    automation::save_department_hours(&t.app, &Actor::Operator, demo, suporte, &closed_now()).await.unwrap();
    let (sim, conn) = t.simulator(demo).await;
    atende::actions::departments::set_connection_department(&t.app, &Actor::Operator, demo, conn, Some(suporte))
        .await
        .unwrap();
    let maria = "5511987650111";
    sim.customer_sends(maria, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    assert_eq!(sent_to(&sim, maria, 1).await, ["Estamos fechados agora."]);
    settled(&t).await;
    assert_eq!(status_of(&t, maria).await, ("waiting".into(), Some(suporte)));
    sim.customer_sends(maria, "Maria", CustomerMessage::Text("Olá?".into())).await.unwrap();
    settled(&t).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_to(&sim, maria, 1).await.len(), 1, "once per ticket");
    // Back to the company's hours: the next customer gets the greeting.
    automation::save_department_hours(&t.app, &Actor::Operator, demo, suporte, &Default::default()).await.unwrap();
    let joao = "5511987650112";
    sim.customer_sends(joao, "João", CustomerMessage::Text("Oi".into())).await.unwrap();
    assert_eq!(sent_to(&sim, joao, 1).await, ["Olá!"]);
    sim.shutdown().await;
    t.stop().await;
});

engine_test!(the_flow_s_business_hours_condition_reads_the_ticket_s_department, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let suporte = department(&t, demo, "Suporte").await;
    let flow = format!(
        r#"{{"start":"s","nodes":{{
            "s":{{"type":"set","department":{suporte},"next":"q"}},
            "q":{{"type":"question","text":"Qual o seu pedido?","save_as":"pedido","next":"c"}},
            "c":{{"type":"condition","test":"open","then":"a","else":"f"}},
            "a":{{"type":"message","text":"Suporte aberto"}},
            "f":{{"type":"message","text":"Suporte fechado"}}}}}}"#
    );
    save(&t, demo, flow).await;
    automation::save_department_hours(&t.app, &Actor::Operator, demo, suporte, &closed_now()).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    let maria = "5511987650121";
    sim.customer_sends(maria, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    assert_eq!(sent_to(&sim, maria, 2).await, ["Olá!", "Qual o seu pedido?"]);
    settled(&t).await;
    sim.customer_sends(maria, "Maria", CustomerMessage::Text("123".into())).await.unwrap();
    let all = sent_to(&sim, maria, 3).await;
    assert_eq!(all[2], "Suporte fechado", "{all:?}");
    sim.shutdown().await;
    t.stop().await;
});
