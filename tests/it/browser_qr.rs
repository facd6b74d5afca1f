//! WhatsApp by QR code in headless Chromium: an admin adds a "WhatsApp (QR Code)" connection on
//! Conexões, the QR appears (inline SVG) and is redrawn live as it rotates; the phone (a second
//! browser on the gateway stand-in's page) scans it; the badge turns "Conectado" live; a customer
//! writes and the admin answers from the inbox; the gateway receives the reply.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::browser::Browser;
use crate::support::{Engine, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_connects_whatsapp_by_qr_code_and_answers_a_customer() {
    let Some(b) = Browser::start().await else { return };
    let config =
        evo_sim::GatewayConfig { qr_rotate_every: Duration::from_secs(3), ..evo_sim::GatewayConfig::default() };
    let gw = evo_sim::Gateway::start(config).await.unwrap();
    let (url, key) = (gw.base_url(), gw.api_key().to_string());
    let t = TestApp::spawn_with(Engine::Sqlite, None, move |s| {
        s.gateway_url = Some(url);
        s.gateway_api_key = Some(atende::config::Secret::new(key));
    })
    .await;
    let demo = t.demo_tenant().await;

    b.login(&t, "admin@demo.local", &t.logins.demo_password.clone(), "demo").await;
    b.go(&t.url("/admin/connections")).await;
    b.click("button.add-qr").await;
    b.wait_for("document.querySelector('.qr-scan figure.qr svg')", "the QR code").await;
    assert_eq!(b.js("return document.querySelector('.connection-state').dataset.state").await, json!("qr"));
    b.screenshot("connections-qr").await;
    let instance = atende::store::connections::list(t.app.db.reader(), demo)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "whatsapp_qr")
        .unwrap()
        .phone_number_id;
    // The QR rotates and the page redraws it by itself.
    let first = b.js("return document.querySelector('.qr-scan figure.qr').innerHTML").await;
    b.wait_for_secs(
        &format!("document.querySelector('.qr-scan figure.qr') && document.querySelector('.qr-scan figure.qr').innerHTML !== {first}"),
        "the rotated QR",
        20,
    )
    .await;

    // The phone scans the code shown now, on the stand-in's page.
    let phone = Browser::start().await.unwrap();
    phone.go(&gw.base_url()).await;
    let scan = format!("#instance-{instance} .scan");
    phone.wait_for(&format!("document.querySelector('{scan}') && document.querySelector('#instance-{instance} .qr-code').textContent.length > 10"), "the phone page").await;
    phone.click(&scan).await;
    // Up to a minute: the badge waits for the session job and the live stream, which the full
    // suite's parallel load on two cores has delayed past 20 s.
    b.wait_for_secs(
        "document.querySelector('.connection-state[data-state=connected]') && document.querySelector('.connection-state .badge').textContent === 'Conectado'",
        "the Conectado badge, live",
        60,
    )
    .await;
    assert_eq!(b.js("return document.querySelectorAll('.qr-scan').length").await, json!(0));
    b.screenshot("connections-qr-connected").await;
    drop(phone);

    gw.customer_sends(
        &instance,
        "5511987654321",
        "Joana",
        evo_sim::CustomerMessage::Text("Oi! Vocês entregam?".into()),
    )
    .await
    .unwrap();
    b.go(&t.url("/inbox?tab=waiting")).await;
    b.wait_for(
        "[...document.querySelectorAll('#ticket-list .preview')].some(e => e.textContent.includes('entregam'))",
        "the customer's ticket",
    )
    .await;
    b.click("#ticket-list li.ticket a").await;
    b.wait_for("document.querySelector('.conversation[data-ticket-id]')", "the conversation").await;
    b.click("button.capture").await;
    b.wait_for("!document.querySelector('button.capture')", "the capture").await;
    b.type_into("form.composer textarea", "Entregamos sim!\u{E007}").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !gw.sent_messages(&instance).iter().any(|m| m.text.as_deref() == Some("Entregamos sim!")) {
        assert!(Instant::now() < deadline, "the gateway did not receive the reply");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.stop().await;
    gw.shutdown().await;
}
