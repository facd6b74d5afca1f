//! The Chatbot page: the flow's editor (node forms written by `assets/flow.js` over the flow's
//! JSON, which stays editable, importable and exportable as text), the flow drawn as a graph with
//! each node's problems, and a "test this flow" chat that runs it without a customer. The graph
//! and the test answer the script's form posts as JSON; without the script the JSON form works.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{error_message, error_status, flow_graph, render, CsrfForm, Layout, Page};
use crate::actions::flow_editor::Chatbot;
use crate::actions::{self, ActionError};
use crate::domain::flow::{FlowError, Say};

#[derive(Template)]
#[template(path = "chatbot.html")]
struct ChatbotPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    /// The company's chatbots; the one edited; the default's id.
    chatbots: Vec<Chatbot>,
    current: Option<Chatbot>,
    default_id: Option<i64>,
    connections: Vec<ConnectionChoice>,
    flow: String,
    graph: String,
    problems: Vec<FlowError>,
    /// `[[id, name], …]` for the editor's department and chatbot choices.
    departments: String,
    other_chatbots: String,
    enabled: bool,
}

impl ChatbotPage {
    fn is_current(&self, id: &i64) -> bool {
        self.current.as_ref().is_some_and(|c| c.id == *id)
    }

    fn is_default(&self, id: &i64) -> bool {
        self.default_id == Some(*id)
    }
}

/// A connection with the chatbot its new tickets start in (`None`: the default; `Some(0)`: none).
struct ConnectionChoice {
    id: i64,
    name: String,
    chosen: Option<i64>,
}

impl ConnectionChoice {
    fn is(&self, chatbot: &i64) -> bool {
        self.chosen == Some(*chatbot)
    }
}

#[derive(Deserialize, Default)]
pub struct ChatbotQuery {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    saved: Option<String>,
}

async fn page(
    p: &Page,
    id: Option<i64>,
    notice: Option<String>,
    error: Option<String>,
    typed: Option<String>,
) -> Response {
    let layout = p.layout("nav.chatbot", "/admin/chatbot");
    let loaded = async {
        let (a, _) = actions::automation::get(&p.app, &p.actor(), p.tenant()).await?;
        let chatbots = actions::flow_editor::list(&p.app, &p.actor(), p.tenant()).await?;
        // The chatbot asked for, else the default, else the first.
        let pick = id.or(a.chatbot_id).or_else(|| chatbots.first().map(|c| c.id));
        let (current, stored) = match pick {
            Some(id) => {
                let (c, flow) = actions::flow_editor::get(&p.app, &p.actor(), p.tenant(), id).await?;
                (Some(c), flow)
            }
            None => (None, None),
        };
        let choices = actions::flow_editor::connection_choices(&p.app, &p.actor(), p.tenant()).await?;
        let connections: Vec<ConnectionChoice> = actions::connections::list_connections(&p.app, &p.actor(), p.tenant())
            .await?
            .into_iter()
            .map(|c| {
                let chosen = choices.iter().find(|(id, _)| *id == c.id).map(|(_, b)| *b);
                ConnectionChoice { id: c.id, name: c.name, chosen }
            })
            .collect();
        Ok::<_, ActionError>((a, chatbots, current, stored, connections))
    };
    let (a, chatbots, current, stored, connections) = match loaded.await {
        Ok(found) => found,
        Err(e) => return p.failure(&e),
    };
    let flow = typed.unwrap_or_else(|| stored.as_deref().map(pretty).unwrap_or_default());
    let names = match names(p, &chatbots).await {
        Ok(names) => names,
        Err(e) => return p.failure(&e),
    };
    let (graph, problems) = match actions::flow_editor::check(&p.app, &p.actor(), p.tenant(), &flow).await {
        Ok((f, problems)) => (flow_graph::svg(&f, &problems, &names), problems),
        Err(_) => (String::new(), Vec::new()),
    };
    let pairs =
        |list: &[(i64, String)]| Value::Array(list.iter().map(|(id, name)| json!([id, name])).collect()).to_string();
    let others: Vec<(i64, String)> =
        names.chatbots.iter().filter(|(id, _)| current.as_ref().map(|c| c.id) != Some(*id)).cloned().collect();
    render(ChatbotPage {
        layout,
        notice,
        error,
        default_id: a.chatbot_id,
        chatbots,
        current,
        connections,
        flow,
        graph,
        problems,
        departments: pairs(&names.departments),
        other_chatbots: pairs(&others),
        enabled: a.enabled,
    })
}

async fn names(p: &Page, chatbots: &[Chatbot]) -> Result<flow_graph::Names, ActionError> {
    let list = actions::departments::list_departments(&p.app, &p.actor(), p.tenant()).await?;
    Ok(flow_graph::Names {
        departments: list.into_iter().map(|d| (d.id, d.name)).collect(),
        chatbots: chatbots.iter().map(|c| (c.id, c.name.clone())).collect(),
    })
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

pub async fn show(p: Page, Query(q): Query<ChatbotQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    page(&p, q.id, notice, None, None).await
}

fn to_chatbot(id: i64) -> Response {
    Redirect::to(&format!("/admin/chatbot?id={id}&saved=1")).into_response()
}

/// Saves the flow of the chatbot edited (`chatbot`; a company without any gets "Principal",
/// its default).
pub async fn update(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = field(&fields, "flow").unwrap_or_default();
    let id = field(&fields, "chatbot").and_then(|v| v.trim().parse::<i64>().ok());
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let saved = async {
        let id = match id {
            Some(id) => id,
            None => {
                // Checked before anything is created: an invalid first flow leaves no chatbot.
                actions::flow_editor::valid(app, &actor, tenant, &text).await?;
                let id = actions::flow_editor::create(app, &actor, tenant, "Principal").await?;
                actions::flow_editor::save(app, &actor, tenant, id, &text).await?;
                actions::flow_editor::set_default(app, &actor, tenant, Some(id)).await?;
                return Ok(id);
            }
        };
        actions::flow_editor::save(app, &actor, tenant, id, &text).await.map(|_| id)
    };
    match saved.await {
        Ok(id) => to_chatbot(id),
        Err(e) => {
            let mut message = error_message(p.lang(), &e);
            if let ActionError::Invalid { code: "invalid_flow", message: detail } = &e {
                message = format!("{message} ({detail})");
            }
            (error_status(&e), page(&p, id, None, Some(message), Some(text)).await).into_response()
        }
    }
}

/// A new, empty chatbot.
pub async fn create(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let name = field(&fields, "name").unwrap_or_default();
    match actions::flow_editor::create(&p.app, &p.actor(), p.tenant(), &name).await {
        Ok(id) => to_chatbot(id),
        Err(e) => fail(&p, None, &e).await,
    }
}

/// Renames, makes default (or stops being it) or removes one chatbot: `action` says which.
pub async fn change(p: Page, Path(id): Path<i64>, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let done = match field(&fields, "action").as_deref() {
        Some("rename") => {
            let name = field(&fields, "name").unwrap_or_default();
            actions::flow_editor::rename(app, &actor, tenant, id, &name).await.map(|_| Some(id))
        }
        Some("default") => actions::flow_editor::set_default(app, &actor, tenant, Some(id)).await.map(|_| Some(id)),
        Some("no_default") => actions::flow_editor::set_default(app, &actor, tenant, None).await.map(|_| Some(id)),
        Some("delete") => actions::flow_editor::delete(app, &actor, tenant, id).await.map(|_| None),
        _ => Err(ActionError::NotFound),
    };
    match done {
        Ok(Some(id)) => to_chatbot(id),
        Ok(None) => Redirect::to("/admin/chatbot?saved=1").into_response(),
        Err(e) => fail(&p, Some(id), &e).await,
    }
}

/// The chatbot a connection's new tickets start in: `chatbot` = "" (the default), "0" (none)
/// or an id.
pub async fn set_connection(
    p: Page,
    Path(connection): Path<i64>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let chosen = match field(&fields, "chatbot").unwrap_or_default().trim() {
        "" => Ok(None),
        v => v.parse::<i64>().map(Some).map_err(|_| ActionError::NotFound),
    };
    let back = field(&fields, "back").and_then(|v| v.parse::<i64>().ok());
    let done = match chosen {
        Ok(c) => actions::flow_editor::set_for_connection(&p.app, &p.actor(), p.tenant(), connection, c).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => match back {
            Some(id) => to_chatbot(id),
            None => Redirect::to("/admin/chatbot?saved=1").into_response(),
        },
        Err(e) => fail(&p, back, &e).await,
    }
}

async fn fail(p: &Page, id: Option<i64>, e: &ActionError) -> Response {
    let message = error_message(p.lang(), e);
    (error_status(e), page(p, id, None, Some(message), None).await).into_response()
}

/// The graph and the problems of the flow being edited: `{svg, errors: [{node, message}]}`.
pub async fn preview(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = field(&fields, "flow").unwrap_or_default();
    let checked = match actions::flow_editor::check(&p.app, &p.actor(), p.tenant(), &text).await {
        Ok(checked) => checked,
        Err(e) => return json_error(&p, &e),
    };
    let (f, errors) = checked;
    let listed = actions::flow_editor::list(&p.app, &p.actor(), p.tenant()).await;
    let names = match listed {
        Ok(chatbots) => names(&p, &chatbots).await,
        Err(e) => Err(e),
    };
    let names = match names {
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
