//! Scheduled messages ("agendamentos") through the real app: a one-off sent exactly once at its
//! time however many scans run, a weekly rule moving to next week, pause stopping sends, a
//! marketing text to a contact without opt-in refused and recorded (not retried), past dates
//! refused, another company seeing nothing, and the REST API round trip. SQLite and PostgreSQL.

use std::time::Duration;

use atende::actions::schedules::{self, ScheduleInput};
use atende::actions::{ActionError, Actor};
use atende::domain::schedules as rules;
use atende::domain::{Scope, TenantId};
use serde_json::{json, Value};

use crate::consent::{connected, customer_writes};
use crate::engine_test;
use crate::support::{sent_to_sim, TestApp};

const HOUR: u64 = 3600;

/// The company's local wall clock (São Paulo, the default) `secs` from the app's now, as the
/// form writes it.
fn local_in(t: &TestApp, secs: i64) -> String {
    let at = t.app.clock.now_ms() + secs * 1000;
    rules::format_local(rules::local_of(chrono_tz::America::Sao_Paulo, at).unwrap())
}

fn input(contact: i64, body: &str, start: String) -> ScheduleInput {
    ScheduleInput { contact_id: Some(contact), body: body.into(), start, ..Default::default() }
}

/// Messages with this text the simulator received.
fn sent_with(sim: &wa_sim::Simulator, text: &str) -> usize {
    sim.sent_messages().iter().filter(|m| m.request["text"]["body"] == text).count()
}

async fn occurrences(t: &TestApp, tenant: TenantId, id: i64) -> Vec<(String, Option<String>)> {
    schedules::history(&t.app, &Actor::Operator, tenant, id)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.state, o.error_code))
        .collect()
}

/// A company with a connection and a customer who wrote (the 24-hour window is open).
async fn setup(t: &TestApp, slug: &str, phone: &str) -> (TenantId, wa_sim::Simulator, i64) {
    let tenant = t.create_tenant(slug).await;
    let (sim, _conn) = connected(t, tenant).await;
    let (contact, _ticket) = customer_writes(t, &sim, phone, "oi").await;
    (tenant, sim, contact)
}

engine_test!(a_one_off_goes_exactly_once_at_its_time, |t: TestApp| async move {
    let (tenant, sim, contact) = setup(&t, "agenda1", "5511911110001").await;
    let start = local_in(&t, 2 * HOUR as i64);
    let s = schedules::create(&t.app, &Actor::Operator, tenant, input(contact, "Lembrete: consulta amanhã", start))
        .await
        .unwrap();
    assert_eq!(s.status, "active");
    // Not before its time.
    schedules::run_due(&t.app, tenant).await.unwrap();
    assert_eq!(t.count("schedule_occurrences", &format!("schedule_id = {}", s.id)).await, 0);
    t.app.clock.advance(Duration::from_secs(2 * HOUR + 61));
    // Two scans at once and one more after (plus the job the schedule enqueued): one message.
    let (a, b) = tokio::join!(schedules::run_due(&t.app, tenant), schedules::run_due(&t.app, tenant));
    a.unwrap();
    b.unwrap();
    schedules::run_due(&t.app, tenant).await.unwrap();
    sent_to_sim(&sim, "the scheduled text", |m| m["text"]["body"] == "Lembrete: consulta amanhã").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent_with(&sim, "Lembrete: consulta amanhã"), 1);
    assert_eq!(occurrences(&t, tenant, s.id).await, vec![("queued".to_string(), None)]);
    let s = schedules::get(&t.app, &Actor::Operator, tenant, s.id).await.unwrap();
    assert_eq!((s.status.as_str(), s.done_count, s.slot_at), ("finished", 1, None));
    // In the contact's history as a normal outbound message.
    let cond = format!("contact_id = {contact} AND direction = 'out' AND body = 'Lembrete: consulta amanhã'");
    assert_eq!(t.count("messages", &cond).await, 1);
    t.stop().await;
});

engine_test!(weekly_moves_to_next_week_and_pause_stops_sends, |t: TestApp| async move {
    let (tenant, sim, contact) = setup(&t, "agenda2", "5511911110002").await;
    let start = local_in(&t, HOUR as i64);
    let first_day = rules::parse_local(&start).unwrap().date();
    let weekday = chrono::Datelike::weekday(&first_day).number_from_monday().to_string();
    let mut weekly = input(contact, "Bom dia semanal", start);
    weekly.recurrence = Some("weekly".into());
    weekly.weekdays = vec![weekday];
    let s = schedules::create(&t.app, &Actor::Operator, tenant, weekly).await.unwrap();
    let first = s.slot_at.unwrap();
    t.app.clock.advance(Duration::from_secs(HOUR + 61));
    schedules::run_due(&t.app, tenant).await.unwrap();
    sent_to_sim(&sim, "the weekly text", |m| m["text"]["body"] == "Bom dia semanal").await;
    let s = schedules::get(&t.app, &Actor::Operator, tenant, s.id).await.unwrap();
    // São Paulo has no summer time since 2019: exactly seven days later.
    assert_eq!(s.slot_at, Some(first + 7 * 86_400_000));
    assert_eq!((s.status.as_str(), s.done_count), ("active", 1));

    // Paused, its next week passes without a message; resumed, it waits for the one after.
    let p = schedules::set_state(&t.app, &Actor::Operator, tenant, s.id, "paused").await.unwrap();
    assert_eq!(p.status, "paused");
    t.app.clock.advance(Duration::from_secs(7 * 24 * HOUR));
    schedules::run_due(&t.app, tenant).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_with(&sim, "Bom dia semanal"), 1);
    let r = schedules::set_state(&t.app, &Actor::Operator, tenant, s.id, "active").await.unwrap();
    assert_eq!(r.slot_at, Some(first + 14 * 86_400_000));
    let again = schedules::set_state(&t.app, &Actor::Operator, tenant, s.id, "active").await.unwrap_err();
    assert_eq!(again.code(), "invalid_transition");
    let c = schedules::set_state(&t.app, &Actor::Operator, tenant, s.id, "cancelled").await.unwrap();
    assert_eq!((c.status.as_str(), c.run_at), ("cancelled", None));
    t.stop().await;
});

engine_test!(refused_sends_are_recorded_once_and_past_dates_refused, |t: TestApp| async move {
    let (tenant, sim, contact) = setup(&t, "agenda3", "5511911110003").await;
    // Marketing to a contact who never opted in: refused, recorded, not retried.
    let mut promo = input(contact, "Promoção de Natal", local_in(&t, HOUR as i64));
    promo.marketing = true;
    let s = schedules::create(&t.app, &Actor::Operator, tenant, promo).await.unwrap();
    t.app.clock.advance(Duration::from_secs(HOUR + 61));
    schedules::run_due(&t.app, tenant).await.unwrap();
    schedules::run_due(&t.app, tenant).await.unwrap();
    let want = vec![("refused".to_string(), Some("marketing_consent_required".to_string()))];
    assert_eq!(occurrences(&t, tenant, s.id).await, want);
    let s = schedules::get(&t.app, &Actor::Operator, tenant, s.id).await.unwrap();
    assert_eq!((s.status.as_str(), s.last_error.as_deref()), ("finished", Some("marketing_consent_required")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_with(&sim, "Promoção de Natal"), 0);

    // A text outside the 24-hour window is refused the same way.
    t.app.clock.advance(Duration::from_secs(30 * HOUR));
    let late = schedules::create(&t.app, &Actor::Operator, tenant, input(contact, "Oi de novo", local_in(&t, 60)))
        .await
        .unwrap();
    t.app.clock.advance(Duration::from_secs(121));
    schedules::run_due(&t.app, tenant).await.unwrap();
    assert_eq!(occurrences(&t, tenant, late.id).await[0].1.as_deref(), Some("outside_window"));

    let past = schedules::create(&t.app, &Actor::Operator, tenant, input(contact, "x", local_in(&t, -120))).await;
    assert!(matches!(past, Err(ActionError::Invalid { code: "past_date", .. })), "{past:?}");
    let empty = schedules::create(&t.app, &Actor::Operator, tenant, input(contact, " ", local_in(&t, 600))).await;
    assert_eq!(empty.unwrap_err().code(), "invalid_body");
    let mut bad = input(contact, "x", local_in(&t, 600));
    bad.recurrence = Some("weekly".into());
    assert_eq!(schedules::create(&t.app, &Actor::Operator, tenant, bad).await.unwrap_err().code(), "invalid_weekdays");
    t.stop().await;
});

async fn api(t: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

engine_test!(the_api_round_trip_and_tenant_isolation, |t: TestApp| async move {
    let (tenant, _sim, contact) = setup(&t, "agenda4", "5511911110004").await;
    let other = t.create_tenant("agenda5").await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let reader = t.token(tenant, &[Scope::Read]).await;
    let stranger = t.token(other, &[Scope::Read, Scope::Write]).await;
    use reqwest::Method;
    let body = json!({"contact_id": contact, "body": "Sua fatura vence amanhã", "recurrence": "monthly",
        "month_day": 31, "start": local_in(&t, 3600), "count": 3});
    let (status, created) = api(&t, Method::POST, "/api/v1/schedules", &reader, Some(body.clone())).await;
    assert_eq!(status, 403, "{created}");
    let (status, created) = api(&t, Method::POST, "/api/v1/schedules", &token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["recurrence"], "monthly");
    assert_eq!(created["status"], "active");
    let (status, list) = api(&t, Method::GET, "/api/v1/schedules", &reader, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/schedules/{id}");
    let (status, patched) = api(&t, Method::PATCH, &path, &token, Some(json!({"status": "paused"}))).await;
    assert_eq!((status, patched["status"].as_str()), (200, Some("paused")), "{patched}");
    let (status, patched) = api(&t, Method::PATCH, &path, &token, Some(json!({"body": "Fatura: vence amanhã"}))).await;
    assert_eq!((status, patched["body"].as_str()), (200, Some("Fatura: vence amanhã")), "{patched}");
    let (status, err) = api(
        &t,
        Method::POST,
        "/api/v1/schedules",
        &token,
        Some(json!({"contact_id": contact, "body": "x",
            "start": local_in(&t, -3600)})),
    )
    .await;
    assert_eq!((status, err["error"]["code"].as_str()), (422, Some("past_date")), "{err}");

    // Another company sees and changes nothing.
    for (method, body) in
        [(Method::GET, None), (Method::PATCH, Some(json!({"status": "cancelled"}))), (Method::DELETE, None)]
    {
        let (status, _) = api(&t, method, &path, &stranger, body).await;
        assert_eq!(status, 404);
    }
    let (_, theirs) = api(&t, Method::GET, "/api/v1/schedules", &stranger, None).await;
    assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
    assert!(schedules::get(&t.app, &Actor::Operator, other, id).await.is_err());

    let (status, gone) = api(&t, Method::DELETE, &path, &token, None).await;
    assert_eq!((status, gone["status"].as_str()), (200, Some("cancelled")), "{gone}");
    let (status, got) = api(&t, Method::GET, &path, &reader, None).await;
    assert_eq!((status, got["status"].as_str()), (200, Some("cancelled")));
    t.stop().await;
});

engine_test!(the_page_lists_creates_pauses_and_escapes, |t: TestApp| async move {
    use atende::domain::Role;
    let (tenant, _sim, _contact) = setup(&t, "agenda6", "5511911110006").await;
    t.create_user(tenant, "ana@agenda6.test", Role::Agent, "senha-forte-123").await;
    let other = t.create_tenant("agenda7").await;
    t.create_user(other, "bia@agenda7.test", Role::Admin, "senha-forte-123").await;
    let ana = t.login("ana@agenda6.test", "senha-forte-123", "agenda6").await;
    let html = ana.get(t.url("/schedules")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("href=\"/schedules\""), "the sidebar links the page");
    assert!(html.contains("Nenhuma mensagem agendada."));
    let csrf = t.csrf(&ana).await;
    let start = local_in(&t, 2 * HOUR as i64);
    let form = [
        ("csrf", csrf.as_str()),
        ("phone", "+55 11 91111-0006"),
        ("body", "<b>Olá</b> & até"),
        ("start", start.as_str()),
        ("recurrence", "weekly"),
        ("mon", "on"),
        ("fri", "on"),
        ("count", "4"),
    ];
    let r = ana.post(t.url("/schedules")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let html = ana.get(t.url("/schedules?saved=schedule_created")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Mensagem agendada."));
    assert!(html.contains("&#60;b&#62;Olá&#60;/b&#62; &#38; até"), "escaped");
    assert!(!html.contains("<b>Olá</b>"));
    assert!(html.contains("Toda semana (seg, sex) às"), "{html}");
    let id = schedules::list(&t.app, &Actor::Operator, tenant, None).await.unwrap()[0].id;
    // A past date is refused with its message, and the typed text kept.
    let past = local_in(&t, -3 * HOUR as i64);
    let bad = [("csrf", csrf.as_str()), ("phone", "+5511911110006"), ("body", "atrasada"), ("start", past.as_str())];
    let r = ana.post(t.url("/schedules")).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Essa data e hora já passaram") && html.contains("atrasada"));
    // Pause, then resume.
    let r = ana.post(t.url(&format!("/schedules/{id}/pause"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(schedules::get(&t.app, &Actor::Operator, tenant, id).await.unwrap().status, "paused");
    let r = ana.post(t.url(&format!("/schedules/{id}/resume"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(schedules::get(&t.app, &Actor::Operator, tenant, id).await.unwrap().status, "active");
    // Without the CSRF token nothing changes.
    let r = ana.post(t.url(&format!("/schedules/{id}/cancel"))).form(&[("csrf", "nope")]).send().await.unwrap();
    assert_ne!(r.status(), 303);
    // Another company's admin neither sees nor changes it.
    let bia = t.login("bia@agenda7.test", "senha-forte-123", "agenda7").await;
    assert_eq!(bia.get(t.url(&format!("/schedules/{id}"))).send().await.unwrap().status(), 404);
    let bcsrf = t.csrf(&bia).await;
    let r = bia.post(t.url(&format!("/schedules/{id}/cancel"))).form(&[("csrf", bcsrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let html = bia.get(t.url("/schedules")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Olá"));
    assert_eq!(schedules::get(&t.app, &Actor::Operator, tenant, id).await.unwrap().status, "active");
    // The edit form shows the schedule; English on request.
    let html = ana.get(t.url(&format!("/schedules/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Editar agendamento") && html.contains("value=\"4\""));
    // The contact's page links its schedules; the filtered list shows them.
    let contact = schedules::get(&t.app, &Actor::Operator, tenant, id).await.unwrap().contact_id;
    let html = ana.get(t.url(&format!("/contacts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("href=\"/schedules?contact={contact}\"")));
    let html = ana.get(t.url(&format!("/schedules?contact={contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Olá") && html.contains("value=\"+5511911110006\""));
    let html = ana.get(t.url("/schedules?contact=999999")).send().await.unwrap();
    assert_eq!(html.status(), 404);
    t.stop().await;
});

engine_test!(business_hours_delay_a_slot_and_a_stale_one_is_not_sent, |t: TestApp| async move {
    use atende::domain::hours::{self, Calendar, Interval, WeekSchedule};
    let (tenant, sim, contact) = setup(&t, "agenda8", "5511911110008").await;
    atende::actions::automation::set_time_zone(&t.app, &Actor::Operator, tenant, "America/Sao_Paulo").await.unwrap();
    // Open only 10:00–11:00 on the weekday two days after the start.
    let start = local_in(&t, HOUR as i64);
    let open_day = rules::parse_local(&start).unwrap().date() + chrono::Duration::days(2);
    let mut week = WeekSchedule::default();
    week.days[chrono::Datelike::weekday(&open_day).num_days_from_monday() as usize] =
        vec![Interval::new(600, 660).unwrap()];
    sqlx::query("UPDATE automation SET hours = $1 WHERE tenant_id = $2")
        .bind(serde_json::to_string(&week).unwrap())
        .bind(tenant.0)
        .execute(t.app.db.writer())
        .await
        .unwrap();
    let mut within = input(contact, "Dentro do horário", start);
    within.business_hours = true;
    let s = schedules::create(&t.app, &Actor::Operator, tenant, within).await.unwrap();
    let (slot, run) = (s.slot_at.unwrap(), s.run_at.unwrap());
    let calendar = Calendar { national: true, ..Calendar::default() };
    let sp = chrono_tz::America::Sao_Paulo;
    assert_eq!(Some(run), hours::next_opening(&week, None, &calendar, sp, slot));
    assert!(run > slot + 24 * 3_600_000, "waits for the opening");
    let opens = rules::local_of(sp, run).unwrap();
    assert!(opens.date() >= open_day && chrono::Timelike::hour(&opens) == 10, "{opens}");
    // At the slot itself nothing goes.
    t.app.clock.advance(Duration::from_secs(HOUR + 61));
    schedules::run_due(&t.app, tenant).await.unwrap();
    assert_eq!(t.count("schedule_occurrences", &format!("schedule_id = {}", s.id)).await, 0);

    // A one-off found 14 hours late (the server was down) is recorded, not sent.
    let late = schedules::create(&t.app, &Actor::Operator, tenant, input(contact, "Atrasada", local_in(&t, 120)))
        .await
        .unwrap();
    t.app.clock.advance(Duration::from_secs(14 * HOUR));
    schedules::run_due(&t.app, tenant).await.unwrap();
    let want = vec![("expired".to_string(), Some("stale".to_string()))];
    assert_eq!(occurrences(&t, tenant, late.id).await, want);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_with(&sim, "Atrasada"), 0);
    t.stop().await;
});

engine_test!(a_schedule_to_a_new_number_creates_the_contact_once_and_announces_it, |t: TestApp| async move {
    let tenant = t.create_tenant("agenda9").await;
    let (_sim, _conn) = connected(&t, tenant).await;
    let by_phone = |phone: &str| ScheduleInput {
        phone: Some(phone.into()),
        body: "Olá".into(),
        start: local_in(&t, HOUR as i64),
        ..Default::default()
    };
    let a = schedules::create(&t.app, &Actor::Operator, tenant, by_phone("+55 11 99333-0009")).await.unwrap();
    // The same mobile without its ninth digit is the same contact.
    let b = schedules::create(&t.app, &Actor::Operator, tenant, by_phone("+55 11 9333-0009")).await.unwrap();
    assert_eq!(a.contact_id, b.contact_id);
    let created = t.count("events", &format!("tenant_id = {} AND kind = 'contact.created'", tenant.0)).await;
    assert_eq!(created, 1, "one contact.created event, as for any other new contact");
    t.stop().await;
});
