//! End-to-end tests over real HTTP on loopback: a gateway, and a small axum receiver standing
//! in for Atende's webhook endpoint.
//!
//! This file holds the receiver and the request helpers; the tests live in `gateway/` by theme.

// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::{Json, Router};
use evo_sim::{Gateway, GatewayConfig};
use serde_json::{json, Value};

mod instances;
mod messages;

const KEY: &str = "test-global-key";
const EVENTS: &[&str] =
    &["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "STATUS_INSTANCE"];

#[derive(Clone)]
struct Receiver {
    url: String,
    /// (path, body) in arrival order.
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// The status to answer with.
    answer: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
}

type RxState = (Arc<Mutex<Vec<(String, Value)>>>, Arc<AtomicU16>, Arc<AtomicUsize>);

async fn hook(State((got, answer, hits)): State<RxState>, uri: Uri, Json(body): Json<Value>) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        got.lock().unwrap().push((uri.path().to_string(), body));
    }
    status
}

impl Receiver {
    async fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let app = Router::new().fallback(hook).with_state((got.clone(), answer.clone(), hits.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, answer, hits }
    }

    fn events(&self, event: &str) -> Vec<Value> {
        self.got.lock().unwrap().iter().filter(|(_, b)| b["event"] == event).map(|(_, b)| b.clone()).collect()
    }

    fn all(&self) -> Vec<Value> {
        self.got.lock().unwrap().iter().map(|(_, b)| b.clone()).collect()
    }

    /// Waits until `n` webhooks of `event` arrived (or 5 s), and returns them.
    async fn wait_for(&self, event: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.events(event);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn gateway(qr_every: Duration) -> Gateway {
    Gateway::start(GatewayConfig { api_key: KEY.into(), qr_rotate_every: qr_every, ..GatewayConfig::default() })
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A request with an `apikey`, answering (status, JSON).
async fn call(method: &str, url: String, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http().request(method, url);
    if let Some(k) = key {
        req = req.header("apikey", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Creates `name` with a QR code and a webhook to `rx` (media inline); returns the create answer.
async fn create(gw: &Gateway, rx: &Receiver, name: &str) -> Value {
    let body = json!({
        "instanceName": name, "qrcode": true, "integration": "WHATSAPP-BAILEYS",
        "webhook": { "url": rx.url, "byEvents": false, "base64": true, "events": EVENTS },
    });
    let (status, v) = call("POST", format!("{}/instance/create", gw.base_url()), Some(KEY), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// Creates `name` and scans its QR code; returns its token.
async fn open(gw: &Gateway, rx: &Receiver, name: &str) -> String {
    let created = create(gw, rx, name).await;
    gw.scan(name, &gw.current_qr(name).unwrap()).await.unwrap();
    created["hash"].as_str().unwrap().to_string()
}

async fn state(gw: &Gateway, name: &str) -> String {
    let (_, v) = call("GET", format!("{}/instance/connectionState/{name}", gw.base_url()), Some(KEY), None).await;
    v["instance"]["state"].as_str().unwrap_or_default().to_string()
}
