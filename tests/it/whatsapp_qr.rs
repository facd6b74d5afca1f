//! WhatsApp by QR code end to end against `evo-sim` (Evolution API v2's wire format over real
//! HTTP): the QR is recorded and rotates, the phone scans it, customers write (text, image,
//! voice), agents answer (text, file, buttons as numbered text), messages written on the phone
//! arrive as sent by "Celular", a dropped session comes back with back-off, an unlinked one asks
//! for a new QR, sends wait while the session is down, and the webhook refuses bodies without
//! the instance's key. On SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use atende::actions::send::{self, SendRequest, SendTarget};
use atende::actions::{qr_sessions, Actor};
use atende::domain::connection::ConnectionState;
use atende::domain::outbound::{interactive_buttons, MediaKind, OutboundContent};
use atende::domain::TenantId;
use atende::store::connections::Connection;
use evo_sim::{CustomerMessage, Disconnect, Gateway, GatewayConfig, SentKind};

use crate::support::{Engine, TestApp};

const CUSTOMER: &str = "5511987654321";

/// One test per engine with a fresh gateway (fast QR rotation) that the app is configured for.
macro_rules! qr_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (t, gw) = spawn(Engine::Sqlite).await.unwrap();
                ($body)(t, gw).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((t, gw)) = spawn(Engine::Postgres).await else { return };
                ($body)(t, gw).await;
            }
        }
    };
}

async fn spawn(engine: Engine) -> Option<(TestApp, Gateway)> {
    let config = GatewayConfig { qr_rotate_every: Duration::from_millis(300), ..GatewayConfig::default() };
    let gw = Gateway::start(config).await.unwrap();
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(crate::support::fresh_postgres_database(&crate::support::postgres_base_url()?).await),
    };
    let (gateway_url, key) = (gw.base_url(), gw.api_key().to_string());
    let t = TestApp::spawn_with(engine, url, move |s| {
        s.gateway_url = Some(gateway_url);
        s.gateway_api_key = Some(atende::config::Secret::new(key));
        // The app's webhook URL names this test's port only once it is bound: set below.
    })
    .await;
    Some((t, gw))
}

async fn connection(t: &TestApp, tenant: TenantId, id: i64) -> Connection {
    atende::store::connections::get(t.app.db.reader(), tenant, id).await.unwrap().unwrap()
}

/// Polls `check` for at most 15 s.
async fn eventually<T, Fut: std::future::Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> Fut) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state_becomes(t: &TestApp, tenant: TenantId, id: i64, state: ConnectionState) -> Connection {
    eventually(state.as_str(), || async {
        let c = connection(t, tenant, id).await;
        (c.state == state).then_some(c)
    })
    .await
}

/// A QR connection of the demo company, scanned and connected; returns it.
async fn connected(t: &TestApp, gw: &Gateway) -> (TenantId, Connection) {
    let demo = t.demo_tenant().await;
    let c = create(t, demo).await;
    let code = gw.current_qr(&c.phone_number_id).expect("the instance shows a QR");
    gw.scan(&c.phone_number_id, &code).await.unwrap();
    (demo, state_becomes(t, demo, c.id, ConnectionState::Connected).await)
}

async fn create(t: &TestApp, tenant: TenantId) -> Connection {
    // The webhook URL is the app's base URL, which tests serve on a random port.
    let c = qr_sessions::create(&t.app, &Actor::Operator, tenant, "Loja").await.unwrap();
    assert_eq!(c.kind, "whatsapp_qr");
    c
}

async fn ticket_of_customer(t: &TestApp, tenant: TenantId) -> i64 {
    let sql =
        "SELECT t.id FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.tenant_id = $1 AND c.phone = $2";
    eventually("the customer's ticket", || async {
        sqlx::query_scalar::<_, i64>(sql).bind(tenant.0).bind(CUSTOMER).fetch_optional(t.app.db.reader()).await.unwrap()
    })
    .await
}

async fn send_to_ticket(t: &TestApp, tenant: TenantId, ticket: i64, content: OutboundContent) -> i64 {
    let request = SendRequest {
        marketing: false,
        tenant,
        target: SendTarget::Ticket(ticket),
        content,
        reply_to: None,
        idempotency_key: None,
    };
    send::send_message(&t.app, &Actor::Operator, request).await.unwrap().id
}

async fn status_of(t: &TestApp, tenant: TenantId, message: i64) -> String {
    atende::store::messages::get(t.app.db.reader(), tenant, message).await.unwrap().unwrap().status
}

qr_test!(a_scanned_qr_connection_receives_and_answers, |t: TestApp, gw: Gateway| async move {
    let demo = t.demo_tenant().await;
    let c = create(&t, demo).await;
    assert_eq!(c.state, ConnectionState::Qr);
    let first = c.qr_code.clone().expect("the first QR is recorded at once");
    // The QR rotates: the gateway's webhook records each new one.
    let rotated = eventually("a rotated QR", || async {
        let now = connection(&t, demo, c.id).await;
        now.qr_code.filter(|q| *q != first)
    })
    .await;
    assert!(rotated.starts_with("2@"));
    assert!(gw.scan(&c.phone_number_id, "2@not-the-code").await.is_err());
    let code = gw.current_qr(&c.phone_number_id).unwrap();
    gw.scan(&c.phone_number_id, &code).await.unwrap();
    let c = state_becomes(&t, demo, c.id, ConnectionState::Connected).await;
    assert_eq!(c.qr_code, None);
    assert_eq!(c.linked_phone.as_deref(), Some("5511940000001"));
    assert!(t.count("events", "kind = 'connection.updated' AND data LIKE '%\"state\":\"connected\"%'").await >= 1);

    gw.customer_sends(&c.phone_number_id, CUSTOMER, "Maria", CustomerMessage::Text("Oi, vocês abrem sábado?".into()))
        .await
        .unwrap();
    let ticket = ticket_of_customer(&t, demo).await;
    assert_eq!(
        t.count("messages", &format!("ticket_id = {ticket} AND direction = 'in' AND body = 'Oi, vocês abrem sábado?'"))
            .await,
        1
    );
    assert_eq!(t.count("contacts", &format!("phone = '{CUSTOMER}' AND name = 'Maria'")).await, 1);

    let reply = send_to_ticket(
        &t,
        demo,
        ticket,
        OutboundContent::Text { body: "Abrimos, das 9h às 13h.".into(), preview_url: false },
    )
    .await;
    let sent =
        eventually("the reply at the gateway", || async { gw.sent_messages(&c.phone_number_id).into_iter().next() })
            .await;
    assert_eq!(
        (sent.number.as_str(), sent.kind, sent.text.as_deref()),
        (CUSTOMER, SentKind::Text, Some("Abrimos, das 9h às 13h."))
    );
    // The gateway's acks move the message on.
    eventually("delivered", || async { (status_of(&t, demo, reply).await == "delivered").then_some(()) }).await;
    let m = atende::store::messages::get(t.app.db.reader(), demo, reply).await.unwrap().unwrap();
    assert_eq!(m.provider_id.as_deref(), Some(sent.id.as_str()));

    // Buttons become numbered text on WhatsApp Web.
    let buttons =
        interactive_buttons("Como podemos ajudar?", &[("v".into(), "Vendas".into()), ("s".into(), "Suporte".into())])
            .unwrap();
    send_to_ticket(&t, demo, ticket, OutboundContent::Interactive { interactive: buttons }).await;
    let numbered =
        eventually("the numbered choices", || async { gw.sent_messages(&c.phone_number_id).into_iter().nth(1) }).await;
    assert_eq!(numbered.text.as_deref(), Some("Como podemos ajudar?\n1. Vendas\n2. Suporte"));

    // A file goes inline, as the agent attached it.
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let source =
        send::store_attachment(&t.app, &Actor::Operator, demo, MediaKind::Document, pdf.clone()).await.unwrap();
    let doc = OutboundContent::Media {
        kind: MediaKind::Document,
        source,
        caption: Some("Tabela".into()),
        filename: Some("tabela.pdf".into()),
    };
    send_to_ticket(&t, demo, ticket, doc).await;
    let file = eventually("the document", || async { gw.sent_messages(&c.phone_number_id).into_iter().nth(2) }).await;
    assert_eq!(
        (file.kind, file.media_len, file.file_name.as_deref()),
        (SentKind::Document, Some(pdf.len()), Some("tabela.pdf"))
    );
    t.stop().await;
    gw.shutdown().await;
});

qr_test!(customer_media_is_fetched_from_the_gateway, |t: TestApp, gw: Gateway| async move {
    let (demo, c) = connected(&t, &gw).await;
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 300][..]].concat();
    let image =
        CustomerMessage::Image { bytes: jpeg.clone(), mime: "image/jpeg".into(), caption: Some("o boleto".into()) };
    gw.customer_sends(&c.phone_number_id, CUSTOMER, "Maria", image).await.unwrap();
    let voice = CustomerMessage::Audio {
        bytes: b"OggS\0\x02fake-opus".to_vec(),
        mime: "audio/ogg; codecs=opus".into(),
        voice: true,
    };
    gw.customer_sends(&c.phone_number_id, CUSTOMER, "Maria", voice).await.unwrap();
    let ticket = ticket_of_customer(&t, demo).await;
    eventually("the image stored", || async {
        (t.count(
            "messages",
            &format!("ticket_id = {ticket} AND kind = 'image' AND media_size = {} AND body = 'o boleto'", jpeg.len()),
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    eventually("the voice note stored", || async {
        (t.count("messages", &format!("ticket_id = {ticket} AND kind = 'voice' AND media_path IS NOT NULL")).await == 1)
            .then_some(())
    })
    .await;
    t.stop().await;
    gw.shutdown().await;
});

qr_test!(messages_written_on_the_phone_are_ours_and_not_unread, |t: TestApp, gw: Gateway| async move {
    let (demo, c) = connected(&t, &gw).await;
    gw.customer_sends(&c.phone_number_id, CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
    let ticket = ticket_of_customer(&t, demo).await;
    gw.phone_sends(&c.phone_number_id, CUSTOMER, "Respondi pelo celular").await.unwrap();
    eventually("the phone's message", || async {
        (t.count("messages", &format!("ticket_id = {ticket} AND direction = 'out' AND origin = 'phone' AND status = 'sent' AND body = 'Respondi pelo celular'")).await == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        t.count("tickets", &format!("id = {ticket} AND unread_count = 1")).await,
        1,
        "only the customer's message is unread"
    );
    // The inbox signs it "Celular".
    let admin = t.login_demo_admin().await;
    let page = admin.get(t.url(&format!("/inbox/{ticket}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Respondi pelo celular") && page.contains("Celular"), "{page}");
    t.stop().await;
    gw.shutdown().await;
});

qr_test!(
    a_dropped_session_comes_back_with_back_off_and_an_unlinked_one_asks_for_a_new_qr,
    |t: TestApp, gw: Gateway| async move {
        let (demo, c) = connected(&t, &gw).await;
        let before = gw.connect_calls(&c.phone_number_id);
        gw.disconnect(&c.phone_number_id, Disconnect::Dropped { failing_connects: 2 }).await.unwrap();
        let dropped = connection(&t, demo, c.id).await;
        assert!(
            matches!(dropped.state, ConnectionState::Disconnected | ConnectionState::Connected),
            "{:?}",
            dropped.state
        );
        let started = Instant::now();
        let back = state_becomes(&t, demo, c.id, ConnectionState::Connected).await;
        // Two connects failed and the third brought it back, with waits in between (1 s and 2 s at
        // most, each at least half of that): never a tight loop.
        assert_eq!(gw.connect_calls(&c.phone_number_id) - before, 3);
        assert!(started.elapsed() >= Duration::from_millis(1400), "{:?}", started.elapsed());
        assert_eq!(back.reconnect_attempt, 0);
        let sql = "kind = 'connection.updated' AND data LIKE '%\"state\":\"disconnected\"%'";
        assert_eq!(t.count("events", sql).await, 1);

        // Sends wait while the session is down, and go once it is back.
        gw.customer_sends(&c.phone_number_id, CUSTOMER, "Maria", CustomerMessage::Text("Oi".into())).await.unwrap();
        let ticket = ticket_of_customer(&t, demo).await;
        gw.disconnect(&c.phone_number_id, Disconnect::Dropped { failing_connects: 1000 }).await.unwrap();
        state_becomes(&t, demo, c.id, ConnectionState::Disconnected).await;
        let waiting =
            send_to_ticket(&t, demo, ticket, OutboundContent::Text { body: "Já volto".into(), preview_url: false })
                .await;
        eventually("the send to wait", || async {
            (t.count(
                "jobs",
                &format!(
                    "kind = 'whatsapp.send' AND attempts >= 1 AND state = 'queued' AND payload LIKE '%{waiting}%'"
                ),
            )
            .await
                == 1)
                .then_some(())
        })
        .await;
        assert_eq!(status_of(&t, demo, waiting).await, "queued");
        assert!(gw.sent_messages(&c.phone_number_id).is_empty());

        // The phone unlinks the device: no more retrying, a new QR is needed.
        gw.disconnect(&c.phone_number_id, Disconnect::LoggedOut).await.unwrap();
        let failed = state_becomes(&t, demo, c.id, ConnectionState::Failed).await;
        assert!(failed.last_error.unwrap_or_default().contains("unlinked"));
        let c = qr_sessions::reconnect(&t.app, &Actor::Operator, demo, c.id, None).await.unwrap();
        assert_eq!(c.state, ConnectionState::Qr);
        assert!(c.qr_code.is_some());
        // With the phone's number, a pairing code too.
        let c = qr_sessions::reconnect(&t.app, &Actor::Operator, demo, c.id, Some("+55 11 94000-0001")).await.unwrap();
        assert!(c.pairing_code.is_some_and(|p| p.len() >= 8));
        t.stop().await;
        gw.shutdown().await;
    }
);

qr_test!(gateway_webhooks_need_the_instance_key, |t: TestApp, gw: Gateway| async move {
    let (_, c) = connected(&t, &gw).await;
    let client = reqwest::Client::new();
    let url = t.url(&format!("/hooks/gateway/{}", c.id));
    let body = |apikey: &str, instance: &str| {
        serde_json::json!({"event": "messages.upsert", "instance": instance, "apikey": apikey,
            "data": {"key": {"remoteJid": format!("{CUSTOMER}@s.whatsapp.net"), "fromMe": false, "id": "FORGED1"},
                     "message": {"conversation": "forged"}, "messageType": "conversation"}})
    };
    let forged = client.post(&url).json(&body("guessed", &c.phone_number_id)).send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let missing =
        client.post(&url).json(&serde_json::json!({"event": "messages.upsert", "data": {}})).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let bad = client.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = client.post(t.url("/hooks/gateway/999999")).json(&body("x", "y")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(t.count("messages", "provider_id = 'FORGED1'").await, 0);
    t.stop().await;
    gw.shutdown().await;
});
