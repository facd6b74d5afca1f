//! The "phone" page (`GET /`) and its JSON endpoints under `/sim/…`: scan the QR code, write
//! as a customer or from the phone, drop the connection or unlink the device.
//!
//! These endpoints are unauthenticated: the gateway is a loopback development tool.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::{Instance, Shared};
use crate::{ids, CustomerMessage, Disconnect};

const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = "body{font-family:sans-serif;margin:1rem;background:#f0f2f5}\
section{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}\
.qr-code{display:block;word-break:break-all;font-size:.75rem;background:#eee;padding:.5rem}\
form{margin:.5rem 0}input{margin-right:.25rem}.state{font-weight:bold}ul{font-size:.85rem}";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/sim/state", get(state))
        .route("/sim/{instance}/scan", post(scan))
        .route("/sim/{instance}/customer", post(customer))
        .route("/sim/{instance}/phone", post(phone))
        .route("/sim/{instance}/read", post(read))
        .route("/sim/{instance}/drop", post(drop_connection))
        .route("/sim/{instance}/unlink", post(unlink))
        .with_state(shared)
}

/// A body sent as JSON or as an HTML form.
struct JsonOrForm<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for JsonOrForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            let Form(t) = Form::<T>::from_request(req, state).await.map_err(|e| bad(&e.body_text()))?;
            Ok(JsonOrForm(t))
        } else {
            let Json(t) = Json::<T>::from_request(req, state).await.map_err(|e| bad(&e.body_text()))?;
            Ok(JsonOrForm(t))
        }
    }
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "ok": false, "error": msg }))).into_response()
}

/// The outcome of a page action as JSON.
fn answer(r: anyhow::Result<Value>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => bad(&e.to_string()),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One instance as `/sim/state` (and the page script) sees it.
fn instance_state(inst: &Instance) -> Value {
    json!({
        "name": inst.name,
        "state": inst.conn.as_str(),
        "qr_code": inst.qr.as_ref().map(|q| q.code.clone()),
        "pairing_code": inst.qr.as_ref().and_then(|q| q.pairing_code.clone()),
        "qr_count": inst.qr.as_ref().map(|q| q.count),
        "webhook_url": inst.webhook.url,
        "connect_calls": inst.connect_calls,
        "sent": inst.sent.iter().rev().take(20).map(|r| &r.msg).collect::<Vec<_>>(),
        "log": inst.log,
    })
}

fn sorted(shared: &Shared) -> Vec<Value> {
    let instances = shared.lock();
    let mut list: Vec<&Instance> = instances.values().collect();
    list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    list.into_iter().map(instance_state).collect()
}

/// `GET /sim/state`: every instance with its state, QR code, sends and chat log.
async fn state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "business_phone": shared.cfg.business_phone, "instances": sorted(&shared) }))
}

/// `GET /`: the page, rendered with every value escaped; its script refreshes it every 2 s.
async fn page(State(shared): State<Arc<Shared>>) -> Response {
    let nonce = ids::phone_message_id();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\"><title>evo-sim: celular</title>\
         <style nonce=\"{nonce}\">{STYLE}</style></head><body><h1>Celular simulado ({})</h1>\
         <p>Evolution API em <code>{}</code></p><div id=\"instances\">",
        esc(&shared.cfg.business_phone),
        esc(&shared.base_url)
    );
    let instances = sorted(&shared);
    if instances.is_empty() {
        html.push_str("<p class=\"empty\">Nenhuma instância criada.</p>");
    }
    for inst in &instances {
        render_instance(&mut html, inst);
    }
    let _ = write!(html, "</div><script nonce=\"{nonce}\">{SCRIPT}</script></body></html>");
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'");
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        html,
    )
        .into_response()
}

fn render_instance(html: &mut String, inst: &Value) {
    let s = |k: &str| esc(inst[k].as_str().unwrap_or_default());
    let name = s("name");
    let qr = inst["qr_code"].as_str();
    let hidden = if qr.is_some() { "" } else { " hidden" };
    let _ = write!(
        html,
        "<section class=\"instance\" id=\"instance-{name}\" data-name=\"{name}\"><h2>{name}</h2>\
         <p>Estado: <span class=\"state\">{}</span></p>\
         <div class=\"qr\"{hidden}><p>QR Code na tela:</p><code class=\"qr-code\">{}</code>\
         <p>Código de pareamento: <span class=\"pairing-code\">{}</span></p>\
         <button type=\"button\" class=\"scan\">Escanear QR Code</button></div>\
         <form class=\"customer\" data-action=\"customer\">\
         <input name=\"phone\" placeholder=\"Número do cliente\" aria-label=\"Número do cliente\" value=\"5511912345678\">\
         <input name=\"name\" placeholder=\"Nome\" aria-label=\"Nome\" value=\"Maria\">\
         <input name=\"text\" placeholder=\"Mensagem\" aria-label=\"Mensagem\">\
         <button type=\"submit\">Enviar como cliente</button></form>\
         <form class=\"phone\" data-action=\"phone\">\
         <input name=\"phone\" placeholder=\"Número do cliente\" aria-label=\"Número do cliente\" value=\"5511912345678\">\
         <input name=\"text\" placeholder=\"Mensagem\" aria-label=\"Mensagem\">\
         <button type=\"submit\">Enviar pelo celular</button></form>\
         <p><button type=\"button\" class=\"drop\">Derrubar conexão</button> \
         <button type=\"button\" class=\"unlink\">Desvincular aparelho</button> <span class=\"result\"></span></p>\
         <h3>Enviadas pela empresa (API)</h3><ul class=\"sent\">",
        s("state"),
        esc(qr.unwrap_or_default()),
        esc(inst["pairing_code"].as_str().unwrap_or("—")),
    );
    for m in inst["sent"].as_array().into_iter().flatten() {
        let text =
            m["text"].as_str().map(str::to_string).unwrap_or_else(|| format!("[{}]", m["kind"].as_str().unwrap_or("")));
        let _ = write!(
            html,
            "<li>para {}: {} <small>({})</small></li>",
            esc(m["number"].as_str().unwrap_or_default()),
            esc(&text),
            esc(m["status"].as_str().unwrap_or_default())
        );
    }
    html.push_str("</ul><h3>Conversa</h3><ul class=\"log\">");
    for l in inst["log"].as_array().into_iter().flatten() {
        let _ = write!(
            html,
            "<li>[{}] {} {}: {}</li>",
            esc(l["from"].as_str().unwrap_or_default()),
            esc(l["peer"].as_str().unwrap_or_default()),
            esc(l["push_name"].as_str().unwrap_or_default()),
            esc(l["text"].as_str().unwrap_or_default())
        );
    }
    html.push_str("</ul></section>");
}

#[derive(Deserialize)]
struct ScanForm {
    code: String,
}

/// `POST /sim/{instance}/scan` `{"code"}`: same as [`crate::Gateway::scan`].
async fn scan(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    JsonOrForm(f): JsonOrForm<ScanForm>,
) -> Response {
    answer(shared.scan(&name, &f.code).await.map(|()| json!({ "ok": true })))
}

#[derive(Deserialize)]
struct CustomerForm {
    phone: String,
    #[serde(default)]
    name: String,
    text: String,
}

/// `POST /sim/{instance}/customer` `{"phone", "name", "text"}`: a customer writes a text.
async fn customer(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    JsonOrForm(f): JsonOrForm<CustomerForm>,
) -> Response {
    let push_name = if f.name.trim().is_empty() { "Cliente" } else { f.name.trim() };
    let r = shared.customer_sends(&name, &f.phone, push_name, CustomerMessage::Text(f.text)).await;
    answer(r.map(|id| json!({ "ok": true, "id": id })))
}

#[derive(Deserialize)]
struct PhoneForm {
    phone: String,
    #[serde(default)]
    text: String,
}

/// `POST /sim/{instance}/phone` `{"phone", "text"}`: the business writes on the phone.
async fn phone(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    JsonOrForm(f): JsonOrForm<PhoneForm>,
) -> Response {
    answer(shared.phone_sends(&name, &f.phone, &f.text).await.map(|id| json!({ "ok": true, "id": id })))
}

/// `POST /sim/{instance}/read` `{"phone"}`: the customer reads the chat.
async fn read(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    JsonOrForm(f): JsonOrForm<PhoneForm>,
) -> Response {
    answer(shared.customer_reads(&name, &f.phone).await.map(|n| json!({ "ok": true, "read": n })))
}

#[derive(Deserialize, Default)]
struct DropForm {
    #[serde(default)]
    failing_connects: usize,
}

/// `POST /sim/{instance}/drop` `{"failing_connects"?}`: a network drop.
async fn drop_connection(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    // The page's button posts no body; tests may give a count as JSON or as a form field.
    let failing_connects = serde_json::from_slice::<DropForm>(&body).map(|f| f.failing_connects).unwrap_or_else(|_| {
        String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|kv| kv.strip_prefix("failing_connects=").and_then(|n| n.trim().parse().ok()))
            .unwrap_or(0)
    });
    let how = Disconnect::Dropped { failing_connects };
    answer(shared.disconnect(&name, how).await.map(|()| json!({ "ok": true })))
}

/// `POST /sim/{instance}/unlink`: the phone unlinks the device.
async fn unlink(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    answer(shared.disconnect(&name, Disconnect::LoggedOut).await.map(|()| json!({ "ok": true })))
}
