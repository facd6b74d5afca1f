//! The chatbot's editor in headless Chromium: an admin builds a two-option flow from the node
//! forms (a menu, two hand-offs), sees it drawn, tests it in the chat panel (the menu, then the
//! hand-off to Suporte, with nothing sent), saves it; a customer on the simulator then gets the
//! menu as reply buttons and the tap hands the ticket to Suporte.

use std::time::{Duration, Instant};

use atende::actions::automation::{self, AutomationInput};
use atende::actions::Actor;
use serde_json::json;
use wa_sim::CustomerMessage;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};

/// Sets a `<select>` (or input) found by `css` to `value` and tells the page, as a person's
/// choice would.
fn choose(css: &str, value: &str) -> String {
    format!(
        "const e = document.querySelector({css}); e.value = {value}; e.dispatchEvent(new Event('change', {{bubbles: true}})); e.dispatchEvent(new Event('input', {{bubbles: true}})); return e.value;",
        css = json!(css),
        value = json!(value)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_tests_and_saves_a_two_option_flow_and_a_customer_gets_its_menu() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let vendas = t.department(demo, "Vendas").await;
    let suporte = t.department(demo, "Suporte").await;
    let input = AutomationInput {
        enabled: true,
        time_zone: "America/Sao_Paulo".into(),
        days: std::array::from_fn(|_| "00:00-24:00".to_string()),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow: String::new(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    automation::save(&t.app, &Actor::Operator, demo, input).await.unwrap();
    // The demo's WhatsApp number, to which the admin assigns the flow.
    let (sim, conn) = t.simulator(demo).await;

    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;
    b.go(&t.url("/admin/chatbot")).await;
    b.wait_for(
        "document.querySelector('[data-add-row]') && !document.querySelector('[data-add-row]').hidden",
        "the editor",
    )
    .await;
    // A menu and two hand-offs, from the forms.
    for kind in ["menu", "handoff", "handoff"] {
        b.js(&choose("[data-new-type]", kind)).await;
        b.click("[data-add]").await;
    }
    b.wait_for("document.querySelectorAll('.flow-node').length === 3", "three steps").await;
    b.js(&choose("[data-node='handoff-1'] select", &vendas.to_string())).await;
    b.js(&choose("[data-node='handoff-2'] select", &suporte.to_string())).await;
    b.js(&choose("[data-node='menu-1'] textarea", "")).await;
    b.type_into("[data-node='menu-1'] textarea", "Como podemos ajudar?").await;
    for _ in 0..2 {
        let before = b.js("return document.querySelectorAll('[data-node=\"menu-1\"] .flow-options li').length").await;
        b.click("[data-node='menu-1'] .flow-field button.secondary").await;
        b.wait_for(
            &format!("document.querySelectorAll('[data-node=\"menu-1\"] .flow-options li').length > {before}"),
            "a new option",
        )
        .await;
    }
    for (i, (label, target)) in [("Vendas", "handoff-1"), ("Suporte", "handoff-2")].iter().enumerate() {
        let li = format!("[data-node='menu-1'] .flow-options li:nth-child({})", i + 1);
        b.js(&choose(&format!("{li} input"), "")).await;
        b.type_into(&format!("{li} input"), label).await;
        b.js(&choose(&format!("{li} select"), target)).await;
    }
    b.js(&choose("[data-start]", "menu-1")).await;
    // The map draws the menu and its two arrows; no step has a problem.
    b.wait_for(
        "document.querySelectorAll('[data-graph] svg .edge').length === 2 && document.querySelectorAll('[data-problems] li').length === 0",
        "the flow's map without problems",
    )
    .await;
    assert_eq!(b.js("return document.querySelector('[data-graph] .node.start').dataset.node").await, json!("menu-1"));
    b.screenshot("chatbot-editor").await;

    // The test chat: the menu, then Suporte's hand-off; nothing is sent or stored.
    b.type_into("[data-test-form] input[name=reply]", "Oi").await;
    b.click("[data-test-form] button[type=submit]").await;
    b.wait_for(
        "document.querySelectorAll('[data-chat] .flow-choices button').length === 2",
        "the menu in the test chat",
    )
    .await;
    b.js("[...document.querySelectorAll('[data-chat] .flow-choices button')].find(x => x.textContent === 'Suporte').click(); return 1;").await;
    b.wait_for(
        "[...document.querySelectorAll('[data-chat] .outcome')].some(e => e.textContent === 'Transferido para o setor Suporte')",
        "the hand-off in the test chat",
    )
    .await;
    b.screenshot("chatbot-test-panel").await;
    assert_eq!(t.count("messages", "1=1").await, 0);

    b.click("#flow-form button[type=submit]").await;
    b.wait_for("location.search.includes('saved=1')", "the saved flow").await;
    let (a, _) = automation::get(&t.app, &Actor::Operator, demo).await.unwrap();
    let chatbot = a.chatbot_id.expect("the first flow saved becomes the default chatbot");

    // The admin assigns it to the demo number, in the page's per-connection section.
    let form = format!("form[action='/admin/connections/{conn}/chatbot']");
    b.js(&choose(&format!("{form} select"), &chatbot.to_string())).await;
    b.click(&format!("{form} button[type=submit]")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let choices = atende::actions::flow_editor::connection_choices(&t.app, &Actor::Operator, demo).await.unwrap();
        if choices == [(conn, chatbot)] {
            break;
        }
        assert!(Instant::now() < deadline, "the connection's chatbot was never saved: {choices:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.wait_for(
        &format!("!!document.querySelector(\"{form} option[value='{chatbot}'][selected]\")"),
        "the page showing the choice",
    )
    .await;

    // A customer writes: the menu arrives as two reply buttons; a tap hands the ticket to Suporte.
    sim.customer_sends("5511987650000", "Rita", CustomerMessage::Text("Oi".into())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let menu = loop {
        if let Some(m) = sim.sent_messages().into_iter().map(|m| m.request).find(|r| r["type"] == "interactive") {
            break m;
        }
        assert!(Instant::now() < deadline, "the menu never reached the customer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(menu["interactive"]["body"]["text"], "Como podemos ajudar?");
    assert_eq!(menu["interactive"]["action"]["buttons"][1]["reply"]["title"], "Suporte");
    sim.customer_sends(
        "5511987650000",
        "Rita",
        CustomerMessage::ButtonReply { id: "opt-2".into(), title: "Suporte".into() },
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT status, department_id FROM tickets ORDER BY id DESC LIMIT 1")
                .fetch_optional(t.app.db.reader())
                .await
                .unwrap();
        if d == Some(("waiting".into(), Some(suporte))) {
            break;
        }
        assert!(Instant::now() < deadline, "the ticket never reached Suporte: {d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.shutdown().await;
}
