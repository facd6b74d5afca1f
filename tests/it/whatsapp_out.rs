//! WhatsApp Cloud API, outbound and media: sends queued and sent by the job through a fake Graph
//! server (speaking Meta's documented request, response and error JSON), retries and failures by
//! error code, re-authentication, the 24-hour window, idempotency keys, the per-connection rate,
//! tenant isolation, statuses that overtake their send, mark-as-read, uploads, and media fetch
//! (bearer, expired URLs, size limits, content-addressed storage).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atende::actions::send::{self, SendRequest, SendTarget};
use atende::actions::{self, ActionError, Actor};
use atende::domain::outbound::{MediaKind, MediaSource, OutboundContent};
use atende::domain::{Role, TenantId};
use atende::store::messages::StoredMessage;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use sqlx::Row;

use crate::engine_test;
use crate::support::{Engine, TestApp};

const TOKEN: &str = "EAAG-fake-access-token";
const APP_SECRET: &str = "fake-app-secret";
const PHONE_NUMBER_ID: &str = "1098765";
const CUSTOMER: &str = "5511987654321";
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- the fake Graph API

/// One request the fake received.
#[derive(Clone, Debug)]
struct Call {
    at: Instant,
    path: String,
    auth: Option<String>,
    body: Value,
}

/// A file the fake serves as a media id.
#[derive(Clone)]
struct FakeMedia {
    data: Vec<u8>,
    mime: &'static str,
    report_size: bool,
}

/// Posts a status webhook for the wamid it is about to return, before answering the send
/// (Meta's webhook may overtake its HTTP answer).
#[derive(Clone)]
struct StatusFirst {
    hook_url: String,
    status: &'static str,
}

#[derive(Default)]
struct Fake {
    base: Mutex<String>,
    sends: Mutex<Vec<Call>>,
    uploads: Mutex<Vec<Call>>,
    /// Answers to the next sends: (HTTP status, body); success when empty.
    script: Mutex<VecDeque<(u16, Value)>>,
    next_id: AtomicU64,
    media: Mutex<HashMap<String, FakeMedia>>,
    media_info_calls: AtomicUsize,
    /// Downloads answered 404 (an expired URL) before one succeeds.
    expire_downloads: AtomicUsize,
    downloads: Mutex<Vec<Option<String>>>,
    status_first: Mutex<Option<StatusFirst>>,
}

impl Fake {
    fn script(&self, answers: impl IntoIterator<Item = (u16, Value)>) {
        self.script.lock().unwrap().extend(answers);
    }

    fn sends(&self) -> Vec<Call> {
        self.sends.lock().unwrap().clone()
    }

    fn message_sends(&self) -> Vec<Call> {
        self.sends().into_iter().filter(|c| c.body.get("status").is_none()).collect()
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn unauthorized() -> Response {
    let body = meta_error(190, "Error validating access token: Session has expired.");
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// Meta's documented error envelope.
fn meta_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": format!("(#{code}) {message}"), "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message}, "fbtrace_id": "AbCdEf123"}})
}

async fn fake_send(
    State(fake): State<Arc<Fake>>,
    Path((version, phone_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let call =
        Call { at: Instant::now(), path: format!("/{version}/{phone_id}/messages"), auth: bearer(&headers), body };
    fake.sends.lock().unwrap().push(call.clone());
    if call.auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return unauthorized();
    }
    if call.body.get("status").is_some() {
        return Json(json!({"success": true})).into_response();
    }
    let scripted = fake.script.lock().unwrap().pop_front();
    if let Some((status, body)) = scripted {
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    let wamid = format!("wamid.FAKE{}", fake.next_id.fetch_add(1, Ordering::SeqCst) + 1);
    let first = fake.status_first.lock().unwrap().clone();
    if let Some(first) = first {
        let delivery = status_webhook(&wamid, first.status);
        let answer = signed_post(&first.hook_url, &delivery).await;
        assert_eq!(answer.status(), 200, "the early status webhook was not stored");
    }
    let to = call.body["to"].clone();
    Json(
        json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]}),
    )
    .into_response()
}

async fn fake_upload(
    State(fake): State<Arc<Fake>>,
    Path((version, phone_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    let call = Call {
        at: Instant::now(),
        path: format!("/{version}/{phone_id}/media"),
        auth: bearer(&headers),
        body: json!({ "content_type": headers.get("content-type").and_then(|v| v.to_str().ok()), "text": text }),
    };
    fake.uploads.lock().unwrap().push(call.clone());
    if call.auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return unauthorized();
    }
    Json(json!({"id": "UPLOADED-1"})).into_response()
}

async fn fake_media_info(
    State(fake): State<Arc<Fake>>,
    Path((_version, media_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers).as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return unauthorized();
    }
    let generation = fake.media_info_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(m) = fake.media.lock().unwrap().get(&media_id).cloned() else {
        return (StatusCode::BAD_REQUEST, Json(meta_error(100, "Invalid parameter"))).into_response();
    };
    let base = fake.base.lock().unwrap().clone();
    let sha = atende::crypto::sha256_bytes_hex(&m.data);
    let mut info = json!({"messaging_product": "whatsapp", "id": media_id, "mime_type": m.mime, "sha256": sha,
        "url": format!("{base}/files/{media_id}/{generation}")});
    if m.report_size {
        info["file_size"] = json!(m.data.len().to_string());
    }
    Json(info).into_response()
}

async fn fake_download(
    State(fake): State<Arc<Fake>>,
    Path((media_id, _generation)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    fake.downloads.lock().unwrap().push(bearer(&headers));
    if bearer(&headers).as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let expire = fake.expire_downloads.load(Ordering::SeqCst);
    if expire > 0 {
        fake.expire_downloads.store(expire - 1, Ordering::SeqCst);
        return StatusCode::NOT_FOUND.into_response();
    }
    match fake.media.lock().unwrap().get(&media_id) {
        Some(m) => (StatusCode::OK, m.data.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn spawn_fake() -> Arc<Fake> {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/{version}/{phone_id}/messages", post(fake_send))
        .route("/{version}/{phone_id}/media", post(fake_upload))
        .route("/{version}/{media_id}", get(fake_media_info))
        .route("/files/{media_id}/{generation}", get(fake_download))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *fake.base.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    fake
}

// ---------------------------------------------------------------- helpers

/// A connection of `tenant` pointed at the fake; returns its id.
async fn connect(t: &TestApp, fake: &Fake, tenant: TenantId, phone_number_id: &str, rate: Option<i64>) -> i64 {
    let base = fake.base.lock().unwrap().clone();
    let input = actions::connections::CreateWhatsappCloud {
        name: "Loja",
        phone_number_id,
        waba_id: "WABA1",
        access_token: TOKEN,
        app_secret: APP_SECRET,
        graph_url: Some(&base),
        api_version: Some("v21.0"),
        rate_per_sec: rate,
    };
    actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input).await.unwrap().connection.id
}

async fn signed_post(url: &str, body: &Value) -> reqwest::Response {
    let raw = body.to_string();
    let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(APP_SECRET.as_bytes(), raw.as_bytes()));
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(raw)
        .send()
        .await
        .unwrap()
}

fn envelope(value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages",
        "value": value}]}]})
}

fn status_webhook(wamid: &str, status: &str) -> Value {
    envelope(json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511900000000", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [{"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": CUSTOMER}]}))
}

/// Delivers a customer's message (signed, through the real webhook endpoint).
async fn receive(t: &TestApp, connection: i64, message: Value) {
    let body = envelope(json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511900000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER}], "messages": [message]}));
    let answer = signed_post(&t.url(&format!("/hooks/whatsapp/{connection}")), &body).await;
    assert_eq!(answer.status(), 200, "webhook refused: {}", answer.text().await.unwrap());
}

async fn receive_text(t: &TestApp, connection: i64, wamid: &str) {
    let now_secs = t.app.clock.now_ms() / 1000;
    receive(
        t,
        connection,
        json!({"from": CUSTOMER, "id": wamid, "timestamp": now_secs.to_string(), "type": "text", "text": {"body": "Oi"}}),
    )
    .await;
}

async fn message(t: &TestApp, tenant: TenantId, id: i64) -> StoredMessage {
    atende::store::messages::get(t.app.db.reader(), tenant, id).await.unwrap().expect("message exists")
}

async fn inbound(t: &TestApp, tenant: TenantId, connection: i64, wamid: &str) -> StoredMessage {
    atende::store::messages::find_by_provider_id(t.app.db.reader(), tenant, connection, wamid)
        .await
        .unwrap()
        .expect("inbound message stored")
}

/// Polls a message until `done` says so.
async fn wait_message(
    t: &TestApp,
    tenant: TenantId,
    id: i64,
    what: &str,
    done: impl Fn(&StoredMessage) -> bool,
) -> StoredMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let m = message(t, tenant, id).await;
        if done(&m) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for message {id} to be {what}: {m:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// (state, attempts, run_at) of the job with this dedupe key.
async fn job_state(t: &TestApp, dedupe_key: &str) -> (String, i64, i64) {
    let row = sqlx::query("SELECT state, attempts, run_at FROM jobs WHERE dedupe_key = $1")
        .bind(dedupe_key)
        .fetch_one(t.app.db.reader())
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn wait_job(t: &TestApp, dedupe_key: &str, what: &str, done: impl Fn(&(String, i64, i64)) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let job = job_state(t, dedupe_key).await;
        if done(&job) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for job {dedupe_key} to be {what}: {job:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn text(body: &str) -> OutboundContent {
    OutboundContent::Text { body: body.into(), preview_url: false }
}

fn template() -> OutboundContent {
    OutboundContent::Template {
        name: "pedido_confirmado".into(),
        language: "pt_BR".into(),
        components: json!([{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]),
    }
}

fn to_phone(tenant: TenantId, connection: i64, content: OutboundContent) -> SendRequest {
    SendRequest {
        marketing: false,
        tenant,
        target: SendTarget::Phone { connection_id: connection, phone: format!("+{CUSTOMER}") },
        content,
        reply_to: None,
        idempotency_key: None,
    }
}

async fn send_ok(t: &TestApp, request: SendRequest) -> StoredMessage {
    send::send_message(&t.app, &Actor::Operator, request).await.unwrap()
}

/// Sends a template to the customer and returns it once the worker settled it (`sent`/`failed`).
async fn send_and_settle(t: &TestApp, tenant: TenantId, connection: i64) -> StoredMessage {
    let m = send_ok(t, to_phone(tenant, connection, template())).await;
    wait_message(t, tenant, m.id, "settled", |m| m.status != "queued").await
}

fn assert_invalid(e: ActionError, code: &str) {
    match e {
        ActionError::Invalid { code: got, message } => {
            assert_eq!(got, code, "{message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected Invalid {code}, got {other:?}"),
    }
}

// ---------------------------------------------------------------- sends

engine_test!(a_text_reply_is_queued_then_sent_with_the_bearer_and_metas_json, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    receive_text(&t, conn, "wamid.IN1").await;
    let ticket = inbound(&t, demo, conn, "wamid.IN1").await.ticket_id;

    let request = SendRequest {
        marketing: false,
        tenant: demo,
        target: SendTarget::Ticket(ticket),
        content: text("Olá, Ana! Como posso ajudar?"),
        reply_to: Some("wamid.IN1".into()),
        idempotency_key: None,
    };
    let queued = send_ok(&t, request).await;
    assert_eq!((queued.direction.as_str(), queued.kind.as_str()), ("out", "text"));
    assert_eq!(queued.ticket_id, ticket);
    assert_eq!(queued.body.as_deref(), Some("Olá, Ana! Como posso ajudar?"));
    assert_eq!(queued.provider_id, None);
    assert!(queued.status == "queued" || queued.status == "sent", "{queued:?}");
    // Its send job was enqueued with it.
    assert_eq!(t.count("jobs", &format!("dedupe_key = 'send:{}' AND kind = 'whatsapp.send'", queued.id)).await, 1);

    let sent = wait_message(&t, demo, queued.id, "sent", |m| m.status == "sent").await;
    assert_eq!(sent.provider_id.as_deref(), Some("wamid.FAKE1"));
    let calls = fake.sends();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, format!("/v21.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(calls[0].auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(
        calls[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "text",
            "text": {"body": "Olá, Ana! Como posso ajudar?", "preview_url": false},
            "context": {"message_id": "wamid.IN1"}, "biz_opaque_callback_data": format!("atende:{}", queued.id)})
    );
    wait_job(&t, &format!("send:{}", queued.id), "done", |j| j.0 == "done").await;
    let c = atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap();
    assert!(c.last_send_at.is_some());

    // A later webhook moves the status on, as for any message.
    let answer = signed_post(&t.url(&format!("/hooks/whatsapp/{conn}")), &status_webhook("wamid.FAKE1", "read")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(message(&t, demo, queued.id).await.status, "read");
    t.stop().await;
});

engine_test!(a_status_that_overtook_its_send_is_applied_when_the_send_is_recorded, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    *fake.status_first.lock().unwrap() =
        Some(StatusFirst { hook_url: t.url(&format!("/hooks/whatsapp/{conn}")), status: "delivered" });

    let m = send_and_settle(&t, demo, conn).await;
    let m = wait_message(&t, demo, m.id, "delivered", |m| m.status == "delivered").await;
    assert_eq!(m.provider_id.as_deref(), Some("wamid.FAKE1"));
    assert_eq!(t.count("pending_statuses", "1 = 1").await, 0, "the kept status was used up");
    assert_eq!(fake.sends().len(), 1);
    t.stop().await;
});

engine_test!(a_server_error_is_retried_at_once_and_the_message_is_sent_once, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    fake.script([(500, json!("<html>Internal Server Error</html>"))]);

    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!(m.status, "sent", "{m:?}");
    assert_eq!(m.provider_id.as_deref(), Some("wamid.FAKE1"));
    assert_eq!(fake.sends().len(), 2);
    wait_job(&t, &format!("send:{}", m.id), "done", |j| j.0 == "done" && j.1 == 2).await;
    // The recorded send is never repeated.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.sends().len(), 2);
    t.stop().await;
});

engine_test!(metas_throughput_limit_130429_is_retried_on_the_ladder, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let limit = meta_error(130429, "Rate limit hit");
    fake.script([(400, limit.clone()), (400, limit)]);

    let m = send_ok(&t, to_phone(demo, conn, template())).await;
    let key = format!("send:{}", m.id);
    // First failure: again at once; second: in 30 s.
    wait_job(&t, &key, "waiting 30 s", |j| j.0 == "queued" && j.1 == 2).await;
    let (_, _, run_at) = job_state(&t, &key).await;
    assert!((run_at - t.app.clock.now_ms() - 30_000).abs() < 5_000, "run_at {run_at}");
    assert_eq!(message(&t, demo, m.id).await.status, "queued");
    t.app.clock.advance(Duration::from_secs(31));
    let m = wait_message(&t, demo, m.id, "sent", |m| m.status == "sent").await;
    assert_eq!(m.provider_id.as_deref(), Some("wamid.FAKE1"));
    assert_eq!(fake.sends().len(), 3);
    t.stop().await;
});

engine_test!(an_undeliverable_131026_fails_at_once_with_code_and_reason, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    fake.script([(400, meta_error(131026, "Message Undeliverable."))]);

    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!(m.status, "failed");
    assert_eq!(m.error_code, Some(131026));
    let title = m.error_title.unwrap();
    assert!(title.contains("undeliverable"), "{title}");
    assert_eq!(m.provider_id, None);
    wait_job(&t, &format!("send:{}", m.id), "done", |j| j.0 == "done" && j.1 == 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.sends().len(), 1, "a permanent error is not retried");
    t.stop().await;
});

engine_test!(template_errors_and_the_window_error_from_meta_fail_with_their_codes, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    fake.script([
        (400, meta_error(132001, "Template name does not exist in the translation")),
        (400, meta_error(131047, "Re-engagement message")),
    ]);
    let first = send_and_settle(&t, demo, conn).await;
    assert_eq!((first.status.as_str(), first.error_code), ("failed", Some(132001)));
    assert!(first.error_title.unwrap().contains("template"));
    let second = send_and_settle(&t, demo, conn).await;
    assert_eq!((second.status.as_str(), second.error_code), ("failed", Some(131047)));
    assert!(second.error_title.unwrap().contains("24 hours"));
    assert_eq!(fake.sends().len(), 2);
    t.stop().await;
});

engine_test!(an_expired_token_190_fails_the_message_and_flags_the_connection, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    fake.script([(401, meta_error(190, "Error validating access token: Session has expired"))]);

    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!((m.status.as_str(), m.error_code), ("failed", Some(190)));
    assert!(m.error_title.unwrap().contains("reconnect"));
    let c = atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap();
    assert!(c.needs_reauth, "{c:?}");
    assert!(c.last_error.is_some_and(|e| e.contains("expired")));

    // Until an admin reconnects the number, sends are refused up front.
    let e = send::send_message(&t.app, &Actor::Operator, to_phone(demo, conn, template())).await.unwrap_err();
    assert_invalid(e, "connection_needs_reauth");
    assert_eq!(fake.sends().len(), 1);
    t.stop().await;
});

engine_test!(a_send_that_keeps_failing_transiently_ends_failed_with_the_reason, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let attempts = send::SEND_MAX_ATTEMPTS as usize;
    fake.script((0..attempts + 5).map(|_| (503, meta_error(2, "Service temporarily unavailable"))));

    let m = send_ok(&t, to_phone(demo, conn, template())).await;
    let key = format!("send:{}", m.id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let current = message(&t, demo, m.id).await;
        if current.status != "queued" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never gave up: {current:?}");
        let (state, tries, _) = job_state(&t, &key).await;
        if state == "queued" && fake.sends().len() == tries as usize {
            // Waiting for its back-off: jump past it.
            t.app.clock.advance(Duration::from_secs(3_601));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = message(&t, demo, m.id).await;
    assert_eq!((failed.status.as_str(), failed.error_code), ("failed", Some(2)));
    let title = failed.error_title.unwrap();
    assert!(title.contains(&format!("gave up after {attempts} tries")), "{title}");
    assert!(title.contains("temporary"), "{title}");
    assert_eq!(fake.sends().len(), attempts);
    wait_job(&t, &key, "done", |j| j.0 == "done" && j.1 == attempts as i64).await;
    t.stop().await;
});

engine_test!(a_recipient_rate_limit_131056_backs_off_for_that_message, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    fake.script([(400, meta_error(131056, "(Business Account, Consumer Account) pair rate limit hit"))]);

    let m = send_ok(&t, to_phone(demo, conn, template())).await;
    let key = format!("send:{}", m.id);
    wait_job(&t, &key, "backing off", |j| j.0 == "queued" && j.1 == 1).await;
    let (_, _, run_at) = job_state(&t, &key).await;
    assert!(run_at - t.app.clock.now_ms() > 4_000, "no back-off for the recipient");
    // Another customer is not held back meanwhile.
    let other = SendRequest {
        target: SendTarget::Phone { connection_id: conn, phone: "+5521912345678".into() },
        ..to_phone(demo, conn, template())
    };
    let other = send_ok(&t, other).await;
    wait_message(&t, demo, other.id, "sent", |m| m.status == "sent").await;
    assert_eq!(message(&t, demo, m.id).await.status, "queued");
    t.app.clock.advance(Duration::from_secs(7));
    wait_message(&t, demo, m.id, "sent", |m| m.status == "sent").await;
    assert_eq!(fake.sends().len(), 3);
    t.stop().await;
});

// ---------------------------------------------------------------- rules before Meta

engine_test!(free_text_needs_the_24_hour_window_and_templates_do_not, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;

    // The customer never wrote: text is refused, nothing is stored or sent.
    let e = send::send_message(&t.app, &Actor::Operator, to_phone(demo, conn, text("Oi"))).await.unwrap_err();
    assert_invalid(e, "outside_window");
    assert_eq!(t.count("messages", "1 = 1").await, 0);
    assert_eq!(t.count("contacts", "1 = 1").await, 0);
    // A template opens the conversation.
    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!(m.status, "sent");

    // The customer writes: free text is allowed now…
    receive_text(&t, conn, "wamid.IN1").await;
    let m = send_ok(&t, to_phone(demo, conn, text("Recebi!"))).await;
    wait_message(&t, demo, m.id, "sent", |m| m.status == "sent").await;
    // …and 25 hours later it is not, though templates still are.
    t.app.clock.advance(Duration::from_secs(25 * 3600));
    let ticket = m.ticket_id;
    let late = SendRequest { target: SendTarget::Ticket(ticket), ..to_phone(demo, conn, text("Ainda aí?")) };
    let e = send::send_message(&t.app, &Actor::Operator, late).await.unwrap_err();
    let message_text = e.to_string();
    assert_invalid(e, "outside_window");
    assert!(message_text.contains("24 hours"), "{message_text}");
    let m = send_ok(&t, SendRequest { target: SendTarget::Ticket(ticket), ..to_phone(demo, conn, template()) }).await;
    wait_message(&t, demo, m.id, "sent", |m| m.status == "sent").await;
    assert_eq!(fake.message_sends().len(), 3);
    t.stop().await;
});

engine_test!(the_same_idempotency_key_sends_once, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let request =
        SendRequest { idempotency_key: Some("order-42-confirmation".into()), ..to_phone(demo, conn, template()) };

    let first = send_ok(&t, request.clone()).await;
    let second = send_ok(&t, request.clone()).await;
    assert_eq!(first.id, second.id);
    wait_message(&t, demo, first.id, "sent", |m| m.status == "sent").await;
    let third = send_ok(&t, request).await;
    assert_eq!((third.id, third.status.as_str()), (first.id, "sent"), "a repeat after the send returns it");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(fake.sends().len(), 1);
    assert_eq!(t.count("messages", "idempotency_key = 'order-42-confirmation'").await, 1);
    assert_eq!(t.count("jobs", "kind = 'whatsapp.send'").await, 1);

    // Concurrent requests with one key: still one message.
    let key = SendRequest { idempotency_key: Some("burst".into()), ..to_phone(demo, conn, template()) };
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let app = t.app.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move { send::send_message(&app, &Actor::Operator, key).await.unwrap().id }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    t.stop().await;
});

engine_test!(another_tenants_ticket_or_connection_is_not_found, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("other").await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let their_conn = connect(&t, &fake, other, "2000", None).await;
    receive_text(&t, conn, "wamid.IN1").await;
    let ticket = inbound(&t, demo, conn, "wamid.IN1").await.ticket_id;

    let by_ticket =
        SendRequest { tenant: other, target: SendTarget::Ticket(ticket), ..to_phone(other, conn, template()) };
    assert!(matches!(send::send_message(&t.app, &Actor::Operator, by_ticket).await, Err(ActionError::NotFound)));
    let by_conn = to_phone(other, conn, template());
    assert!(matches!(send::send_message(&t.app, &Actor::Operator, by_conn).await, Err(ActionError::NotFound)));
    let mallory = t.create_user(other, "mallory@other.test", Role::Admin, "correct horse battery").await;
    let as_user = SendRequest { target: SendTarget::Ticket(ticket), ..to_phone(demo, conn, text("hi")) };
    let e = send::send_message(&t.app, &Actor::User(mallory.clone()), as_user).await;
    assert!(matches!(e, Err(ActionError::NotFound)), "{e:?}");
    let their_message = inbound(&t, demo, conn, "wamid.IN1").await.id;
    let e = send::mark_read(&t.app, &Actor::User(mallory), demo, their_message).await;
    assert!(matches!(e, Err(ActionError::NotFound)), "{e:?}");
    // Their own connection works for them.
    send_and_settle(&t, other, their_conn).await;
    assert_eq!(t.count("messages", &format!("tenant_id = {other}")).await, 1);
    assert_eq!(fake.sends().len(), 1);
    t.stop().await;
});

/// Like `engine_test!`, with four job workers competing for one connection's send slots.
macro_rules! four_workers_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = super::spawn_with_workers(Engine::Sqlite, 4).await.expect("sqlite app");
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = super::spawn_with_workers(Engine::Postgres, 4).await else { return };
                ($body)(t).await;
            }
        }
    };
}

async fn spawn_with_workers(engine: Engine, workers: usize) -> Option<TestApp> {
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(crate::support::fresh_postgres_database(&crate::support::postgres_base_url()?).await),
    };
    Some(TestApp::spawn_with(engine, url, |s| s.job_workers = workers).await)
}

four_workers_test!(the_connection_rate_is_never_exceeded, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, Some(20)).await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let phone = format!("+55119{:08}", 10_000_000 + i);
        let request = SendRequest {
            target: SendTarget::Phone { connection_id: conn, phone },
            ..to_phone(demo, conn, template())
        };
        ids.push(send_ok(&t, request).await.id);
    }
    for id in &ids {
        wait_message(&t, demo, *id, "sent", |m| m.status == "sent").await;
    }
    let mut times: Vec<Instant> = fake.sends().iter().map(|c| c.at).collect();
    assert_eq!(times.len(), 60);
    times.sort();
    let total = times[59] - times[0];
    assert!(total >= Duration::from_millis(2_900), "60 sends at 20/s took only {total:?}");
    // Slots are exactly 50 ms apart, so 21 sends span exactly 1 s at the sender. A request may
    // reach the fake a little late (the first one opens the TCP connection; timers and loopback
    // jitter on a busy machine), which shortens the gap to the ones after it by that much: runs
    // here show up to ~16 ms. Allow 60 ms, no more: 21 requests inside 940 ms mean a broken limiter.
    let jitter = Duration::from_millis(60);
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..].iter().take_while(|at| **at - *start < Duration::from_secs(1) - jitter).count();
        assert!(in_window <= 20, "{in_window} sends within a second starting at send {i}");
    }
    t.stop().await;
});

// ---------------------------------------------------------------- mark-as-read, uploads

engine_test!(marking_a_received_message_read_calls_graph, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    receive_text(&t, conn, "wamid.IN7").await;
    let m = inbound(&t, demo, conn, "wamid.IN7").await;

    send::mark_read(&t.app, &Actor::Operator, demo, m.id).await.unwrap();
    wait_job(&t, &format!("read:{}", m.id), "done", |j| j.0 == "done").await;
    let calls = fake.sends();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body, json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN7"}));
    assert_eq!(calls[0].auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    t.stop().await;
});

engine_test!(an_attached_file_is_uploaded_then_sent_by_its_media_id, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    receive_text(&t, conn, "wamid.IN1").await;
    let pdf = b"%PDF-1.4\n% fake boleto\n".to_vec();
    let source = send::store_attachment(&t.app, &Actor::Operator, demo, MediaKind::Document, pdf).await.unwrap();
    assert!(matches!(&source, MediaSource::Stored { mime, .. } if mime == "application/pdf"), "{source:?}");
    let content = OutboundContent::Media {
        kind: MediaKind::Document,
        source,
        caption: Some("Seu boleto".into()),
        filename: Some("boleto.pdf".into()),
    };
    let m = send_ok(&t, to_phone(demo, conn, content)).await;
    wait_message(&t, demo, m.id, "sent", |m| m.status == "sent").await;

    let uploads = fake.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    let upload_text = uploads[0].body["text"].as_str().unwrap();
    assert!(upload_text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp"), "{upload_text}");
    assert!(upload_text.contains("filename=\"boleto.pdf\""), "{upload_text}");
    assert!(upload_text.contains("%PDF-1.4"), "{upload_text}");
    assert_eq!(
        fake.sends()[0].body["document"],
        json!({"id": "UPLOADED-1", "caption": "Seu boleto", "filename": "boleto.pdf"})
    );
    t.stop().await;
});

// ---------------------------------------------------------------- media fetch

/// A small JPEG-looking file (the magic bytes are what counts).
fn jpeg(len: usize) -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    data.resize(len, 0x42);
    data
}

async fn receive_image(t: &TestApp, conn: i64, wamid: &str, media_id: &str) {
    let now_secs = t.app.clock.now_ms() / 1000;
    let message = json!({"from": CUSTOMER, "id": wamid, "timestamp": now_secs.to_string(), "type": "image",
        "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": "ignored", "caption": "minha foto"}});
    receive(t, conn, message).await;
}

engine_test!(a_received_image_is_fetched_with_the_bearer_and_stored_by_its_hash, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let data = jpeg(20_000);
    // Graph claims PNG; the bytes say JPEG.
    fake.media
        .lock()
        .unwrap()
        .insert("MEDIA1".into(), FakeMedia { data: data.clone(), mime: "image/png", report_size: true });

    receive_image(&t, conn, "wamid.IMG1", "MEDIA1").await;
    let id = inbound(&t, demo, conn, "wamid.IMG1").await.id;
    let m = wait_message(&t, demo, id, "fetched", |m| m.media_path.is_some()).await;
    let sha = atende::crypto::sha256_bytes_hex(&data);
    let expected = t.dir.path().join("media").join(&sha[..2]).join(&sha);
    assert_eq!(m.media_path.as_deref(), Some(sha.as_str()), "the row names the file by its hash, never a path");
    assert_eq!(std::fs::read(&expected).unwrap(), data);
    assert_eq!(m.media_mime.as_deref(), Some("image/jpeg"));
    assert_eq!(m.media_size, Some(20_000));
    assert_eq!(m.body.as_deref(), Some("minha foto"));
    let downloads = fake.downloads.lock().unwrap().clone();
    assert_eq!(downloads, vec![Some(format!("Bearer {TOKEN}"))]);
    wait_job(&t, &format!("media:{id}"), "done", |j| j.0 == "done").await;

    // The same file again is stored once.
    receive_image(&t, conn, "wamid.IMG2", "MEDIA1").await;
    let id2 = inbound(&t, demo, conn, "wamid.IMG2").await.id;
    let m2 = wait_message(&t, demo, id2, "fetched", |m| m.media_path.is_some()).await;
    assert_eq!(m2.media_path, m.media_path);
    assert_eq!(std::fs::read_dir(expected.parent().unwrap()).unwrap().count(), 1);
    t.stop().await;
});

engine_test!(an_expired_media_url_is_asked_for_again, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let data = b"OggS\0\x02voice-note".to_vec();
    fake.media
        .lock()
        .unwrap()
        .insert("VOICE1".into(), FakeMedia { data: data.clone(), mime: "audio/ogg", report_size: true });
    fake.expire_downloads.store(1, Ordering::SeqCst);

    let now_secs = t.app.clock.now_ms() / 1000;
    let voice = json!({"from": CUSTOMER, "id": "wamid.V1", "timestamp": now_secs.to_string(), "type": "audio",
        "audio": {"id": "VOICE1", "mime_type": "audio/ogg; codecs=opus", "voice": true}});
    receive(&t, conn, voice).await;
    let id = inbound(&t, demo, conn, "wamid.V1").await.id;
    let m = wait_message(&t, demo, id, "fetched", |m| m.media_path.is_some()).await;
    assert_eq!(m.media_mime.as_deref(), Some("audio/ogg"));
    assert_eq!(fake.media_info_calls.load(Ordering::SeqCst), 2, "a fresh URL was asked for");
    assert_eq!(fake.downloads.lock().unwrap().len(), 2);
    let (_, attempts, _) = job_state(&t, &format!("media:{id}")).await;
    assert_eq!(attempts, 1, "handled within one try");
    t.stop().await;
});

engine_test!(an_oversized_image_is_refused_without_retry, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    // 5 MB + 1 byte, size not announced: the download itself must stop at the limit.
    let big = jpeg(5 * 1024 * 1024 + 1);
    fake.media.lock().unwrap().insert("BIG".into(), FakeMedia { data: big, mime: "image/jpeg", report_size: false });

    receive_image(&t, conn, "wamid.BIG", "BIG").await;
    let id = inbound(&t, demo, conn, "wamid.BIG").await.id;
    wait_job(&t, &format!("media:{id}"), "done", |j| j.0 == "done").await;
    let m = message(&t, demo, id).await;
    assert_eq!(m.media_path, None);
    let reason = m.error_title.unwrap();
    assert!(reason.contains("too large"), "{reason}");
    assert_eq!(job_state(&t, &format!("media:{id}")).await.1, 1);
    assert!(!t.dir.path().join("media").exists() || walk_files(&t.dir.path().join("media")) == 0);

    // Announced too large: refused before downloading.
    let big = jpeg(6 * 1024 * 1024);
    fake.media.lock().unwrap().insert("BIG2".into(), FakeMedia { data: big, mime: "image/jpeg", report_size: true });
    let downloads_before = fake.downloads.lock().unwrap().len();
    receive_image(&t, conn, "wamid.BIG2", "BIG2").await;
    let id = inbound(&t, demo, conn, "wamid.BIG2").await.id;
    wait_job(&t, &format!("media:{id}"), "done", |j| j.0 == "done").await;
    assert!(message(&t, demo, id).await.error_title.unwrap().contains("too large"));
    assert_eq!(fake.downloads.lock().unwrap().len(), downloads_before);
    t.stop().await;
});

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

// ---------------------------------------------------------------- re-authentication

engine_test!(a_new_access_token_clears_needs_reauth_and_sends_go_through_again, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let base = fake.base.lock().unwrap().clone();
    let input = actions::connections::CreateWhatsappCloud {
        name: "Loja",
        phone_number_id: PHONE_NUMBER_ID,
        waba_id: "WABA1",
        access_token: "EAAG-revoked-token",
        app_secret: APP_SECRET,
        graph_url: Some(&base),
        api_version: Some("v21.0"),
        rate_per_sec: None,
    };
    let conn =
        actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, demo, input).await.unwrap().connection.id;
    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!((m.status.as_str(), m.error_code), ("failed", Some(190)));
    let c = atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap();
    assert!(c.needs_reauth);

    // An agent may not change it; an empty token is refused; another tenant's id is not found.
    let agent = t.create_user(demo, "agente@demo.test", Role::Agent, "senha-do-agente-1").await;
    let e = actions::connections::update_secrets(&t.app, &Actor::User(agent), demo, conn, TOKEN, None).await;
    assert!(matches!(e, Err(ActionError::Forbidden)), "{e:?}");
    let e = actions::connections::update_secrets(&t.app, &Actor::Operator, demo, conn, "  ", None).await.unwrap_err();
    assert_invalid(e, "missing_secret");
    let other = t.create_tenant("outra").await;
    let e = actions::connections::update_secrets(&t.app, &Actor::Operator, other, conn, TOKEN, None).await;
    assert!(matches!(e, Err(ActionError::NotFound)), "{e:?}");
    assert!(atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap().needs_reauth);

    let updated =
        actions::connections::update_secrets(&t.app, &Actor::Operator, demo, conn, TOKEN, None).await.unwrap();
    assert!(!updated.needs_reauth);
    let (token, secret) = actions::connections::secrets(&t.app, &updated).unwrap();
    assert_eq!((token.expose(), secret.expose()), (TOKEN, APP_SECRET), "the app secret is kept when not given");
    assert_eq!(t.count("audit_log", "action = 'connection.secrets_updated'").await, 1);

    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!(m.status, "sent", "{m:?}");
    assert_eq!(fake.sends().last().unwrap().auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    t.stop().await;
});

engine_test!(a_graph_call_that_succeeds_with_the_current_token_clears_needs_reauth, |t: TestApp| async move {
    let fake = spawn_fake().await;
    let demo = t.demo_tenant().await;
    let conn = connect(&t, &fake, demo, PHONE_NUMBER_ID, None).await;
    let now = t.app.clock.now_ms();
    atende::store::connections::mark_error(t.app.db.writer(), demo, conn, "token expired", true, now).await.unwrap();
    let c = atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap();
    assert!(c.needs_reauth);
    // A success with a token that is no longer the connection's proves nothing.
    let stale = t.app.master_key.seal("EAAG-an-older-token").unwrap();
    assert!(!atende::store::connections::clear_reauth(t.app.db.writer(), demo, conn, &stale, 0).await.unwrap());
    assert!(atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap().needs_reauth);

    // The media fetch still calls Graph with the current token, and it works.
    fake.media
        .lock()
        .unwrap()
        .insert("MEDIA9".into(), FakeMedia { data: jpeg(3_000), mime: "image/jpeg", report_size: true });
    receive_image(&t, conn, "wamid.IMG9", "MEDIA9").await;
    let id = inbound(&t, demo, conn, "wamid.IMG9").await.id;
    wait_message(&t, demo, id, "fetched", |m| m.media_path.is_some()).await;
    let deadline = Instant::now() + WAIT;
    while atende::store::connections::get(t.app.db.reader(), demo, conn).await.unwrap().unwrap().needs_reauth {
        assert!(Instant::now() < deadline, "the flag stayed after a successful Graph call");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And sends are accepted again.
    let m = send_and_settle(&t, demo, conn).await;
    assert_eq!(m.status, "sent", "{m:?}");
    t.stop().await;
});

engine_test!(metas_131047_from_the_simulator_fails_a_late_free_text_once_without_retry, |t: TestApp| async move {
    // Atende's clock says the customer wrote a minute ago; the simulator's (Meta's) says 25 hours:
    // Atende's own window check passes, Meta accepts the send and then fails it with 131047.
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        access_token: TOKEN.into(),
        app_secret: APP_SECRET.into(),
        phone_number_id: "1098777".into(),
        status_delays_ms: (50, u64::MAX, u64::MAX),
        ..wa_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let demo = t.demo_tenant().await;
    let input = actions::connections::CreateWhatsappCloud {
        name: "Loja",
        phone_number_id: "1098777",
        waba_id: "",
        access_token: TOKEN,
        app_secret: APP_SECRET,
        graph_url: Some(&sim.base_url()),
        api_version: None,
        rate_per_sec: None,
    };
    let conn =
        actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, demo, input).await.unwrap().connection.id;
    sim.set_webhook_url(t.url(&format!("/hooks/whatsapp/{conn}")));
    let d = sim.customer_sends(CUSTOMER, "Ana", wa_sim::CustomerMessage::Text("oi".into())).await.unwrap();
    assert_eq!(d.status, 200);
    sim.advance_clock(Duration::from_secs(25 * 3600));

    let m = send_ok(&t, to_phone(demo, conn, text("Ainda precisa de ajuda?"))).await;
    let m = wait_message(&t, demo, m.id, "failed", |m| m.status == "failed").await;
    assert_eq!(m.error_code, Some(131047), "{m:?}");
    assert_eq!(m.error_title.as_deref(), Some("Re-engagement message"));
    assert!(m.provider_id.is_some(), "Meta accepted it first: {m:?}");
    wait_job(&t, &format!("send:{}", m.id), "done", |j| j.0 == "done" && j.1 == 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent: Vec<_> = sim.sent_messages().into_iter().filter(|s| s.to == CUSTOMER).collect();
    assert_eq!(sent.len(), 1, "sent once, never retried: {sent:?}");
    assert_eq!(message(&t, demo, m.id).await.status, "failed", "failed is final");
    sim.shutdown().await;
    t.stop().await;
});
