//! The inbox's whole flow in headless Chromium, on a desktop and on a phone (mobile emulation,
//! touch): an agent logs in; a customer writes through the simulator; the ticket appears live
//! under "Em espera"; the agent captures and replies; the simulator receives the signed text; the
//! tick reaches "read" live; a transfer makes the ticket appear live on the other department's
//! agent (a second browser); closing asks for a rating, the customer answers 4, and the rating is
//! stored and shown. Also: markup written by a customer renders as text. Screenshots go to
//! `target/screenshots/`. Every wait polls with a deadline (CI runs on two cores).

use std::time::{Duration, Instant};

use atende::actions::departments::{self, DepartmentInput};
use atende::actions::Actor;
use atende::domain::inbox::DistributionMode;
use atende::domain::{Role, TenantId, UserId};
use serde_json::json;

use crate::browser::Browser;
use crate::engine_test;
use crate::support::TestApp;

const PHONE: (u32, u32) = (390, 844);
/// One browser flow at a time: two Chromiums per flow are already a lot for two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn department(t: &TestApp, tenant: TenantId, name: &str, sign: bool) -> i64 {
    let input = DepartmentInput {
        name: name.into(),
        colour: "#0f766e".into(),
        greeting: String::new(),
        sign_messages: sign,
        distribution_mode: DistributionMode::Off,
    };
    departments::create_department(&t.app, &Actor::Operator, tenant, input).await.unwrap().id
}

/// An agent named `name`, member of `department`.
async fn agent(t: &TestApp, tenant: TenantId, email: &str, name: &str, department: i64) -> UserId {
    let id = t.create_user(tenant, email, Role::Agent, "agent-password-1").await.id;
    let update = atende::actions::users::UpdateUser { name, role: Role::Agent, active: true };
    atende::actions::users::update_user(&t.app, &Actor::Operator, tenant, id, update).await.unwrap();
    departments::set_member(&t.app, &Actor::Operator, tenant, department, id, true).await.unwrap();
    id
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sim_received(sim: &wa_sim::Simulator, what: &str, pred: impl Fn(&str) -> bool) -> String {
    eventually(20, what, || {
        let found = sim
            .sent_messages()
            .iter()
            .filter_map(|m| m.request["text"]["body"].as_str().map(str::to_string))
            .find(|b| pred(b));
        async move { found }
    })
    .await
}

async fn column(t: &TestApp, sql: &str) -> Option<i64> {
    sqlx::Row::get::<Option<i64>, _>(&sqlx::query(sql).fetch_one(t.app.db.reader()).await.unwrap(), 0)
}

/// Clicks on a desktop; on a phone scrolls the element into view and taps it with a finger.
async fn press(b: &Browser, phone: bool, css: &str) {
    if !phone {
        b.click(css).await;
        return;
    }
    let id = b.find(css).await;
    let element = json!({ "element-6066-11e4-a52e-4f735466cecf": id });
    b.cmd(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({"script": "arguments[0].scrollIntoView({block: 'center'}); return true;", "args": [element]})),
    )
    .await;
    let finger = json!({"actions": [{"type": "pointer", "id": "finger", "parameters": {"pointerType": "touch"},
        "actions": [{"type": "pointerMove", "duration": 0, "origin": element, "x": 0, "y": 0},
                    {"type": "pointerDown", "button": 0}, {"type": "pause", "duration": 50},
                    {"type": "pointerUp", "button": 0}]}]});
    b.cmd(reqwest::Method::POST, "/actions", Some(finger)).await;
    b.cmd(reqwest::Method::DELETE, "/actions", None).await;
}

async fn the_whole_flow(t: TestApp, phone: bool) {
    let _one = ONE_AT_A_TIME.lock().await;
    let size = if phone { Some(PHONE) } else { None };
    let (Some(ana_b), Some(bruno_b)) = (Browser::start_with(size).await, Browser::start_with(size).await) else {
        t.stop().await;
        return;
    };
    let shot = |name: &str| format!("flow-{}-{name}", if phone { "phone" } else { "desktop" });
    let demo = t.demo_tenant().await;
    let (sim, conn) = t.simulator(demo).await;
    let sales = department(&t, demo, "Vendas", true).await;
    let support = department(&t, demo, "Suporte", false).await;
    departments::set_connection_department(&t.app, &Actor::Operator, demo, conn, Some(sales)).await.unwrap();
    agent(&t, demo, "ana@demo.local", "Ana Souza", sales).await;
    let bruno = agent(&t, demo, "bruno@demo.local", "Bruno Lima", support).await;
    let settings = atende::store::settings::TenantSettings { csat_enabled: true, ..Default::default() };
    atende::store::settings::put(t.app.db.writer(), demo, &settings, t.app.clock.now_ms()).await.unwrap();

    // Both agents log in and watch their waiting queue.
    for (b, email) in [(&ana_b, "ana@demo.local"), (&bruno_b, "bruno@demo.local")] {
        b.login(&t, email, "agent-password-1", "demo").await;
        b.go(&t.url("/inbox?tab=waiting")).await;
        b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;
    }
    assert_eq!(ana_b.js("return document.querySelector('.tabs [aria-current]').textContent").await, json!("Em espera"));
    if phone {
        assert_eq!(ana_b.js("return innerWidth").await, json!(PHONE.0));
        assert_eq!(ana_b.js("return matchMedia('(pointer: coarse)').matches").await, json!(true), "a touch screen");
    }

    // A customer writes: the ticket appears on Ana's screen without a reload.
    let phone_number = "5511987654321";
    sim.customer_sends(
        phone_number,
        "Carla Cliente",
        wa_sim::CustomerMessage::Text("Olá, quero trocar um produto".into()),
    )
    .await
    .unwrap();
    ana_b
        .wait_for(
            "[...document.querySelectorAll('#ticket-list li.ticket')].some(li => li.querySelector('.contact').textContent === 'Carla Cliente' && li.querySelector('.preview').textContent.includes('quero trocar'))",
            "the new ticket listed live under Em espera",
        )
        .await;
    let ticket = column(&t, "SELECT MAX(id) FROM tickets").await.unwrap();
    assert_eq!(
        bruno_b.js("return document.querySelectorAll('#ticket-list li.ticket').length").await,
        json!(0),
        "another department's agent does not see it"
    );
    ana_b.screenshot(&shot("1-waiting")).await;

    // Ana opens it, captures it and replies with Enter.
    press(&ana_b, phone, &format!("#ticket-list li[data-ticket='{ticket}'] a")).await;
    ana_b
        .wait_for(&format!("document.querySelector('.conversation[data-ticket-id=\"{ticket}\"]')"), "the conversation")
        .await;
    if phone {
        // One view at a time: the conversation, with a way back to the list.
        assert_eq!(
            ana_b.js("return getComputedStyle(document.querySelector('.list-pane')).display").await,
            json!("none")
        );
        assert_ne!(
            ana_b.js("return getComputedStyle(document.querySelector('.conv-head .back')).display").await,
            json!("none")
        );
    }
    press(&ana_b, phone, "button.capture").await;
    ana_b
        .wait_for("!document.querySelector('button.capture') && document.querySelector('.status-open')", "the capture")
        .await;
    let reply = "Bom dia! Já vou verificar a troca.";
    ana_b.type_into("form.composer textarea", &format!("{reply}\u{E007}")).await;
    ana_b
        .wait_for(
            "[...document.querySelectorAll('.msg.out .msg-body')].some(e => e.textContent.includes('verificar a troca'))",
            "the reply in the conversation",
        )
        .await;
    // Vendas signs its agents' messages: the customer reads who wrote.
    let sent = sim_received(&sim, "the reply at the simulator", |b| b.contains(reply)).await;
    assert_eq!(sent, format!("*Ana Souza:*\n{reply}"));
    // The simulator reports sent, delivered, then read (2.5 s): the tick follows live.
    ana_b.wait_for_secs("document.querySelector('.msg.out .tick.read')", "the read tick", 30).await;
    ana_b.screenshot(&shot("2-replied-read")).await;

    // Transfer to Suporte with a note: it appears live on Bruno's waiting list.
    press(&ana_b, phone, "details:has(form[action$='/transfer']) summary").await;
    ana_b.click(&format!("form[action$='/transfer'] select[name=department] option[value='{support}']")).await;
    ana_b.type_into("form[action$='/transfer'] textarea[name=note]", "Cliente quer falar com o suporte").await;
    press(&ana_b, phone, "form[action$='/transfer'] button[type=submit]").await;
    bruno_b
        .wait_for(
            &format!("document.querySelector('#ticket-list li[data-ticket=\"{ticket}\"] .preview')"),
            "the transferred ticket on the other department's agent",
        )
        .await;
    assert_eq!(
        t.count(
            "tickets",
            &format!("id = {ticket} AND status = 'waiting' AND department_id = {support} AND assignee_id IS NULL")
        )
        .await,
        1
    );
    ana_b.wait_for("location.pathname === '/inbox'", "Ana back on her list").await;
    bruno_b.screenshot(&shot("3-transferred")).await;

    // Bruno captures and closes; the customer is asked for a rating and answers 4.
    press(&bruno_b, phone, &format!("#ticket-list li[data-ticket='{ticket}'] a")).await;
    bruno_b.wait_for("document.querySelector('button.capture')", "Bruno's conversation").await;
    assert!(
        bruno_b
            .js("return document.querySelector('.history').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("Cliente quer falar com o suporte"),
        "the transfer note is in the history"
    );
    press(&bruno_b, phone, "button.capture").await;
    bruno_b.wait_for("document.querySelector('.status-open')", "Bruno's capture").await;
    press(&bruno_b, phone, "details:has(form[action$='/close']) summary").await;
    press(&bruno_b, phone, "form[action$='/close'] button[type=submit]").await;
    bruno_b.wait_for("document.querySelector('.status-closed')", "the closed ticket").await;
    sim_received(&sim, "the rating question", |b| b.contains("Como você avalia")).await;
    sim.customer_sends(phone_number, "Carla Cliente", wa_sim::CustomerMessage::Text("4".into())).await.unwrap();
    let app = &t;
    let rating = eventually(20, "the stored rating", || async move {
        column(app, &format!("SELECT csat_rating FROM tickets WHERE id = {ticket}")).await
    })
    .await;
    assert_eq!(rating, 4);
    assert_eq!(
        t.count("tickets", &format!("id = {ticket} AND status = 'closed' AND assignee_id = {}", bruno.0)).await,
        1
    );
    // The side panel shows it live (ticket.updated), without a reload.
    bruno_b.wait_for("document.querySelector('.csat-rating')?.textContent === '4/5'", "the rating shown").await;
    bruno_b.screenshot(&shot("4-closed-rated")).await;
    if phone {
        press(&bruno_b, phone, ".conv-head .back").await;
        bruno_b.wait_for("document.querySelector('.inbox:not(.has-ticket)')", "the list again").await;
        assert_eq!(
            bruno_b.js("return getComputedStyle(document.querySelector('.list-pane')).display").await,
            json!("flex")
        );
    }
    drop((ana_b, bruno_b));
    sim.shutdown().await;
    t.stop().await;
}

engine_test!(the_inbox_flow_on_a_desktop, |t: TestApp| async move {
    the_whole_flow(t, false).await;
});

engine_test!(the_inbox_flow_on_a_phone, |t: TestApp| async move {
    the_whole_flow(t, true).await;
});

engine_test!(markup_in_a_name_and_a_message_renders_as_text, |t: TestApp| async move {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = Browser::start().await else {
        t.stop().await;
        return;
    };
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;
    b.go(&t.url("/inbox?tab=waiting")).await;
    b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;
    let evil = "<script>alert(1)</script>";
    sim.customer_sends("5511912345678", evil, wa_sim::CustomerMessage::Text(evil.into())).await.unwrap();
    // Arrives live (fragment swapped in), then again in a fresh page load of the conversation.
    b.wait_for("document.querySelector('#ticket-list li.ticket .contact')", "the ticket").await;
    let ticket = column(&t, "SELECT MAX(id) FROM tickets").await.unwrap();
    let check = |what: &'static str| {
        let b = &b;
        async move {
            assert!(!b.alert_open().await, "{what}: an alert opened");
            let names =
                b.js("return [...document.querySelectorAll('#ticket-list .contact')].map(e => e.textContent)").await;
            assert_eq!(names, json!([evil]), "{what}");
            assert_eq!(
                b.js("return document.querySelectorAll('main script:not([src^=\"/assets/\"]), .inbox script:not([src^=\"/assets/\"])').length")
                    .await,
                json!(0),
                "{what}"
            );
        }
    };
    check("live list").await;
    b.go(&t.url(&format!("/inbox/{ticket}?tab=waiting"))).await;
    b.wait_for("document.querySelector('.msg.in .msg-body')", "the conversation").await;
    check("conversation page").await;
    assert_eq!(b.js("return document.querySelector('.msg.in .msg-body').textContent").await, json!(evil));
    assert_eq!(b.js("return document.querySelector('#ticket-panel h2').textContent").await, json!(evil));
    assert!(b.js("return document.body.innerText").await.as_str().unwrap().contains(evil), "the text is visible");
    b.screenshot("flow-markup-as-text").await;
    sim.shutdown().await;
    t.stop().await;
});
