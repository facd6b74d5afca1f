//! "Novo atendimento" (`/inbox/new`): pick the number to send from and type the customer's
//! phone; then send one of that number's approved templates (filled in for the contact when
//! known) or, inside the 24-hour window, a text. Lands in the conversation.

use std::collections::HashMap;

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::new_conversation::{self, Opening, Prepared};
use crate::actions::{self, ActionError};

#[derive(Template)]
#[template(path = "new_conversation.html")]
struct NewPage {
    layout: Layout,
    connections: Vec<(i64, String)>,
    connection_id: i64,
    phone: String,
    prepared: Option<Prepared>,
    text: String,
    error: Option<String>,
}

impl NewPage {
    fn selected(&self, id: &i64) -> bool {
        *id == self.connection_id
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    connection_id: Option<i64>,
    #[serde(default)]
    phone: String,
}

async fn new_page(p: &Page, q: NewQuery, text: String, error: Option<ActionError>) -> Response {
    let layout = p.layout("new.title", "/inbox");
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let connections = match actions::composer::connection_names(app, &actor, tenant).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let connection_id = q.connection_id.or(connections.first().map(|c| c.0)).unwrap_or(0);
    let mut error = error;
    let prepared = if q.phone.trim().is_empty() {
        None
    } else {
        match new_conversation::prepare(app, &actor, tenant, connection_id, &q.phone).await {
            Ok(prepared) => Some(prepared),
            Err(e) => {
                error.get_or_insert(e);
                None
            }
        }
    };
    let status = error.as_ref().map(error_status);
    let error = error.map(|e| super::error_message(p.lang(), &e));
    let page = render(NewPage { layout, connections, connection_id, phone: q.phone, prepared, text, error });
    match status {
        Some(s) => (s, page).into_response(),
        None => page,
    }
}

pub async fn show(p: Page, Query(q): Query<NewQuery>) -> Response {
    new_page(&p, q, String::new(), None).await
}

/// The first message: `template_id` with `p.{parameter}` values, or `body`.
#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    connection_id: i64,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    body: String,
    #[serde(flatten)]
    values: HashMap<String, String>,
}

pub async fn start(p: Page, CsrfForm(form): CsrfForm<StartForm>) -> Response {
    let opening = match form.template_id.trim().parse::<i64>() {
        Ok(id) => Opening::Template { id, values: super::message_templates::values_from_form(&form.values) },
        Err(_) => Opening::Text(form.body.clone()),
    };
    match new_conversation::start(&p.app, &p.actor(), p.tenant(), form.connection_id, &form.phone, opening).await {
        Ok(ticket) => Redirect::to(&format!("/inbox/{ticket}")).into_response(),
        Err(e) => {
            let q = NewQuery { connection_id: Some(form.connection_id), phone: form.phone };
            new_page(&p, q, form.body, Some(e)).await
        }
    }
}
