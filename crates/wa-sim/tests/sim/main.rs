//! End-to-end tests over real HTTP on loopback: a simulator, and a local axum receiver standing in
//! for Atende's webhook endpoint.
//!
//! This file holds the shared receiver, configuration and request helpers; the tests live in
//! the submodules by theme.

// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wa_sim::{
    run_load, verify_signature, BatchShape, CustomerMessage, Faults, LoadConfig, MessageStatus, SimConfig, Simulator,
};

mod customers;
mod graph;
mod load;
mod webhooks;

const SECRET: &str = "test-app-secret";
const TOKEN: &str = "test-token";

#[derive(Clone)]
struct Received {
    body: Value,
    signature_ok: bool,
    content_type: String,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let state = (got.clone(), answer.clone());
        let app = Router::new().route("/hook", post(hook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, answer }
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = self.all();
            if all.len() >= n || Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Status webhooks only, as (id, status) in arrival order.
    fn statuses(&self) -> Vec<(String, String, Value)> {
        self.all()
            .iter()
            .filter_map(|r| r.body["entry"][0]["changes"][0]["value"]["statuses"].as_array().cloned())
            .flatten()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string(), s))
            .collect()
    }
}

type RecvState = (Arc<Mutex<Vec<Received>>>, Arc<AtomicU16>);

async fn hook(State((got, answer)): State<RecvState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).unwrap_or("");
    let received = Received {
        signature_ok: verify_signature(SECRET, &body, sig),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        body: serde_json::from_slice(&body).unwrap(),
    };
    got.lock().unwrap().push(received);
    StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
}

fn config(webhook: &Receiver) -> SimConfig {
    SimConfig {
        access_token: TOKEN.into(),
        app_secret: SECRET.into(),
        webhook_url: Some(webhook.url.clone()),
        status_delays_ms: (0, 20, 20),
        ..SimConfig::default()
    }
}

async fn start() -> (Simulator, Receiver) {
    let rx = Receiver::start().await;
    let sim = Simulator::start(config(&rx)).await.unwrap();
    (sim, rx)
}

fn messages_url(sim: &Simulator) -> String {
    format!("{}/v21.0/{}/messages", sim.base_url(), sim.phone_number_id())
}

async fn post_json(url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn send_text(sim: &Simulator, to: &str, text: &str) -> (u16, Value) {
    post_json(
        &messages_url(sim),
        Some(TOKEN),
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text",
               "text":{"body":text,"preview_url":false}}),
    )
    .await
}

async fn media_info(sim: &Simulator, id: &str) -> Value {
    let resp =
        reqwest::Client::new().get(format!("{}/v21.0/{id}", sim.base_url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn only_message(d: &wa_sim::Delivery) -> &Value {
    let value = &d.payload["entry"][0]["changes"][0]["value"];
    assert_eq!(value["messages"].as_array().unwrap().len(), 1);
    &value["messages"][0]
}
