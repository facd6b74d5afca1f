//! The Chatbot page: the flow's editor (node forms written by `assets/flow.js` over the flow's
//! JSON, which stays editable, importable and exportable as text), the flow drawn as a graph with
//! each node's problems, and a "test this flow" chat that runs it without a customer. The graph
//! and the test answer the script's form posts as JSON; without the script the JSON form works.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::pages::NoticeQuery;
use super::{error_message, error_status, flow_graph, render, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::domain::flow::{FlowError, Say};

#[derive(Template)]
#[template(path = "chatbot.html")]
struct ChatbotPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    flow: String,
    graph: String,
    problems: Vec<FlowError>,
    /// `[[id, name], …]` for the editor's department choices.
    departments: String,
    enabled: bool,
}

async fn page(p: &Page, notice: Option<String>, error: Option<String>, typed: Option<String>) -> Response {
    let layout = p.layout("nav.chatbot", "/admin/chatbot");
    let (a, stored) = match actions::automation::get(&p.app, &p.actor(), p.tenant()).await {
        Ok(found) => found,
        Err(e) => return p.failure(&e),
    };
    let flow = typed.unwrap_or_else(|| stored.as_deref().map(pretty).unwrap_or_default());
    let names = match department_names(p).await {
        Ok(names) => names,
        Err(e) => return p.failure(&e),
    };
    let (graph, problems) = match actions::flow_editor::check(&p.app, &p.actor(), p.tenant(), &flow).await {
        Ok((f, problems)) => (flow_graph::svg(&f, &problems, &names), problems),
        Err(_) => (String::new(), Vec::new()),
    };
    let departments: Vec<Value> = names.iter().map(|(id, name)| json!([id, name])).collect();
    render(ChatbotPage {
        layout,
        notice,
        error,
        flow,
        graph,
        problems,
        departments: Value::Array(departments).to_string(),
        enabled: a.enabled,
    })
}

async fn department_names(p: &Page) -> Result<Vec<(i64, String)>, ActionError> {
    let list = actions::departments::list_departments(&p.app, &p.actor(), p.tenant()).await?;
    Ok(list.into_iter().map(|d| (d.id, d.name)).collect())
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

pub async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = q.saved.map(|_| p.lang().t("common.saved").to_string());
    page(&p, notice, None, None).await
}

pub async fn update(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = field(&fields, "flow").unwrap_or_default();
    match actions::flow_editor::save_flow(&p.app, &p.actor(), p.tenant(), &text).await {
        Ok(()) => Redirect::to("/admin/chatbot?saved=1").into_response(),
        Err(e) => {
            let mut message = error_message(p.lang(), &e);
            if let ActionError::Invalid { code: "invalid_flow", message: detail } = &e {
                message = format!("{message} ({detail})");
            }
            (error_status(&e), page(&p, None, Some(message), Some(text)).await).into_response()
        }
    }
}

/// The graph and the problems of the flow being edited: `{svg, errors: [{node, message}]}`.
pub async fn preview(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = field(&fields, "flow").unwrap_or_default();
    let checked = match actions::flow_editor::check(&p.app, &p.actor(), p.tenant(), &text).await {
        Ok(checked) => checked,
        Err(e) => return json_error(&p, &e),
    };
    let (f, errors) = checked;
    let names = match department_names(&p).await {
        Ok(names) => names,
        Err(e) => return json_error(&p, &e),
    };
    let list: Vec<Value> = errors.iter().map(|e| json!({ "node": e.node, "message": e.message })).collect();
    axum::Json(json!({ "svg": flow_graph::svg(&f, &errors, &names), "errors": list })).into_response()
}

/// One turn of the test chat: `{says: [{text} | {prompt, options}], state, outcome, notes}`.
pub async fn test(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = field(&fields, "flow").unwrap_or_default();
    let state = field(&fields, "state").filter(|s| !s.is_empty());
    let reply = field(&fields, "reply").unwrap_or_default();
    match actions::flow_test::test_turn(&p.app, &p.actor(), p.tenant(), &text, state.as_deref(), &reply).await {
        Ok(turn) => {
            let says: Vec<Value> = turn
                .says
                .iter()
                .map(|s| match s {
                    Say::Text(t) => json!({ "text": t }),
                    Say::Choices { prompt, options } => json!({ "prompt": prompt, "options": options }),
                })
                .collect();
            axum::Json(json!({ "says": says, "state": turn.state, "outcome": turn.outcome, "notes": turn.notes }))
                .into_response()
        }
        Err(e) => json_error(&p, &e),
    }
}

fn json_error(p: &Page, e: &ActionError) -> Response {
    let mut message = error_message(p.lang(), e);
    if let ActionError::Invalid { message: detail, .. } = e {
        message = format!("{message} ({detail})");
    }
    (error_status(e), axum::Json(json!({ "error": message }))).into_response()
}
