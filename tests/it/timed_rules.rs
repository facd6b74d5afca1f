//! Timed rules through the durable job: a ticket nobody took moves to the next department
//! after its minutes, a ticket whose customer did not answer the business's last message is
//! closed with the department's message (sent through the simulator), and one whose customer
//! wrote last is left alone. Their page saves per-department rows and refuses bad ones; the
//! company's own dates show among the next closures and survive the hours form. On SQLite and
//! PostgreSQL.

use std::time::{Duration, Instant};

use atende::actions::send::{self, SendRequest, SendTarget};
use atende::actions::timed_rules::{self, TimedRule};
use atende::actions::{ActionError, Actor};
use atende::domain::outbound::OutboundContent;
use atende::domain::TenantId;
use wa_sim::CustomerMessage;

use crate::engine_test;
use crate::support::{extract_csrf, TestApp};

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

pub(crate) async fn ticket_of(t: &TestApp, phone: &str) -> (i64, String, Option<i64>) {
    eventually("the ticket", || async {
        sqlx::query_as::<_, (i64, String, Option<i64>)>(
            "SELECT t.id, t.status, t.department_id FROM tickets t JOIN contacts c ON c.id = t.contact_id
             WHERE c.phone = $1 ORDER BY t.id DESC",
        )
        .bind(phone)
        .fetch_optional(t.app.db.reader())
        .await
        .unwrap()
    })
    .await
}

/// Runs one pass the way the scheduler does: enqueue `automation.timed`, wait for the job.
pub(crate) async fn pass(t: &TestApp) {
    let before = t.count("jobs", "kind = 'automation.timed' AND state = 'done'").await;
    atende::jobs::timed_rules::schedule(&t.app, None).await.unwrap();
    eventually("the timed pass", || async {
        (t.count("jobs", "kind = 'automation.timed' AND state = 'done'").await > before).then_some(())
    })
    .await;
    // A later pass in the same minute would be deduplicated: move on a minute.
    t.app.clock.advance(Duration::from_secs(61));
}

pub(crate) async fn reply(t: &TestApp, tenant: TenantId, ticket: i64, body: &str) {
    let request = SendRequest {
        marketing: false,
        tenant,
        target: SendTarget::Ticket(ticket),
        content: OutboundContent::Text { body: body.into(), preview_url: false },
        reply_to: None,
        idempotency_key: None,
    };
    send::send_message(&t.app, &Actor::Operator, request).await.unwrap();
}

/// A form accepted: "See other", back to the page with `saved=1`.
fn saved_redirect(answer: &reqwest::Response) -> bool {
    answer.status() == 303
        && answer.headers().get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.contains("saved=1"))
}

fn code(e: ActionError) -> &'static str {
    match e {
        ActionError::Invalid { code, .. } => code,
        other => panic!("not a validation error: {other:?}"),
    }
}

engine_test!(unattended_tickets_move_on_and_idle_ones_close_with_the_department_s_message, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let vendas = t.department(demo, "Vendas").await;
    let rules = vec![
        TimedRule { department_id: 0, transfer_after_minutes: 10, transfer_to: Some(vendas), ..TimedRule::default() },
        TimedRule {
            department_id: vendas,
            close_idle_minutes: 30,
            close_message: "Encerramos por falta de resposta.".into(),
            ..TimedRule::default()
        },
    ];
    timed_rules::save(&t.app, &Actor::Operator, demo, rules).await.unwrap();
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends("5511911110001", "Ana", CustomerMessage::Text("Oi".into())).await.unwrap();
    let (ana, status, department) = ticket_of(&t, "5511911110001").await;
    assert_eq!((status.as_str(), department), ("waiting", None));

    // Nine minutes: nothing yet; eleven: it moves to Vendas, with a note in its history.
    t.app.clock.advance(Duration::from_secs(9 * 60));
    pass(&t).await;
    assert_eq!(ticket_of(&t, "5511911110001").await, (ana, "waiting".into(), None));
    t.app.clock.advance(Duration::from_secs(60));
    pass(&t).await;
    assert_eq!(ticket_of(&t, "5511911110001").await, (ana, "waiting".into(), Some(vendas)));
    assert_eq!(
        t.count(
            "ticket_events",
            &format!("ticket_id = {ana} AND kind = 'transferred' AND note LIKE 'Transferido automaticamente%'")
        )
        .await,
        1
    );

    // The business answers Ana; Bruno writes and nobody answers him.
    reply(&t, demo, ana, "Olá Ana, como podemos ajudar?").await;
    eventually("the reply at the simulator", || async { (sim.sent_messages().len() == 1).then_some(()) }).await;
    sim.customer_sends("5511911110002", "Bruno", CustomerMessage::Text("Tem desconto?".into())).await.unwrap();
    let (bruno, _, _) = ticket_of(&t, "5511911110002").await;
    sqlx::query("UPDATE tickets SET department_id = $1 WHERE id = $2")
        .bind(vendas)
        .bind(bruno)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    t.app.clock.advance(Duration::from_secs(31 * 60));
    pass(&t).await;
    let (_, status, _) = ticket_of(&t, "5511911110001").await;
    assert_eq!(status, "closed", "Ana did not answer the business for 31 minutes");
    let farewell = eventually("the closing message", || async {
        sim.sent_messages()
            .into_iter()
            .map(|m| m.request)
            .find(|r| r["text"]["body"] == "Encerramos por falta de resposta.")
    })
    .await;
    assert_eq!(farewell["to"], "5511911110001");
    // Bruno wrote last: his ticket waits for people (the transfer rule is Vendas's own: none).
    assert_eq!(ticket_of(&t, "5511911110002").await, (bruno, "waiting".into(), Some(vendas)));
    sim.shutdown().await;
});

engine_test!(timed_rules_are_checked_and_the_page_keeps_them_with_the_company_s_dates, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let vendas = t.department(demo, "Vendas").await;
    let rule = |to: Option<i64>, minutes: i64| TimedRule {
        department_id: vendas,
        transfer_after_minutes: minutes,
        transfer_to: to,
        ..TimedRule::default()
    };
    let refused = |r: TimedRule| {
        let app = t.app.clone();
        async move { code(timed_rules::save(&app, &Actor::Operator, demo, vec![r]).await.unwrap_err()) }
    };
    assert_eq!(refused(rule(Some(vendas), 5)).await, "invalid_transfer");
    assert_eq!(refused(rule(None, 5)).await, "invalid_transfer");
    assert_eq!(refused(rule(Some(999_999), 5)).await, "invalid_transfer");
    assert_eq!(refused(TimedRule { close_idle_minutes: 50_000, ..rule(None, 0) }).await, "invalid_minutes");
    assert_eq!(refused(TimedRule { remind_after_minutes: 43_201, ..rule(None, 0) }).await, "invalid_minutes");
    assert_eq!(refused(TimedRule { remind_after_minutes: -1, ..rule(None, 0) }).await, "invalid_minutes");
    let other = t.create_tenant("outra").await;
    let theirs = t.department(other, "Deles").await;
    assert_eq!(
        refused(TimedRule { department_id: theirs, close_idle_minutes: 5, ..rule(None, 0) }).await,
        "unknown_department"
    );
    assert_eq!(t.count("timed_rules", "1=1").await, 0, "nothing refused was written");

    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Regras de tempo") && page.contains("Sem setor (inclui o chatbot)"), "{page}");
    assert!(page.contains("Lembrar o atendente sem resposta após (min)") && page.contains("name=\"remind_0\""));
    let csrf = extract_csrf(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("close_0", "45"),
        ("message_0", "Até logo!"),
        ("transfer_0", "0"),
        ("to_0", "0"),
        (&format!("close_{vendas}"), ""),
        (&format!("message_{vendas}"), ""),
        (&format!("transfer_{vendas}"), "15"),
        (&format!("to_{vendas}"), "0"),
        ("remind_0", "20"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let answer = admin.post(t.url("/admin/automation/rules")).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 422, "a transfer without a department is refused");
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("value=\"Até logo!\"") && html.contains("name=\"remind_0\" value=\"20\""),
        "what was typed is shown again"
    );
    let mut form = form;
    form[8].1 = "0".into();
    form[7].1 = "0".into();
    let answer = admin.post(t.url("/admin/automation/rules")).form(&form).send().await.unwrap();
    assert!(saved_redirect(&answer), "{}", answer.status());
    let stored = timed_rules::list(&t.app, &Actor::Operator, demo).await.unwrap();
    assert_eq!(
        stored,
        vec![TimedRule {
            department_id: 0,
            close_idle_minutes: 45,
            close_message: "Até logo!".into(),
            remind_after_minutes: 20,
            ..TimedRule::default()
        }]
    );

    // The company's own dates: listed among the closures, kept when the hours are saved.
    let year = chrono::DateTime::from_timestamp_millis(t.app.clock.now_ms()).unwrap().format("%Y").to_string();
    let next: i32 = year.parse::<i32>().unwrap() + 1;
    let dates = format!("25/01/{next} Aniversário da cidade\n24/12/{year} 12:00-18:00 Véspera");
    let page = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&page);
    let bad = admin
        .post(t.url("/admin/automation/dates"))
        .form(&[("csrf", csrf.as_str()), ("dates", "31/02/2027 Nunca")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("line 1"));
    let ok = admin
        .post(t.url("/admin/automation/dates"))
        .form(&[("csrf", csrf.as_str()), ("dates", dates.as_str())])
        .send()
        .await
        .unwrap();
    assert!(saved_redirect(&ok));
    let page = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("25/01/{next}")) && page.contains("Aniversário da cidade"), "{page}");
    let main = [
        ("csrf", csrf.as_str()),
        ("enabled", "1"),
        ("time_zone", "America/Sao_Paulo"),
        ("day0", "08:00-18:00"),
        ("greeting", "Olá"),
    ];
    let saved = admin.post(t.url("/admin/automation")).form(&main).send().await.unwrap();
    assert!(saved_redirect(&saved), "{}", saved.status());
    let page = admin.get(t.url("/admin/automation")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Aniversário da cidade"), "the dates survive the hours form");
});
