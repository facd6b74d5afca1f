//! Helpers shared by the REST API tests (`api_*`): a JSON client with a bearer token, a fake
//! Graph API that accepts sends, a WhatsApp connection pointing at it, and customers writing in
//! through the signed webhook so tickets exist inside the 24-hour window.

use std::sync::{Arc, Mutex};

use atende::actions::{self, Actor};
use atende::domain::TenantId;
use axum::extract::State;
use axum::routing::post;
use axum::Json;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::TestApp;

pub const APP_SECRET: &str = "api-app-secret";

/// An answer: status, headers and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts the error envelope with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.body);
    }

    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        &self.body
    }

    pub fn id(&self) -> i64 {
        self.body["id"].as_i64().unwrap_or_else(|| panic!("no id in {}", self.body))
    }
}

/// A client of `/api/v1` with one token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(t: &TestApp, token: &str) -> Api {
        Api { base: t.url("/api/v1"), token: token.to_string(), client: reqwest::Client::new() }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>, key: Option<&str>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {text}: {e}"))
        };
        if !body.is_null() {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(content_type.starts_with("application/json"), "{path}: content-type {content_type}");
        }
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(body), None).await
    }

    pub async fn post_with_key(&self, path: &str, body: &Value, key: &str) -> Answer {
        self.call(Method::POST, path, Some(body), Some(key)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::PATCH, path, Some(body), None).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None, None).await
    }
}

/// A fake Graph API that accepts every send and counts them.
#[derive(Default)]
pub struct Graph {
    pub sends: Mutex<Vec<Value>>,
}

impl Graph {
    pub fn messages(&self) -> Vec<Value> {
        self.sends.lock().unwrap().iter().filter(|b| b.get("status").is_none()).cloned().collect()
    }
}

async fn graph_send(State(g): State<Arc<Graph>>, Json(body): Json<Value>) -> Json<Value> {
    let mut sends = g.sends.lock().unwrap();
    sends.push(body.clone());
    let wamid = format!("wamid.API{}", sends.len());
    Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
        "messages": [{"id": wamid}]}))
}

pub async fn spawn_graph() -> (Arc<Graph>, String) {
    let g = Arc::new(Graph::default());
    let router = axum::Router::new()
        .route("/{version}/{phone_id}/messages", post(graph_send))
        .route("/{version}/{phone_id}/media", post(|| async { Json(json!({"id": "MEDIA-UPLOADED"})) }))
        .with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (g, base)
}

/// A company with a WhatsApp number (pointing at a fake Graph) and a token with every scope.
pub struct Company {
    pub tenant: TenantId,
    pub conn: i64,
    pub phone_number_id: String,
    pub graph: Arc<Graph>,
    pub api: Api,
}

pub async fn company(t: &TestApp, slug: Option<&str>) -> Company {
    let tenant = match slug {
        None => t.demo_tenant().await,
        Some(s) => t.create_tenant(s).await,
    };
    let (graph, base) = spawn_graph().await;
    let phone_number_id = format!("90{}", tenant.0 * 1000 + 7);
    let input = actions::connections::CreateWhatsappCloud {
        name: "Loja",
        phone_number_id: &phone_number_id,
        waba_id: "WABA1",
        access_token: "EAAG-api-token",
        app_secret: APP_SECRET,
        graph_url: Some(&base),
        api_version: Some("v21.0"),
        rate_per_sec: None,
    };
    let conn = actions::connections::create_whatsapp_cloud(&t.app, &Actor::Operator, tenant, input)
        .await
        .unwrap()
        .connection
        .id;
    let token = t.token(tenant, &atende::domain::Scope::ALL).await;
    Company { tenant, conn, phone_number_id, graph, api: Api::new(t, &token) }
}

pub fn customer(i: usize) -> String {
    format!("55119876{i:05}")
}

/// Customers write to the company (one signed webhook delivery): (phone, wamid, text) each.
pub async fn inbound(t: &TestApp, c: &Company, messages: &[(String, String, String)]) {
    let now_secs = (t.app.clock.now_ms() / 1000).to_string();
    let contacts: Vec<Value> =
        messages.iter().map(|(p, _, _)| json!({"profile": {"name": format!("Cliente {p}")}, "wa_id": p})).collect();
    let msgs: Vec<Value> = messages
        .iter()
        .map(
            |(p, id, text)| json!({"from": p, "id": id, "timestamp": now_secs, "type": "text", "text": {"body": text}}),
        )
        .collect();
    let body =
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511900000000", "phone_number_id": c.phone_number_id},
            "contacts": contacts, "messages": msgs}}]}]})
        .to_string();
    let signature = format!("sha256={}", atende::crypto::hmac_sha256_hex(APP_SECRET.as_bytes(), body.as_bytes()));
    let answer = reqwest::Client::new()
        .post(t.url(&format!("/hooks/whatsapp/{}", c.conn)))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "webhook refused: {}", answer.text().await.unwrap());
}

/// One customer writes one message; returns the id of the ticket it went to.
pub async fn ticket_from(t: &TestApp, c: &Company, phone: &str, text: &str) -> i64 {
    let wamid = format!("wamid.IN{}", atende::crypto::random_token(8));
    inbound(t, c, &[(phone.to_string(), wamid.clone(), text.to_string())]).await;
    // The webhook's writes are group-committed: wait until the message is readable.
    for _ in 0..400 {
        if let Some(m) =
            atende::store::messages::find_by_provider_id(t.app.db.reader(), c.tenant, c.conn, &wamid).await.unwrap()
        {
            return m.ticket_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("inbound message {wamid} was never stored");
}

/// Every page of a list, following `next_cursor`; panics on a loop.
pub async fn walk(api: &Api, path: &str, limit: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..1000 {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let page = api.get(&url).await;
        let body = page.assert_ok(200);
        let data = body["data"].as_array().unwrap_or_else(|| panic!("{url}: {body}"));
        assert!(data.len() as i64 <= limit, "{url} gave {} rows", data.len());
        out.extend(data.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert!(!data.is_empty(), "{url}: an empty page with a next cursor");
                cursor = Some(c.to_string());
            }
            None => return out,
        }
    }
    panic!("{path}: pagination does not end");
}

pub fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}
