//! WhatsApp Cloud API inbound: verification, signatures, every message of a batched delivery,
//! de-duplication, contacts (Brazilian ninth digit), tickets, forward-only statuses, live events.

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::Actor;
use atende::domain::TenantId;
use serde_json::{json, Value};
use sqlx::Row;

use crate::engine_test;
use crate::support::TestApp;

const SECRET: &str = "app-secret-for-tests";

struct Conn {
    id: i64,
    verify_token: String,
}

async fn connect(t: &TestApp, tenant: TenantId, phone_number_id: &str) -> Conn {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id,
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    let created = create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap();
    assert!(created.webhook_url.ends_with(&format!("/hooks/whatsapp/{}", created.connection.id)));
    Conn { id: created.connection.id, verify_token: created.connection.verify_token }
}

fn sign(secret: &str, body: &str) -> String {
    format!("sha256={}", atende::crypto::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()))
}

async fn post(t: &TestApp, conn: i64, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(t.url(&format!("/hooks/whatsapp/{conn}"))).body(body.to_string());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    req.send().await.unwrap()
}

async fn deliver(t: &TestApp, conn: i64, value: Value) -> Value {
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":value}]}]})
        .to_string();
    let response = post(t, conn, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn text_message(from: &str, id: &str, text: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}})
}

fn meta(phone_number_id: &str) -> Value {
    json!({"display_phone_number": "15550001", "phone_number_id": phone_number_id})
}

engine_test!(the_verification_handshake_echoes_the_challenge_only_with_the_right_token, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let c = reqwest::Client::new();
    let url = |token: &str| {
        t.url(&format!(
            "/hooks/whatsapp/{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            conn.id
        ))
    };
    let ok = c.get(url(&conn.verify_token)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(c.get(url("wrong")).send().await.unwrap().status(), 403);
    let unknown = c
        .get(t.url("/hooks/whatsapp/999999?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    t.stop().await;
});

engine_test!(a_missing_or_wrong_signature_is_refused_and_nothing_is_written, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let body = json!({"entry":[{"changes":[{"value":{"metadata": meta("PN1"), "messages":[text_message("5511987654321","wamid.S1","oi")]}}]}]}).to_string();
    assert_eq!(post(&t, conn.id, &body, None).await.status(), 401);
    assert_eq!(post(&t, conn.id, &body, Some(sign("other-secret", &body))).await.status(), 401);
    let tampered = body.replace("oi", "tchau");
    assert_eq!(post(&t, conn.id, &tampered, Some(sign(SECRET, &body))).await.status(), 401);
    assert_eq!(t.count("messages", "1=1").await, 0);
    assert_eq!(t.count("contacts", "1=1").await, 0);
    // Malformed JSON with a valid signature: 400, still nothing.
    let broken = "{\"entry\": [";
    let response = post(&t, conn.id, broken, Some(sign(SECRET, broken))).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "malformed_json");
    assert_eq!(t.count("messages", "1=1").await, 0);
    t.stop().await;
});

engine_test!(every_message_and_status_of_a_batched_delivery_is_stored, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let body = json!({"object":"whatsapp_business_account","entry":[
        {"id":"WABA1","changes":[
            {"field":"messages","value":{"metadata": meta("PN1"),
                "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"},{"profile":{"name":"Bruno"},"wa_id":"5521988887777"}],
                "messages":[text_message("5511987654321","wamid.B1","primeira"), text_message("5521988887777","wamid.B2","segunda")]}},
            {"field":"messages","value":{"metadata": meta("PN1"),
                "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"}],
                "messages":[{"from":"5511987654321","id":"wamid.B3","timestamp":"1700000005","type":"location","location":{"latitude":-23.5,"longitude":-46.6,"name":"Loja"}}]}}]},
        {"id":"WABA1","changes":[
            {"field":"messages","value":{"metadata": meta("PN1"),
                "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"}],
                "messages":[{"from":"5511987654321","id":"wamid.B4","timestamp":"1700000006","type":"brand_new","brand_new":{}}]}}]}
    ]}).to_string();
    let response = post(&t, conn.id, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["stored"], 4);
    assert_eq!(t.count("messages", "direction = 'in'").await, 4);
    assert_eq!(t.count("messages", "provider_id = 'wamid.B4' AND kind = 'unsupported'").await, 1);
    assert_eq!(t.count("messages", "provider_id = 'wamid.B3' AND kind = 'location' AND body = 'Loja'").await, 1);
    assert_eq!(t.count("contacts", "1=1").await, 2);
    assert_eq!(t.count("contacts", "name = 'Ana' AND phone = '5511987654321'").await, 1);
    // One ticket per contact; Ana's three messages share hers.
    assert_eq!(t.count("tickets", "1=1").await, 2);
    assert_eq!(t.count("tickets", "unread_count = 3").await, 1);
    t.stop().await;
});

engine_test!(a_redelivered_webhook_is_stored_once, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let value = json!({"metadata": meta("PN1"), "messages":[text_message("5511987654321","wamid.D1","oi")]});
    let first = deliver(&t, conn.id, value.clone()).await;
    assert_eq!(first["stored"], 1);
    for _ in 0..3 {
        let again = deliver(&t, conn.id, value.clone()).await;
        assert_eq!(again["stored"], 0);
        assert_eq!(again["duplicates"], 1);
    }
    assert_eq!(t.count("messages", "provider_id = 'wamid.D1'").await, 1);
    assert_eq!(t.count("tickets", "unread_count = 1").await, 1);
    t.stop().await;
});

engine_test!(concurrent_deliveries_are_all_stored_exactly_once, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        // Every message is delivered twice, concurrently.
        for _ in 0..2 {
            let body = json!({"entry":[{"changes":[{"value":{"metadata": meta("PN1"),
                "messages":[text_message(&format!("55119{:08}", 70000000 + i % 20), &format!("wamid.C{i}"), "oi")]}}]}]})
            .to_string();
            let url = t.url(&format!("/hooks/whatsapp/{}", conn.id));
            tasks.push(tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .header("X-Hub-Signature-256", sign(SECRET, &body))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            }));
        }
    }
    let (mut stored, mut duplicates) = (0, 0);
    for task in tasks {
        let (status, summary) = task.await.unwrap();
        assert_eq!(status, 200);
        stored += summary["stored"].as_i64().unwrap();
        duplicates += summary["duplicates"].as_i64().unwrap();
    }
    // Each delivery's summary says what became of its message: stored once, else a duplicate.
    assert_eq!((stored, duplicates), (200, 200));
    assert_eq!(t.count("events", "kind = 'message.created'").await, 200);
    assert_eq!(t.count("events", "kind = 'contact.created'").await, 20);
    assert_eq!(t.count("events", "kind = 'ticket.created'").await, 20);
    assert_eq!(t.count("messages", "1=1").await, 200);
    assert_eq!(t.count("contacts", "1=1").await, 20);
    assert_eq!(t.count("tickets", "1=1").await, 20);
    let unread: i64 = sqlx::Row::get(
        &sqlx::query("SELECT CAST(SUM(unread_count) AS BIGINT) FROM tickets")
            .fetch_one(t.app.db.reader())
            .await
            .unwrap(),
        0,
    );
    assert_eq!(unread, 200);
    t.stop().await;
});

engine_test!(a_brazilian_number_matches_its_contact_with_or_without_the_ninth_digit, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    deliver(
        &t,
        conn.id,
        json!({"metadata": meta("PN1"), "contacts":[{"profile":{"name":"Carla"},"wa_id":"5511987654321"}],
        "messages":[text_message("5511987654321","wamid.N1","com nove")]}),
    )
    .await;
    deliver(
        &t,
        conn.id,
        json!({"metadata": meta("PN1"), "contacts":[{"profile":{"name":"Carla"},"wa_id":"551187654321"}],
        "messages":[text_message("551187654321","wamid.N2","sem nove")]}),
    )
    .await;
    assert_eq!(t.count("contacts", "1=1").await, 1);
    assert_eq!(t.count("tickets", "1=1").await, 1);
    assert_eq!(t.count("messages", "1=1").await, 2);
    t.stop().await;
});

engine_test!(deliveries_for_another_number_of_the_same_app_are_ignored, |t: TestApp| async move {
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let summary = deliver(
        &t,
        conn.id,
        json!({"metadata": meta("PN-OTHER"), "messages":[text_message("5511987654321","wamid.O1","oi")]}),
    )
    .await;
    assert_eq!(summary["stored"], 0);
    assert_eq!(t.count("messages", "1=1").await, 0);
    t.stop().await;
});

engine_test!(statuses_move_forward_only_and_early_ones_wait_for_their_message, |t: TestApp| async move {
    use atende::domain::message::DeliveryStatus;
    use atende::store::messages::{self, NewMessage};
    let tenant = t.demo_tenant().await;
    let conn = connect(&t, tenant, "PN1").await;
    // An inbound message creates the contact and ticket; then store an outbound one as sent.
    deliver(&t, conn.id, json!({"metadata": meta("PN1"), "messages":[text_message("5511987654321","wamid.IN","oi")]}))
        .await;
    let status = |id: &'static str, status: &'static str| {
        json!({"metadata": meta("PN1"),
        "statuses":[{"id": id, "status": status, "timestamp":"1700000100", "recipient_id":"5511987654321"}]})
    };
    // `read` arrives before `delivered`, and both before `sent`.
    let early = deliver(&t, conn.id, status("wamid.OUT", "read")).await;
    assert_eq!(early["statuses_kept"], 1);
    let mut tx = t.app.db.begin().await.unwrap();
    let ticket: i64 = sqlx::Row::get(&sqlx::query("SELECT id FROM tickets").fetch_one(&mut *tx).await.unwrap(), 0);
    let contact: i64 = sqlx::Row::get(&sqlx::query("SELECT id FROM contacts").fetch_one(&mut *tx).await.unwrap(), 0);
    let new = NewMessage {
        tenant_id: tenant,
        connection_id: conn.id,
        ticket_id: ticket,
        contact_id: contact,
        direction: "out",
        provider_id: None,
        kind: "text",
        body: Some("olá"),
        payload: "{}",
        refers_to: None,
        status: DeliveryStatus::Queued,
        media_id: None,
        media_mime: None,
        idempotency_key: None,
        sender_user_id: None,
        origin: None,
        sent_at: 0,
    };
    let id = messages::insert(&mut *tx, new, 0).await.unwrap().unwrap();
    assert!(messages::mark_sent(&mut tx, tenant, id, "wamid.OUT", 1).await.unwrap());
    let pending = messages::take_pending_statuses(&mut tx, tenant, conn.id, "wamid.OUT").await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, DeliveryStatus::Read);
    tx.commit().await.unwrap();
    // Now the message exists: delivered moves it from sent; a late `sent` cannot move it back.
    assert_eq!(deliver(&t, conn.id, status("wamid.OUT", "delivered")).await["statuses_applied"], 1);
    assert_eq!(deliver(&t, conn.id, status("wamid.OUT", "sent")).await["statuses_applied"], 0);
    assert_eq!(t.count("messages", "provider_id = 'wamid.OUT' AND status = 'delivered'").await, 1);
    // Failed is final and keeps Meta's code and title.
    let failed = json!({"metadata": meta("PN1"), "statuses":[{"id":"wamid.OUT","status":"failed","timestamp":"1700000200",
        "recipient_id":"5511987654321","errors":[{"code":131026,"title":"Message Undeliverable"}]}]});
    assert_eq!(deliver(&t, conn.id, failed).await["statuses_applied"], 1);
    assert_eq!(deliver(&t, conn.id, status("wamid.OUT", "read")).await["statuses_applied"], 0);
    assert_eq!(
        t.count("messages", "provider_id = 'wamid.OUT' AND status = 'failed' AND error_code = 131026 AND error_title = 'Message Undeliverable'").await,
        1
    );
    t.stop().await;
});

engine_test!(an_inbound_message_reaches_the_tenants_live_stream_only, |t: TestApp| async move {
    use futures_util::StreamExt;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, demo, "PN1").await;
    let token = t.token(demo, &[atende::domain::Scope::Read]).await;
    let other = t.create_tenant("outra").await;
    let other_token = t.token(other, &[atende::domain::Scope::Read]).await;
    let open = |token: String| {
        let url = t.url("/api/v1/events");
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().bytes_stream() }
    };
    let mut mine = open(token).await;
    let mut theirs = open(other_token).await;
    // Wait for `ready` on both streams before publishing.
    for s in [&mut mine, &mut theirs] {
        let mut seen = String::new();
        while !seen.contains("event: ready") {
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(5), s.next()).await.unwrap().unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    deliver(&t, conn.id, json!({"metadata": meta("PN1"), "messages":[text_message("5511987654321","wamid.E1","oi")]}))
        .await;
    let mut seen = String::new();
    while !seen.contains("event: message.created") {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(5), mine.next()).await.unwrap().unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: ticket.created"), "{seen}");
    // The other tenant's stream stays quiet.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(700), theirs.next()).await;
    assert!(quiet.is_err(), "another tenant saw: {quiet:?}");
    t.stop().await;
});

engine_test!(ids_of_ingested_messages_and_events_never_repeat_after_deletes, |t: TestApp| async move {
    // On SQLite the writer picks ids itself inside its transaction: they must stay past every id
    // ever used (as AUTOINCREMENT promises), or a live-stream client could skip a new event.
    let conn = connect(&t, t.demo_tenant().await, "PN1").await;
    let value = json!({"metadata": meta("PN1"), "messages":[
        text_message("5511987654321","wamid.R1","um"), text_message("5511987654321","wamid.R1","um de novo"),
        text_message("5511987654322","wamid.R2","dois")]});
    let first = deliver(&t, conn.id, value).await;
    assert_eq!((first["stored"].as_i64(), first["duplicates"].as_i64()), (Some(2), Some(1)), "{first}");
    let max = |table: &'static str| {
        let db = t.app.db.reader().clone();
        async move {
            sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let (message_max, event_max) = (max("messages").await, max("events").await);
    assert!(message_max > 0 && event_max > 0);
    sqlx::query("DELETE FROM messages WHERE provider_id = 'wamid.R2'").execute(t.app.db.writer()).await.unwrap();
    sqlx::query("DELETE FROM events").execute(t.app.db.writer()).await.unwrap();

    let value = json!({"metadata": meta("PN1"), "messages":[text_message("5511987654322","wamid.R3","três")]});
    assert_eq!(deliver(&t, conn.id, value).await["stored"], 1);
    let id: i64 = sqlx::query("SELECT id FROM messages WHERE provider_id = 'wamid.R3'")
        .fetch_one(t.app.db.reader())
        .await
        .unwrap()
        .get(0);
    assert!(id > message_max, "message id {id} reuses one at or below {message_max}");
    let min_event: i64 = sqlx::query("SELECT MIN(id) FROM events").fetch_one(t.app.db.reader()).await.unwrap().get(0);
    assert!(min_event > event_max, "event id {min_event} reuses one at or below {event_max}");
    t.stop().await;
});
