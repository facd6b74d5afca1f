//! The kanban in headless Chromium, two people at once: a card dragged to another column in one
//! browser moves in the other live, and the keyboard (← on a focused card) moves it back, seen
//! by the first. The drag is the browser's own DragEvent sequence (dragstart, dragover, drop)
//! dispatched on the card and the column, since WebDriver cannot drive a native HTML5 drag.
//! Screenshots go to `target/screenshots/`.

use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};
use crate::vault::{connect, customer_writes};

fn in_lane(ticket: i64, lane: i64) -> String {
    format!("document.querySelector('.kanban-lane[data-lane=\"{lane}\"] .kanban-card[data-ticket=\"{ticket}\"]')")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_dragged_in_one_browser_moves_live_in_another() {
    let Some(first) = Browser::start().await else { return };
    let Some(second) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let op = atende::actions::Actor::Operator;
    let tag = |name: &'static str| {
        let (app, op) = (&t.app, &op);
        async move { atende::actions::contacts::create_tag(app, op, demo, name, "#0b7a5e").await.unwrap().id }
    };
    let (novo, proposta) = (tag("Novo contato").await, tag("Proposta").await);
    atende::actions::kanban::set_lane(&t.app, &op, demo, novo, Some(1)).await.unwrap();
    atende::actions::kanban::set_lane(&t.app, &op, demo, proposta, Some(2)).await.unwrap();
    let conn = connect(&t, demo, "PNKANBANB").await;
    let ticket = customer_writes(&t, conn, "PNKANBANB", "5511911180001", "wamid.KB1", "Quero uma proposta").await;
    atende::actions::kanban::move_ticket(&t.app, &op, demo, ticket, Some(novo)).await.unwrap();
    t.create_user(demo, "carla@demo.local", atende::domain::Role::Supervisor, "carla-password-1").await;

    first.login(&t, "admin@demo.local", &t.logins.demo_password, "demo").await;
    second.login(&t, "carla@demo.local", "carla-password-1", "demo").await;
    for b in [&first, &second] {
        b.go(&t.url("/kanban")).await;
        b.wait_for(&in_lane(ticket, novo), "the card in Novo contato").await;
        b.wait_for("document.querySelector('[data-kanban]').dataset.live", "the live stream").await;
    }

    // Dragged to Proposta in the first browser: the second sees it there.
    let drag = format!(
        "const card = document.querySelector('.kanban-card[data-ticket=\"{ticket}\"]');
         const lane = document.querySelector('.kanban-lane[data-lane=\"{proposta}\"]');
         const dt = new DataTransfer();
         card.dispatchEvent(new DragEvent('dragstart', {{ bubbles: true, dataTransfer: dt }}));
         lane.dispatchEvent(new DragEvent('dragover', {{ bubbles: true, cancelable: true, dataTransfer: dt }}));
         lane.dispatchEvent(new DragEvent('drop', {{ bubbles: true, cancelable: true, dataTransfer: dt }}));
         card.dispatchEvent(new DragEvent('dragend', {{ bubbles: true, dataTransfer: dt }}));
         return true;"
    );
    first.js(&drag).await;
    first.wait_for(&in_lane(ticket, proposta), "the card dropped in Proposta").await;
    second.wait_for(&in_lane(ticket, proposta), "the card moved live in the other browser").await;
    second.screenshot("kanban-moved-live").await;
    let lanes = format!("ticket_id = {ticket} AND tag_id = {proposta}");
    assert_eq!(t.count("ticket_tags", &lanes).await, 1, "the lane tag is on the ticket");
    assert_eq!(t.count("ticket_tags", &format!("ticket_id = {ticket} AND tag_id = {novo}")).await, 0);

    // The keyboard in the second browser: ← moves it back one column; the first follows.
    let card = second.find(&format!(".kanban-card[data-ticket=\"{ticket}\"]")).await;
    second.cmd(reqwest::Method::POST, &format!("/element/{card}/value"), Some(json!({"text": "\u{E012}"}))).await;
    second.wait_for(&in_lane(ticket, novo), "the card moved by the keyboard").await;
    assert_eq!(
        second.js("return document.activeElement.dataset.ticket").await,
        json!(ticket.to_string()),
        "the card keeps the focus"
    );
    first.wait_for(&in_lane(ticket, novo), "the keyboard's move seen in the first browser").await;
    first.screenshot("kanban-keyboard-move").await;
    assert_eq!(t.count("ticket_events", &format!("ticket_id = {ticket} AND kind = 'lane'")).await, 3);
    t.stop().await;
}
