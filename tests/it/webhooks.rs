//! Outgoing webhooks: a local receiver checks signatures and bodies of deliveries made from an
//! inbound WhatsApp message (and a ticket close), the retry schedule as the clock moves (at
//! once, 30 s, doubling, dead letter after 24 h) and replay. The receiver and helpers here serve
//! webhooks_admin.rs and reports_watch.rs too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atende::actions::connections::{create_whatsapp_cloud, CreateWhatsappCloud};
use atende::actions::inbox::Farewell;
use atende::actions::Actor;
use atende::domain::{Scope, TenantId};
use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine_test;
use crate::support::TestApp;

pub(crate) const META_SECRET: &str = "app-secret-for-tests";

/// What the receiver saw of one request.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) signature_valid: bool,
}

/// A small HTTP server on loopback that answers with `status` and checks signatures with
/// `secret`.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) got: Arc<Mutex<Vec<Received>>>,
    pub(crate) status: Arc<Mutex<u16>>,
    pub(crate) secret: Arc<Mutex<String>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let r = Receiver {
            url: String::new(),
            got: Arc::default(),
            status: Arc::new(Mutex::new(200)),
            secret: Arc::default(),
        };
        let state = r.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let secret = state.secret.lock().unwrap().clone();
                let signature_valid = verify(&secret, &headers, &body);
                let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                state.got.lock().unwrap().push(Received { headers, body, signature_valid });
                let status = *state.status.lock().unwrap();
                (axum::http::StatusCode::from_u16(status).unwrap(), "receiver says hi")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url: format!("http://{addr}/hook"), ..r }
    }

    pub(crate) fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub(crate) fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            if self.count() >= n {
                return self.all();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the receiver got {} requests, expected {n}: {:?}", self.count(), self.all());
    }
}

/// What a receiver does: recompute HMAC-SHA256(secret, "<t>.<body>") and compare.
pub(crate) fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let Some(header) = headers.get("x-atende-signature").and_then(|v| v.to_str().ok()) else { return false };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_string()),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let expected = atende::crypto::hmac_sha256_hex(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    atende::crypto::constant_time_eq(&expected, &v1)
}

pub(crate) async fn api(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = reqwest::Client::new();
    let url = t.url(&format!("/api/v1{path}"));
    let mut req = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "PATCH" => c.patch(url),
        "DELETE" => c.delete(url),
        other => panic!("method {other}"),
    }
    .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn allow_private(t: &TestApp, tenant: TenantId, allow: bool) {
    atende::actions::webhooks::set_allow_private_networks(&t.app, &Actor::Operator, tenant, allow).await.unwrap();
}

/// Creates a subscription through the API; returns its id and secret, and tells the receiver.
pub(crate) async fn subscribe(t: &TestApp, token: &str, r: &Receiver, events: &[&str]) -> i64 {
    let (status, body) = api(t, "POST", "/webhooks", token, Some(json!({ "url": r.url, "events": events }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    *r.secret.lock().unwrap() = secret;
    body["id"].as_i64().unwrap()
}

pub(crate) async fn connect(t: &TestApp, tenant: TenantId, phone_number_id: &str) -> i64 {
    let input = CreateWhatsappCloud {
        name: "WhatsApp",
        phone_number_id,
        waba_id: "WABA1",
        access_token: "token-for-tests",
        app_secret: META_SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

/// Posts a signed Meta delivery with one text message.
pub(crate) async fn inbound_text(t: &TestApp, conn: i64, phone_number_id: &str, from: &str, id: &str, text: &str) {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}],
    });
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":value}]}]})
        .to_string();
    let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(META_SECRET.as_bytes(), body.as_bytes()));
    let response = reqwest::Client::new()
        .post(t.url(&format!("/hooks/whatsapp/{conn}")))
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

pub(crate) fn by_event<'a>(got: &'a [Received], event: &str) -> &'a Received {
    got.iter().find(|r| r.body["event"] == event).unwrap_or_else(|| panic!("no {event} in {got:?}"))
}

pub(crate) async fn delivery(t: &TestApp, tenant: TenantId, id: i64) -> atende::actions::webhooks::DeliveryDetail {
    atende::actions::webhooks::get_delivery(&t.app, &Actor::Operator, tenant, id).await.unwrap()
}

engine_test!(
    an_inbound_message_reaches_the_receiver_signed_with_message_ticket_and_contact_data,
    |t: TestApp| async move {
        let tenant = t.demo_tenant().await;
        allow_private(&t, tenant, true).await;
        let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
        let r = Receiver::start().await;
        let all = [
            "message.created",
            "message.status",
            "ticket.created",
            "ticket.updated",
            "ticket.closed",
            "contact.created",
            "contact.updated",
        ];
        let sub = subscribe(&t, &token, &r, &all).await;
        let conn = connect(&t, tenant, "PNHOOK").await;
        inbound_text(&t, conn, "PNHOOK", "5511987654321", "wamid.HOOK1", "Olá, preciso de ajuda").await;

        let got = r.wait_for(3).await;
        for rec in &got {
            assert!(rec.signature_valid, "bad signature: {rec:?}");
            let h = &rec.headers;
            assert_eq!(h["content-type"], "application/json");
            assert!(h["user-agent"].to_str().unwrap().starts_with("Atende-Webhooks/"));
            assert_eq!(h["x-atende-event"].to_str().unwrap(), rec.body["event"].as_str().unwrap());
            assert_eq!(h["x-atende-delivery"].to_str().unwrap(), rec.body["id"].as_i64().unwrap().to_string());
            assert_eq!(rec.body["tenant"]["slug"], "demo");
            assert_eq!(rec.body["tenant"]["id"], tenant.0);
            assert!(chrono::DateTime::parse_from_rfc3339(rec.body["created_at"].as_str().unwrap()).is_ok());
        }
        let message = &by_event(&got, "message.created").body["data"];
        assert_eq!(message["message"]["body"], "Olá, preciso de ajuda");
        assert_eq!(message["message"]["direction"], "in");
        let ticket_id = message["ticket_id"].as_i64().unwrap();
        let contact_id = message["contact_id"].as_i64().unwrap();
        assert_eq!(message["message"]["ticket_id"], ticket_id);
        assert_eq!(message["message"]["contact_id"], contact_id);
        let ticket = &by_event(&got, "ticket.created").body["data"];
        assert_eq!(ticket["ticket"]["id"], ticket_id);
        assert_eq!(ticket["ticket"]["contact_id"], contact_id);
        assert!(ticket["ticket"]["status"].is_string());
        assert!(ticket["ticket"].get("department_id").is_some() && ticket["ticket"].get("assignee_id").is_some());
        let contact = &by_event(&got, "contact.created").body["data"];
        assert_eq!(contact["contact"]["phone"], "5511987654321");
        assert_eq!(contact["contact"]["name"], "Maria");

        // Closing the ticket: ticket.updated and ticket.closed.
        atende::actions::inbox::close(&t.app, &Actor::Operator, tenant, ticket_id, Farewell::None).await.unwrap();
        let got = r.wait_for(5).await;
        let closed = &by_event(&got, "ticket.closed").body["data"];
        assert_eq!(closed["ticket"]["status"], "closed");
        assert!(closed["ticket"]["closed_at"].is_string());
        assert!(got.iter().filter(|x| x.body["event"] == "ticket.updated").count() >= 1);

        // A contact edit: contact.updated with the new name.
        let input = atende::actions::contacts::ContactInput { name: "Maria Souza".into(), ..Default::default() };
        atende::actions::contacts::update_contact(&t.app, &Actor::Operator, tenant, contact_id, input).await.unwrap();
        let got = r.wait_for(6).await;
        let updated = &by_event(&got, "contact.updated").body["data"];
        assert_eq!(updated["contact"]["name"], "Maria Souza");
        assert_eq!(updated["contact_id"], contact_id);

        // A sent message that Meta reports failed: message.status with the error.
        let out = atende::store::messages::NewMessage {
            tenant_id: tenant,
            connection_id: conn,
            ticket_id,
            contact_id,
            direction: "out",
            provider_id: Some("wamid.OUT-HOOK"),
            kind: "text",
            body: Some("Olá!"),
            payload: "{}",
            refers_to: None,
            status: atende::domain::message::DeliveryStatus::Sent,
            media_id: None,
            media_mime: None,
            idempotency_key: None,
            sender_user_id: None,
            origin: None,
            sent_at: t.app.clock.now_ms(),
        };
        let out_id =
            atende::store::messages::insert(t.app.db.writer(), out, t.app.clock.now_ms()).await.unwrap().unwrap();
        let value = json!({"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001","phone_number_id":"PNHOOK"},
        "statuses":[{"id":"wamid.OUT-HOOK","status":"failed","timestamp":"1700000100","recipient_id":"5511987654321",
            "errors":[{"code":131026,"title":"Message Undeliverable"}]}]});
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":value}]}]})
        .to_string();
        let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(META_SECRET.as_bytes(), body.as_bytes()));
        let posted = reqwest::Client::new()
            .post(t.url(&format!("/hooks/whatsapp/{conn}")))
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 200);
        let got = r.wait_for(7).await;
        let status = &by_event(&got, "message.status").body["data"];
        assert_eq!(status["message_id"], out_id);
        assert_eq!(status["status"], "failed");
        assert_eq!(status["message"]["error_code"], 131026);
        assert_eq!(status["message"]["error_title"], "Message Undeliverable");
        assert_eq!(status["message"]["ticket_id"], ticket_id);
        assert!(got.iter().all(|x| x.signature_valid));

        // The deliveries page of the API shows them delivered with the receiver's answer (the
        // receiver answers before the attempt is recorded: wait for that).
        for _ in 0..200 {
            if t.count("webhook_deliveries", "state = 'delivered'").await == 7 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, page) = api(&t, "GET", &format!("/webhooks/{sub}/deliveries?limit=2"), &token, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = api(&t, "GET", &format!("/webhooks/{sub}/deliveries?cursor={cursor}"), &token, None).await;
        let mut ids: Vec<i64> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .chain(rest["data"].as_array().unwrap())
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), got.len(), "{page} {rest}");
        ids.dedup();
        assert_eq!(ids.len(), got.len());
        for d in page["data"].as_array().unwrap() {
            assert_eq!(d["state"], "delivered", "{d}");
            assert_eq!(d["last_status_code"], 200);
            assert!(d["last_latency_ms"].as_i64().unwrap() >= 0);
        }
        let first = ids[0];
        let (_, detail) = api(&t, "GET", &format!("/webhook-deliveries/{first}"), &token, None).await;
        assert_eq!(detail["attempts"][0]["response_excerpt"], "receiver says hi", "{detail}");
        assert_eq!(detail["body"]["id"], first);
        // No duplicates: exactly one delivery per (event, subscription) however often the fan-out ran.
        assert_eq!(r.count(), 7);
        t.stop().await;
    }
);

engine_test!(a_failing_receiver_is_retried_on_the_schedule_then_dead_lettered_and_replayed, |t: TestApp| async move {
    let tenant = t.demo_tenant().await;
    allow_private(&t, tenant, true).await;
    let token = t.token(tenant, &[Scope::Read, Scope::Write]).await;
    let r = Receiver::start().await;
    *r.status.lock().unwrap() = 500;
    let sub = subscribe(&t, &token, &r, &["contact.updated"]).await;
    let (status, test) = api(&t, "POST", &format!("/webhooks/{sub}/test"), &token, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{test}");
    let id = test["id"].as_i64().unwrap();

    // The first try and the immediate retry.
    r.wait_for(2).await;
    let mut seen = 2;
    loop {
        // Wait until the try is recorded and the job is queued again (or the delivery is dead).
        let d = loop {
            let d = delivery(&t, tenant, id).await.delivery;
            let jobs_queued = t.count("jobs", &format!("id = {} AND state = 'queued'", d.job_id.unwrap())).await;
            if d.attempts as usize == seen && (d.state == "dead" || jobs_queued == 1) {
                break d;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if d.state == "dead" {
            break;
        }
        assert_eq!(d.state, "retrying");
        let wait = d.next_attempt_at.unwrap() - t.app.clock.now_ms();
        t.app.clock.advance(Duration::from_millis((wait + 1000).max(0) as u64));
        t.app.jobs_wakeup.notify_waiters();
        seen += 1;
        r.wait_for(seen).await;
        assert!(seen < 60, "never dead-lettered");
    }
    let detail = delivery(&t, tenant, id).await;
    let starts: Vec<i64> = detail.attempts.iter().map(|a| a.started_at).collect();
    assert_eq!(starts.len(), seen);
    assert_eq!(r.count(), seen);
    let gap = |i: usize| starts[i + 1] - starts[i];
    assert!(gap(0) < 2_000, "the first retry is at once: {starts:?}");
    assert!((30_000..33_000).contains(&gap(1)), "then after 30 s: {starts:?}");
    assert!((60_000..63_000).contains(&gap(2)), "then 60 s: {starts:?}");
    assert!((120_000..123_000).contains(&gap(3)), "then 120 s: {starts:?}");
    assert!((240_000..243_000).contains(&gap(4)), "then 240 s: {starts:?}");
    assert!((0..starts.len() - 1).all(|i| gap(i) <= 3_603_000), "never more than an hour apart: {starts:?}");
    let span = starts[starts.len() - 1] - starts[0];
    assert!((24 * 3_600_000..24 * 3_600_000 + 60_000).contains(&span), "dead after 24 h: {span} ms, {starts:?}");
    assert!(detail.attempts.iter().all(|a| a.status_code == Some(500) && a.outcome == "failed"));
    assert_eq!(detail.delivery.state, "dead");
    assert!(r.all().iter().all(|x| x.signature_valid && x.body["id"] == id && x.body["event"] == "webhook.test"));
    let dead = atende::actions::webhooks::dead_letters(&t.app, &Actor::Operator, tenant).await.unwrap();
    assert_eq!(dead, vec![(sub, 1)]);

    // Replay: the receiver is fixed; the same delivery id arrives and is delivered.
    *r.status.lock().unwrap() = 204;
    let (status, replayed) = api(&t, "POST", &format!("/webhook-deliveries/{id}/replay"), &token, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    let got = r.wait_for(seen + 1).await;
    assert_eq!(got[seen].body["id"], id);
    assert!(got[seen].signature_valid);
    for _ in 0..200 {
        if delivery(&t, tenant, id).await.delivery.state == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = delivery(&t, tenant, id).await.delivery;
    assert_eq!(d.state, "delivered");
    assert_eq!(d.replays, 1);
    assert_eq!(d.last_status_code, Some(204));
    assert!(atende::actions::webhooks::dead_letters(&t.app, &Actor::Operator, tenant).await.unwrap().is_empty());
    // A delivered delivery is not replayed.
    let (status, body) = api(&t, "POST", &format!("/webhook-deliveries/{id}/replay"), &token, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "delivery_not_replayable");
    t.stop().await;
});
