//! Chat interno in two headless Chromium sessions against the real server: Bia writes in a
//! group; Ana, on another page, sees the sidebar's unread badge appear and gets a notification
//! for the mention; opening the conversation shows the message (the ticket protocol a link for
//! Bia, its assignee, and plain text for Ana) and clears the badge; Ana's typing shows as
//! "digitando…" on Bia's screen and her reply arrives there live. Without Chromium and
//! chromedriver this says so loudly and does not run.

use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};
use crate::timed_rules::ticket_of;

/// The Notification API replaced by a recorder (headless Chromium shows none), permission given.
const NOTES: &str = "window.__notes = [];
    window.Notification = class { constructor(title, o) { window.__notes.push(title + ' | ' + (o && o.body || '')); }
      static get permission() { return 'granted'; } static requestPermission() { return Promise.resolve('granted'); } };
    localStorage.setItem('atende.notify', 'on'); return true";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_chat_live_with_badge_mention_typing_and_ticket_links() {
    let Some(ana_b) = Browser::start().await else { return };
    let Some(bia_b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let ana = t.create_user(demo, "ana.chat@demo.local", atende::domain::Role::Agent, "senha-da-ana-1").await;
    let bia = t.create_user(demo, "bia.chat@demo.local", atende::domain::Role::Agent, "senha-da-bia-1").await;
    // A ticket of Bia's: Ana may not open it.
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends("5511911180001", "Cliente", wa_sim::CustomerMessage::Text("Oi".into())).await.unwrap();
    let (ticket, _, _) = ticket_of(&t, "5511911180001").await;
    atende::actions::inbox::assign(&t.app, &atende::actions::Actor::Operator, demo, ticket, bia.id).await.unwrap();
    let protocol: String = sqlx::Row::get(
        &sqlx::query("SELECT protocol FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    let group = atende::actions::chat::create_group(
        &t.app,
        &atende::actions::Actor::User(ana.clone()),
        demo,
        "Equipe",
        &[bia.id],
    )
    .await
    .unwrap();

    // Ana is on the home page; no unread messages yet.
    ana_b.login(&t, "ana.chat@demo.local", "senha-da-ana-1", "demo").await;
    ana_b.go(&t.url("/")).await;
    ana_b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "Ana's live stream").await;
    ana_b.js(NOTES).await;
    assert_eq!(ana_b.js("return document.getElementById('chat-badge').hidden").await, json!(true));

    // Bia opens the group and writes, mentioning Ana and naming the ticket.
    bia_b.login(&t, "bia.chat@demo.local", "senha-da-bia-1", "demo").await;
    bia_b.go(&t.url(&format!("/chat/{group}"))).await;
    bia_b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "Bia's live stream").await;
    bia_b.type_into("form.chat-composer textarea", &format!("Oi @ana.chat, veja o #{protocol}\u{E007}")).await;
    bia_b
        .wait_for(
            &format!("document.querySelector('#chat-messages .msg.out a.chat-ticket[href=\"/inbox/{ticket}\"]')"),
            "Bia's message with the ticket link, for her",
        )
        .await;

    // Ana: the badge appears live, and the mention is notified.
    ana_b.wait_for("document.getElementById('chat-badge').textContent === '1' && !document.getElementById('chat-badge').hidden", "the unread badge").await;
    ana_b
        .wait_for(
            "window.__notes.some(n => n.startsWith('bia.chat mencionou você · Equipe') && n.includes('@ana.chat'))",
            "the mention's notification",
        )
        .await;
    ana_b.screenshot("chat-badge-desktop").await;

    // She opens the conversation: the message is there, the protocol is text for her, the
    // mention is marked as hers, and the badge goes.
    ana_b.go(&t.url(&format!("/chat/{group}"))).await;
    ana_b.wait_for("document.querySelector('#chat-messages .msg.in')", "the message").await;
    assert_eq!(ana_b.js("return document.querySelectorAll('#chat-messages a.chat-ticket').length").await, json!(0));
    assert_eq!(
        ana_b.js("return document.querySelector('#chat-messages .chat-protocol').textContent").await,
        json!(format!("#{protocol}"))
    );
    assert_eq!(ana_b.js("return document.querySelector('.mention.me').textContent").await, json!("@ana.chat"));
    ana_b.wait_for("document.getElementById('chat-badge').hidden", "the badge cleared").await;

    // Ana types: Bia sees "digitando…"; Ana's reply arrives on Bia's screen without a reload.
    ana_b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "Ana's stream again").await;
    bia_b.js("window.__stay = 1; return true").await;
    ana_b.type_into("form.chat-composer textarea", "Recebido").await;
    bia_b
        .wait_for(
            "document.getElementById('chat-typing').textContent === 'ana.chat digitando…'",
            "the typing indicator",
        )
        .await;
    ana_b.type_into("form.chat-composer textarea", ", obrigada!\u{E007}").await;
    bia_b
        .wait_for(
            "[...document.querySelectorAll('#chat-messages .msg.in .msg-body')].some(b => b.textContent === 'Recebido, obrigada!')",
            "Ana's reply, live",
        )
        .await;
    assert_eq!(bia_b.js("return window.__stay").await, json!(1), "no reload");
    bia_b.wait_for("document.getElementById('chat-typing').textContent === ''", "the indicator gone").await;
    // Bia is looking at the conversation: it is read at once, so her badge stays away.
    bia_b.wait_for("document.getElementById('chat-badge').hidden", "Bia's badge").await;
    bia_b.screenshot("chat-conversation-desktop").await;

    // Bia sends an image (no text): it shows inline on Ana's screen, live.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("quadro.png");
    std::fs::write(&png, crate::chat::PNG).unwrap();
    bia_b.type_into("input.chat-file-input", png.to_str().unwrap()).await;
    bia_b
        .wait_for("document.querySelector('.chat-file-name').textContent.startsWith('quadro.png')", "the file's name")
        .await;
    bia_b.click("form.chat-composer button[type=submit]").await;
    ana_b
        .wait_for(
            "[...document.querySelectorAll('#chat-messages .msg.in img.msg-image')].some(i => i.complete && i.naturalWidth === 8)",
            "the image, inline and live",
        )
        .await;
    bia_b.wait_for("document.querySelector('.chat-file-name').textContent === ''", "the composer cleared").await;
    assert_eq!(t.count("chat_messages", "1 = 1").await, 3);
    sim.shutdown().await;
    t.stop().await;
}
