//! The customer phone page (`GET /`) and its JSON endpoints under `/sim/…`.
//!
//! These endpoints are unauthenticated: the simulator is a loopback development tool.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::Shared;
use crate::{ids, templates, CustomerMessage, Faults, MessageStatus};

const PAGE_HTML: &str = include_str!("../assets/phone.html");
const PAGE_JS: &str = include_str!("../assets/phone.js");
const PAGE_CSS: &str = include_str!("../assets/phone.css");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", PAGE_HTML) }))
        .route("/sim/phone.js", get(|| async { asset("text/javascript; charset=utf-8", PAGE_JS) }))
        .route("/sim/phone.css", get(|| async { asset("text/css; charset=utf-8", PAGE_CSS) }))
        .route("/sim/info", get(info))
        .route("/sim/faults", get(get_faults).post(set_faults))
        .route("/sim/webhook-url", post(set_webhook_url))
        .route("/sim/templates/status", post(set_template_status))
        .route("/sim/customer/marketing", post(customer_marketing))
        .route("/sim/customer/send", post(customer_send))
        .route("/sim/customer/read", post(customer_read))
        .route("/sim/conversations/{wa_id}", get(conversation))
        .with_state(shared)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /sim/info`: the simulated number and where webhooks go.
async fn info(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "phone_number_id": shared.cfg.phone_number_id,
        "display_phone_number": shared.cfg.display_phone_number,
        "waba_id": shared.cfg.waba_id,
        "webhook_url": shared.webhook_url(),
        "graph_url": shared.base_url,
        "faults": shared.faults(),
    }))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.faults())
}

/// `POST /sim/faults` with a [`Faults`] JSON body.
async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> Json<Faults> {
    shared.set_faults(faults);
    Json(shared.faults())
}

#[derive(Deserialize)]
struct WebhookUrl {
    url: Option<String>,
}

/// `POST /sim/webhook-url` `{"url": "..."}` (null clears it).
async fn set_webhook_url(State(shared): State<Arc<Shared>>, Json(body): Json<WebhookUrl>) -> Json<Value> {
    shared.set_webhook_url(body.url.filter(|u| !u.is_empty()));
    Json(json!({ "webhook_url": shared.webhook_url() }))
}

#[derive(Deserialize)]
struct TemplateStatus {
    name: String,
    language: String,
    status: String,
}

/// `POST /sim/templates/status` `{"name","language","status"}`: a template's review status changes
/// (APPROVED, REJECTED, PAUSED…), as Meta's review or quality rating would change it.
async fn set_template_status(State(shared): State<Arc<Shared>>, Json(b): Json<TemplateStatus>) -> Response {
    if shared.set_template_status(&b.name, &b.language, &b.status) {
        Json(json!({ "name": b.name, "language": b.language, "status": b.status.to_ascii_uppercase() })).into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, Json(json!({ "error": "no such template" }))).into_response()
    }
}

#[derive(Deserialize)]
struct MarketingChoice {
    wa_id: String,
    stop: bool,
}

/// `POST /sim/customer/marketing` `{"wa_id","stop"}`: the customer stops or resumes marketing
/// messages (Meta's `user_preferences` webhook is sent).
async fn customer_marketing(State(shared): State<Arc<Shared>>, Json(b): Json<MarketingChoice>) -> Response {
    match shared.customer_sets_marketing(&b.wa_id, b.stop).await {
        Ok(status) => Json(json!({ "webhook_status": status })).into_response(),
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

/// What the page posts to send a customer message.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SendForm {
    wa_id: String,
    /// A username: the customer shows it instead of their number (which may be empty).
    username: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    text: String,
    reply_to: Option<String>,
    id: String,
    title: String,
    payload: String,
    message_id: String,
    emoji: String,
}

fn to_message(f: &SendForm) -> Option<CustomerMessage> {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(match f.kind.as_str() {
        "" | "text" => match &f.reply_to {
            Some(ctx) if !ctx.is_empty() => {
                CustomerMessage::ReplyText { context_id: ctx.clone(), text: f.text.clone() }
            }
            _ => CustomerMessage::Text(f.text.clone()),
        },
        "image" => CustomerMessage::Image { caption: opt(&f.text) },
        "audio" => CustomerMessage::Audio { voice: false },
        "voice" => CustomerMessage::Audio { voice: true },
        "video" => CustomerMessage::Video,
        "document" => CustomerMessage::Document { filename: opt(&f.text).unwrap_or_else(|| "documento.pdf".into()) },
        "sticker" => CustomerMessage::Sticker,
        "location" => CustomerMessage::Location { latitude: -23.561414, longitude: -46.655881, name: opt(&f.text) },
        "contacts" => CustomerMessage::Contacts,
        "button_reply" => CustomerMessage::ButtonReply { id: f.id.clone(), title: f.title.clone() },
        "list_reply" => CustomerMessage::ListReply { id: f.id.clone(), title: f.title.clone() },
        "template_button" => CustomerMessage::TemplateButton { payload: f.payload.clone(), text: f.title.clone() },
        "reaction" => CustomerMessage::Reaction { message_id: f.message_id.clone(), emoji: f.emoji.clone() },
        "unsupported" => CustomerMessage::Unsupported,
        _ => return None,
    })
}

/// `POST /sim/customer/send`: the page's customer sends a message (it becomes a webhook).
async fn customer_send(State(shared): State<Arc<Shared>>, Json(form): Json<SendForm>) -> Response {
    let wa_id = ids::digits(&form.wa_id);
    let username = form.username.trim().trim_start_matches('@');
    if wa_id.is_empty() && username.is_empty() {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "wa_id needs digits (or give a username)" })))
            .into_response();
    }
    let Some(message) = to_message(&form) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "unknown type" }))).into_response();
    };
    let name = if form.name.trim().is_empty() { "Cliente" } else { form.name.trim() };
    let phone = (!wa_id.is_empty()).then_some(wa_id.as_str());
    let username = (!username.is_empty()).then_some(username);
    match shared.customer_sends_as(phone, username, name, message).await {
        Ok(d) => Json(json!({ "message_id": d.message_id, "user_id": d.user_id, "status": d.status })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

#[derive(Deserialize)]
struct ReadForm {
    wa_id: String,
}

/// `POST /sim/customer/read`: the customer viewed the chat; unread business messages get `read`.
async fn customer_read(State(shared): State<Arc<Shared>>, Json(form): Json<ReadForm>) -> Json<Value> {
    let n = shared.customer_reads(&form.wa_id).await.unwrap_or(0);
    Json(json!({ "read": n }))
}

/// What the customer's phone shows for a message the business sent: its text, the buttons it
/// offers (reply buttons, template quick replies) and, for a list message, the list: the label
/// of the button that opens it and its sections of rows, tapped one row at a time.
struct Bubble {
    text: String,
    buttons: Vec<Value>,
    list: Value,
}

fn describe_outbound(req: &Value) -> Bubble {
    let (text, buttons) = describe_text_and_buttons(req);
    let list = list_of(req);
    Bubble { text, buttons, list }
}

/// A list message's `{button, sections: [{title, rows: [{id, title, description}]}]}`, or null.
fn list_of(req: &Value) -> Value {
    let i = &req["interactive"];
    if req["type"] != "interactive" || i["type"] != "list" {
        return Value::Null;
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let sections: Vec<Value> = i["action"]["sections"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|section| {
            let rows: Vec<Value> = section["rows"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|r| json!({ "id": s(&r["id"]), "title": s(&r["title"]), "description": s(&r["description"]) }))
                .collect();
            json!({ "title": s(&section["title"]), "rows": rows })
        })
        .collect();
    json!({ "button": s(&i["action"]["button"]), "sections": sections })
}

/// The text of a message the business sent, and its buttons.
fn describe_text_and_buttons(req: &Value) -> (String, Vec<Value>) {
    let kind = req["type"].as_str().unwrap_or("text");
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    match kind {
        "text" => (s(&req["text"]["body"]), vec![]),
        "image" | "video" | "document" | "audio" | "sticker" => {
            let o = &req[kind];
            let label = [&o["caption"], &o["filename"], &o["link"], &o["id"]]
                .iter()
                .find_map(|v| v.as_str().filter(|x| !x.is_empty()))
                .unwrap_or("")
                .to_string();
            (format!("[{kind}] {label}"), vec![])
        }
        "template" => {
            let t = &req["template"];
            let (name, lang) = (t["name"].as_str().unwrap_or(""), t["language"]["code"].as_str().unwrap_or(""));
            let Some(def) = templates::find(name, lang) else { return (format!("[template {name}]"), vec![]) };
            let comps = def["components"].as_array().cloned().unwrap_or_default();
            let sent_comps = t["components"].as_array().cloned().unwrap_or_default();
            let params: Vec<String> = sent_comps
                .iter()
                .find(|c| c["type"].as_str().is_some_and(|x| x.eq_ignore_ascii_case("body")))
                .and_then(|c| c["parameters"].as_array())
                .map(|ps| ps.iter().map(|p| s(&p["text"])).collect())
                .unwrap_or_default();
            let mut text = comps.iter().find(|c| c["type"] == "BODY").map(|c| s(&c["text"])).unwrap_or_default();
            for (i, p) in params.iter().enumerate() {
                text = text.replace(&format!("{{{{{}}}}}", i + 1), p);
            }
            let mut buttons = Vec::new();
            for c in comps.iter().filter(|c| c["type"] == "BUTTONS") {
                for (i, b) in c["buttons"].as_array().cloned().unwrap_or_default().iter().enumerate() {
                    let payload = sent_comps
                        .iter()
                        .find(|sc| sc["type"] == "button" && sc["index"].as_str() == Some(&i.to_string()))
                        .and_then(|sc| sc["parameters"][0]["payload"].as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| s(&b["text"]));
                    buttons.push(json!({ "kind": "template_button", "id": payload, "title": s(&b["text"]) }));
                }
            }
            (text, buttons)
        }
        "interactive" => {
            let i = &req["interactive"];
            let mut buttons = Vec::new();
            for b in i["action"]["buttons"].as_array().cloned().unwrap_or_default() {
                buttons.push(
                    json!({ "kind": "button_reply", "id": s(&b["reply"]["id"]), "title": s(&b["reply"]["title"]) }),
                );
            }
            // A list's rows are not buttons: the phone opens them from the list's own button.
            let text = [&i["header"]["text"], &i["body"]["text"], &i["footer"]["text"]]
                .iter()
                .filter_map(|v| v.as_str().filter(|x| !x.is_empty()))
                .collect::<Vec<_>>()
                .join("\n");
            (text, buttons)
        }
        "reaction" => (format!("[reaction] {}", s(&req["reaction"]["emoji"])), vec![]),
        "location" => (format!("[location] {}", s(&req["location"]["name"])), vec![]),
        "contacts" => (format!("[contact] {}", s(&req["contacts"][0]["name"]["formatted_name"])), vec![]),
        other => (format!("[{other}]"), vec![]),
    }
}

/// Ticks for the customer's own message: read by the business, acknowledged, failed, or in flight.
fn inbound_status(r: &crate::state::InboundRecord) -> &'static str {
    match (r.read, r.acknowledged) {
        (true, _) => "read",
        (false, Some(true)) => "delivered",
        (false, Some(false)) => "failed",
        (false, None) => "accepted",
    }
}

/// `GET /sim/conversations/{wa_id}`: both sides of the chat, oldest first.
async fn conversation(State(shared): State<Arc<Shared>>, Path(wa_id): Path<String>) -> Json<Value> {
    // A customer who shows a username is named by their user id.
    let wa_id = if ids::is_user_id(&wa_id) { wa_id } else { ids::digits(&wa_id) };
    let mut items: Vec<(u64, Value)> = Vec::new();
    {
        let s = shared.store();
        for r in s.inbound.iter().filter(|r| r.wa_id == wa_id) {
            items.push((
                r.seq,
                json!({
                    "direction": "in", "id": r.id, "type": r.kind, "text": r.summary,
                    "timestamp": r.timestamp, "status": inbound_status(r), "buttons": [],
                }),
            ));
        }
        for r in s.sent.iter().filter(|r| r.msg.to == wa_id) {
            let Bubble { text, buttons, list } = describe_outbound(&r.msg.request);
            let status = if r.msg.status == MessageStatus::Accepted { "accepted" } else { r.msg.status.as_str() };
            items.push((
                r.seq,
                json!({
                    "direction": "out", "id": r.msg.id, "type": r.msg.message_type, "text": text,
                    "timestamp": r.msg.timestamp, "status": status, "buttons": buttons, "list": list,
                    "context": r.msg.request["context"]["message_id"],
                }),
            ));
        }
    }
    items.sort_by_key(|(seq, _)| *seq);
    Json(json!({ "wa_id": wa_id, "messages": items.into_iter().map(|(_, v)| v).collect::<Vec<_>>() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_with_parameters_and_buttons() {
        let req = json!({"type":"template","template":{"name":"atendimento_retorno","language":{"code":"pt_BR"},
            "components":[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]}});
        let Bubble { text, buttons, list } = describe_outbound(&req);
        assert!(text.starts_with("Olá Ana,"));
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["kind"], "template_button");
        assert!(list.is_null());
    }

    #[test]
    fn a_list_opens_from_its_button_and_its_rows_are_not_buttons() {
        let req = json!({"type":"interactive","interactive":{"type":"list",
            "header":{"type":"text","text":"Atendimento"},"body":{"text":"Escolha o setor"},
            "action":{"button":"Ver opções","sections":[
                {"title":"Setores","rows":[{"id":"v","title":"Vendas","description":"Orçamentos"},{"id":"s","title":"Suporte"}]},
                {"title":"Outros","rows":[{"id":"f","title":"Financeiro"}]}]}}});
        let Bubble { text, buttons, list } = describe_outbound(&req);
        assert_eq!(text, "Atendimento\nEscolha o setor");
        assert!(buttons.is_empty());
        assert_eq!(list["button"], "Ver opções");
        assert_eq!(list["sections"][0]["title"], "Setores");
        assert_eq!(list["sections"][0]["rows"][0], json!({"id":"v","title":"Vendas","description":"Orçamentos"}));
        assert_eq!(list["sections"][0]["rows"][1]["description"], "");
        assert_eq!(list["sections"][1]["rows"][0]["id"], "f");
    }
}
