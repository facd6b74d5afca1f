//! Browser test of the composer extras: headless Chromium with a fake microphone
//! (`--use-fake-device-for-media-stream`) over WebDriver against the real server and the
//! WhatsApp simulator. An agent attaches an image with a caption, replies to a customer's
//! message (WhatsApp context reaches the simulator) and records a voice note that arrives at the
//! simulator as `audio/ogg`. Screenshots go to `target/screenshots/`. Without Chromium and
//! chromedriver this says so loudly and does not run.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::support::{sent_to_sim, sim_media_type, Engine, TestApp};

/// Logs the demo admin in and opens the first ticket of "Todos".
async fn open_first_ticket_as_admin(b: &Browser, t: &TestApp) {
    b.login(t, "admin@demo.local", &t.logins.demo_password, "demo").await;
    b.go(&t.url("/inbox?tab=all")).await;
    b.click("#ticket-list li.ticket a").await;
    b.wait_for("document.querySelector('.conversation[data-ticket-id]')", "the conversation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_attaches_an_image_replies_to_a_message_and_records_a_voice_note() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    let asked = sim
        .customer_sends("5511987654321", "Rita", wa_sim::CustomerMessage::Text("Vocês entregam no sábado?".into()))
        .await
        .unwrap();

    open_first_ticket_as_admin(&b, &t).await;

    // Attach an image (the file input takes a path over WebDriver) and send it with a caption.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("comprovante.png");
    // An 8×8 green PNG.
    std::fs::write(&png, b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x08\x00\x00\x00\x08\x08\x02\x00\x00\x00\x4b\x6d\x29\xdc\x00\x00\x00\x11\x49\x44\x41\x54\x78\x9c\x63\xe0\xae\x8a\xc3\x8a\x18\x86\x96\x04\x00\x18\x52\x38\xc1\x8c\xc7\x80\xf0\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82").unwrap();
    b.type_into("input.attach-input", png.to_str().unwrap()).await;
    b.wait_for("!document.querySelector('.attachment-preview').hidden", "the attachment preview").await;
    b.screenshot("composer-attachment-desktop").await;
    b.type_into("form.composer textarea", "Seu comprovante\u{E007}").await;
    let image = sent_to_sim(&sim, "the image", |r| r["type"] == "image").await;
    assert_eq!(image["image"]["caption"], "Seu comprovante");
    assert_eq!(sim_media_type(&sim, image["image"]["id"].as_str().unwrap()).await, "image/png");
    b.wait_for("document.querySelector('.attachment-preview').hidden", "the composer cleared").await;
    b.wait_for(
        "[...document.querySelectorAll('.msg.out img.msg-image')].some(i => i.complete && i.naturalWidth === 8)",
        "the image shown inline in its bubble",
    )
    .await;

    // Reply to the customer's question: the composer shows the quote; WhatsApp gets the context.
    b.click(".msg.in .reply-button").await;
    b.wait_for(
        "!document.querySelector('.reply-preview').hidden && document.querySelector('.reply-text').textContent.includes('sábado')",
        "the quoted message above the composer",
    )
    .await;
    b.type_into("form.composer textarea", "Sim, até as 13h.\u{E007}").await;
    let reply = sent_to_sim(&sim, "the reply", |r| r["text"]["body"] == "Sim, até as 13h.").await;
    assert_eq!(reply["context"]["message_id"], asked.message_id.as_str());
    b.wait_for("document.querySelector('.msg.out .msg-quote')", "the quote in our bubble").await;
    b.screenshot("composer-reply-desktop").await;

    // A voice note from the fake microphone: recorded as WebM, arrives as Ogg Opus.
    b.wait_for("!document.querySelector('.record-button').hidden", "the record button").await;
    b.click(".record-button").await;
    b.wait_for("document.querySelector('.record-button.recording')", "recording").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.click(".record-button").await;
    let audio = sent_to_sim(&sim, "the voice note", |r| r["type"] == "audio").await;
    assert_eq!(sim_media_type(&sim, audio["audio"]["id"].as_str().unwrap()).await, "audio/ogg");
    b.wait_for("document.querySelector('.msg.out audio.msg-audio')", "an audio player for the voice note").await;
    // The remuxed file is real Ogg Opus: Chromium's own decoder plays it back, about as long as
    // the recording.
    let sql = "SELECT payload FROM messages WHERE kind = 'audio'";
    let payload: String = sqlx::Row::get(&sqlx::query(sql).fetch_one(t.app.db.reader()).await.unwrap(), 0);
    let payload: Value = serde_json::from_str(&payload).unwrap();
    let sha = payload["content"]["source"]["stored"]["sha256"].as_str().unwrap_or_else(|| panic!("{payload}"));
    let ogg = std::fs::read(t.dir.path().join("media").join(&sha[..2]).join(sha)).unwrap();
    assert!(ogg.starts_with(b"OggS"));
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &ogg);
    let seconds = b
        .js(&format!(
            "const bytes = Uint8Array.from(atob('{b64}'), c => c.charCodeAt(0));
             return new OfflineAudioContext(1, 48000, 48000).decodeAudioData(bytes.buffer).then(a => a.duration, e => String(e));"
        ))
        .await;
    let seconds = seconds.as_f64().unwrap_or_else(|| panic!("Chromium could not decode the Ogg: {seconds}"));
    assert!((0.8..5.0).contains(&seconds), "{seconds} s");

    // Phone width: the composer's buttons stay usable.
    b.cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": 390, "height": 844}))).await;
    b.js("location.reload(); return true").await;
    b.wait_for("document.querySelector('.conversation[data-ticket-id]')", "the conversation on a phone").await;
    let visible = b
        .js("const r = document.querySelector('.attach-button').getBoundingClientRect(); return r.width > 30 && r.right <= innerWidth")
        .await;
    assert_eq!(visible, json!(true));
    b.screenshot("composer-phone").await;
    sim.shutdown().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_can_be_dropped_or_pasted_and_notifications_are_asked_for_politely() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends("5511911110000", "Primeira", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();

    open_first_ticket_as_admin(&b, &t).await;
    b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;

    // Nothing is asked on page load beyond the banner; the browser's own prompt waits for a click.
    // The Notification API is replaced by a recorder (headless Chromium shows no notifications).
    b.js("window.__notes = []; window.__asked = 0;
          window.Notification = class { constructor(title, o) { window.__notes.push(title + ' | ' + (o && o.body || '')); }
            static get permission() { return window.__asked ? 'granted' : 'default'; }
            static requestPermission() { window.__asked++; return Promise.resolve('granted'); } };
          return true")
        .await;
    assert_eq!(b.js("return window.__asked").await, json!(0));
    b.wait_for("!document.querySelector('.notify-ask').hidden", "the polite question").await;
    b.click(".notify-enable").await;
    b.wait_for("window.__asked === 1 && localStorage.getItem('atende.notify') === 'on'", "permission asked on click")
        .await;
    b.wait_for("document.querySelector('.notify-ask').hidden", "the question answered").await;
    assert_eq!(
        b.js("return document.querySelector('.notify-toggle').textContent").await,
        json!("Notificações ligadas")
    );

    // A new customer while another ticket is open: a notification for the waiting ticket.
    sim.customer_sends(
        "5511922220000",
        "Segunda <b>Cliente</b>",
        wa_sim::CustomerMessage::Text("preciso de ajuda".into()),
    )
    .await
    .unwrap();
    b.wait_for(
        "window.__notes.some(n => n.startsWith('Novo atendimento em espera: Segunda <b>Cliente</b>'))",
        "a notification for the new waiting ticket",
    )
    .await;
    // Turned off, nothing more is notified.
    b.click(".notify-toggle").await;
    assert_eq!(b.js("return localStorage.getItem('atende.notify')").await, json!("off"));
    let before = b.js("return window.__notes.length").await;
    sim.customer_sends("5511933330000", "Terceira", wa_sim::CustomerMessage::Text("olá".into())).await.unwrap();
    b.wait_for(
        "[...document.querySelectorAll('#ticket-list .contact')].some(e => e.textContent === 'Terceira')",
        "the third ticket listed",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.js("return window.__notes.length").await, before);

    // Dropping a file on the conversation, or pasting one into the text box, attaches it.
    b.js("const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array([0x25,0x50,0x44,0x46,0x2d])], 'arrastado.pdf', { type: 'application/pdf' }));
          document.querySelector('.conversation').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
          return true")
        .await;
    b.wait_for(
        "document.querySelector('.attachment-name').textContent.startsWith('arrastado.pdf')",
        "the dropped file attached",
    )
    .await;
    assert_eq!(b.js("return document.querySelector('form.composer textarea').required").await, json!(false));
    b.click(".attachment-remove").await;
    b.wait_for("document.querySelector('.attachment-preview').hidden", "the file removed").await;
    b.js("const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array([0x89,0x50,0x4e,0x47])], 'colado.png', { type: 'image/png' }));
          document.querySelector('form.composer textarea').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
          return true")
        .await;
    b.wait_for(
        "document.querySelector('.attachment-name').textContent.startsWith('colado.png')",
        "the pasted file attached",
    )
    .await;
    // A private note takes no file: the agent is told, nothing reaches WhatsApp.
    b.click("form.composer input[name=note]").await;
    b.click("form.composer button[type=submit]").await;
    b.wait_for(
        "!document.querySelector('.composer-error').hidden && document.querySelector('.composer-error').textContent.includes('Notas internas não levam anexos')",
        "the note-with-file message",
    )
    .await;
    assert!(sim.sent_messages().iter().all(|m| m.request["type"] != "image"), "nothing was sent");
    b.screenshot("composer-notifications-desktop").await;
    atende::actions::contacts::create_tag(
        &t.app,
        &atende::actions::Actor::Operator,
        demo,
        "VIP <i>ouro</i>",
        "#dc2626",
    )
    .await
    .unwrap();
    b.go(&t.url("/admin/tags")).await;
    assert_eq!(
        b.js("return document.querySelector('form.tag-row input[name=name]').value").await,
        json!("VIP <i>ouro</i>")
    );
    b.wait_for("document.querySelector('form.tag-row')", "the Tags page").await;
    b.screenshot("admin-tags-desktop").await;
    sim.shutdown().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_messages_load_when_scrolling_up_and_stay_when_new_ones_arrive() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    let items = (1..=70)
        .map(|i| {
            ("5511944440000".to_string(), "Longa".to_string(), wa_sim::CustomerMessage::Text(format!("mensagem {i}")))
        })
        .collect();
    let d = sim.customer_sends_batch(items, wa_sim::BatchShape::OneChange).await.unwrap();
    assert_eq!(d.status, 200);

    open_first_ticket_as_admin(&b, &t).await;
    b.wait_for("document.getElementById('live-status').textContent === 'ao vivo'", "the live badge").await;
    assert_eq!(b.js("return document.querySelectorAll('#messages .msg').length").await, json!(50));
    let first = "[...document.querySelectorAll('#messages .msg-body')].some(e => e.textContent === 'mensagem 1')";
    assert_eq!(b.js(&format!("return {first}")).await, json!(false));

    b.js("document.getElementById('messages').scrollTop = 0; return true").await;
    b.wait_for(first, "the oldest message after scrolling up").await;
    assert_eq!(b.js("return document.querySelectorAll('#messages .msg').length").await, json!(70));
    assert_eq!(b.js("return !!document.querySelector('#messages .older')").await, json!(false), "no more to load");
    assert!(
        b.js("return document.getElementById('messages').scrollTop").await.as_f64().unwrap() > 0.0,
        "the view stays put"
    );

    // A new message is appended live; the older ones stay loaded.
    sim.customer_sends("5511944440000", "Longa", wa_sim::CustomerMessage::Text("mensagem nova".into())).await.unwrap();
    b.wait_for(
        "[...document.querySelectorAll('#messages .msg-body')].some(e => e.textContent === 'mensagem nova')",
        "the new message",
    )
    .await;
    assert_eq!(b.js(&format!("return {first}")).await, json!(true));
    assert_eq!(b.js("return document.querySelectorAll('#messages .msg').length").await, json!(71));
    b.screenshot("inbox-older-messages-desktop").await;
    sim.shutdown().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_a_slash_offers_quick_replies_filled_for_the_ticket() {
    let Some(b) = Browser::start().await else { return };
    let t = TestApp::spawn(Engine::Sqlite).await;
    let demo = t.demo_tenant().await;
    let (sim, _) = t.simulator(demo).await;
    sim.customer_sends("5511987654321", "Rita", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
    for (shortcut, body) in [("ola", "Olá {{nome}}, tudo bem?"), ("preco", "O plano custa R$ 99.")] {
        let input = atende::actions::quick_replies::QuickReplyInput {
            department_id: None,
            shortcut: shortcut.into(),
            body: body.into(),
        };
        atende::actions::quick_replies::create_quick_reply(&t.app, &atende::actions::Actor::Operator, demo, input)
            .await
            .unwrap();
    }
    open_first_ticket_as_admin(&b, &t).await;
    // "/" opens the list with both, previews filled for Rita.
    b.type_into("form.composer textarea", "/").await;
    b.wait_for("!document.querySelector('#quick-list').hidden", "the quick-reply list").await;
    b.wait_for("document.querySelectorAll('#quick-list [role=option]').length === 2", "both replies").await;
    assert_eq!(
        b.js("return document.querySelector('form.composer textarea').getAttribute('aria-expanded')").await,
        json!("true")
    );
    let first = b.js("return document.querySelector('#quick-list [aria-selected=true]').textContent").await;
    assert!(first.as_str().unwrap().contains("Olá Rita, tudo bem?"), "{first}");
    // Typing filters; the arrow moves; Enter puts the filled text in the box, not sent yet.
    b.type_into("form.composer textarea", "pr").await;
    b.wait_for("document.querySelectorAll('#quick-list [role=option]').length === 1", "the filtered list").await;
    b.type_into("form.composer textarea", "\u{E007}").await;
    b.wait_for("document.querySelector('#quick-list').hidden", "the list closed").await;
    assert_eq!(
        b.js("return document.querySelector('form.composer textarea').value").await,
        json!("O plano custa R$ 99.")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.count("messages", "direction = 'out'").await, 0, "Enter on the list does not send");
    // Escape closes the list and keeps what was typed; Enter then sends as usual.
    b.js("const x = document.querySelector('form.composer textarea'); x.value = ''; return true").await;
    b.type_into("form.composer textarea", "/ol").await;
    b.wait_for("!document.querySelector('#quick-list').hidden", "the list again").await;
    b.type_into("form.composer textarea", "\u{E00C}").await;
    b.wait_for("document.querySelector('#quick-list').hidden", "closed by Escape").await;
    assert_eq!(b.js("return document.querySelector('form.composer textarea').value").await, json!("/ol"));
    // The attach control is a real button (reachable by Tab).
    assert_eq!(b.js("return document.querySelector('.attach-button').tagName").await, json!("BUTTON"));
    assert_eq!(
        b.js("return document.querySelector('#live-announce').getAttribute('aria-live')").await,
        json!("polite")
    );
    sim.shutdown().await;
    t.stop().await;
}
