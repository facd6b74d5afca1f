//! "Auditoria" (`/admin/audit`, company admins): the audit log with filters by person, action,
//! object and period (dates on the company's clock), newest first in pages, credential reveals
//! included; and how many days the company keeps it.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{render, saved_notice, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::app::App;
use crate::store::audit::AuditFilter;

const PAGE: i64 = 50;

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/admin/audit", get(show)).route("/admin/audit/retention", post(set_retention))
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    saved: Option<String>,
}

/// An entry as the page shows it.
pub struct EntryView {
    pub when: String,
    pub who: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    q: AuditQuery,
    people: Vec<(String, String)>,
    actions: Vec<String>,
    entries: Vec<EntryView>,
    more_href: Option<String>,
    retention_days: i64,
}

/// A `yyyy-mm-dd` date as the first instant of that day on the company's clock.
fn day_start(tz: chrono_tz::Tz, date: &str) -> Result<Option<i64>, ActionError> {
    let date = date.trim();
    if date.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| Some(crate::domain::reports::range::local_midnight(tz, d)))
        .map_err(|_| ActionError::invalid("invalid_audit_period", "dates are yyyy-mm-dd"))
}

fn filter_of(q: &AuditQuery, tz: chrono_tz::Tz) -> Result<AuditFilter, ActionError> {
    let until = match q.to.trim() {
        "" => None,
        to => {
            let d = chrono::NaiveDate::parse_from_str(to, "%Y-%m-%d")
                .map_err(|_| ActionError::invalid("invalid_audit_period", "dates are yyyy-mm-dd"))?;
            // "Até" includes that whole day.
            Some(crate::domain::reports::range::local_midnight(tz, d.succ_opt().unwrap_or(d)))
        }
    };
    Ok(AuditFilter {
        actor: q.person.trim().to_string(),
        action: q.action.trim().to_string(),
        subject: q.object.trim().to_string(),
        from: day_start(tz, &q.from)?,
        until,
    })
}

fn query_string(q: &AuditQuery, before: i64) -> String {
    let enc = crate::http::auth::urlencode;
    format!(
        "/admin/audit?person={}&action={}&object={}&from={}&to={}&before={before}",
        enc(q.person.trim()),
        enc(q.action.trim()),
        enc(q.object.trim()),
        enc(q.from.trim()),
        enc(q.to.trim())
    )
}

/// `GET /admin/audit`.
async fn show(p: Page, Query(q): Query<AuditQuery>) -> Response {
    audit_page(&p, q, None).await
}

/// The page; `refused` is a settings change that was refused (shown with its status).
async fn audit_page(p: &Page, q: AuditQuery, refused: Option<ActionError>) -> Response {
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let layout = p.layout("audit.title", "/admin/audit");
    let lang = layout.lang;
    let tz = p.tz();
    let names: HashMap<String, String> = match actions::users::names(app, &actor, tenant).await {
        Ok(list) => list.into_iter().map(|(id, name)| (format!("user:{}", id.0), name)).collect(),
        Err(e) => return p.failure(&e),
    };
    let retention_days = match actions::audit::retention_days(app, &actor, tenant).await {
        Ok(d) => d,
        Err(e) => return p.failure(&e),
    };
    let action_names = actions::audit::action_names(app, &actor, tenant).await.unwrap_or_default();
    let before = q.before.trim().parse::<i64>().ok();
    let listed = match filter_of(&q, tz) {
        Ok(f) => actions::audit::list(app, &actor, tenant, &f, before, PAGE).await,
        Err(e) => Err(e),
    };
    let (entries, more_href, mut error, mut status) = match listed {
        Ok(page) => {
            let entries = page
                .entries
                .into_iter()
                .map(|e| EntryView {
                    when: layout.datetime(&e.created_at),
                    who: match e.actor.as_str() {
                        "customer" => lang.t("audit.customer").to_string(),
                        other => {
                            names.get(other).map(|n| format!("{n} ({other})")).unwrap_or_else(|| other.to_string())
                        }
                    },
                    action: e.action,
                    subject: e.subject,
                    details: e.details,
                })
                .collect();
            (entries, page.next_before.map(|b| query_string(&q, b)), None, axum::http::StatusCode::OK)
        }
        Err(ActionError::Forbidden) => return p.failure(&ActionError::Forbidden),
        Err(e) => (Vec::new(), None, Some(super::error_message(lang, &e)), super::error_status(&e)),
    };
    if let Some(e) = refused {
        error = Some(super::error_message(lang, &e));
        status = super::error_status(&e);
    }
    let mut people: Vec<(String, String)> = names.into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    people.push(("customer".into(), lang.t("audit.customer").to_string()));
    let notice = saved_notice(lang, q.saved.as_deref());
    let page =
        AuditPage { layout, notice, error, q, people, actions: action_names, entries, more_href, retention_days };
    (status, render(page)).into_response()
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    days: String,
}

/// `POST /admin/audit/retention`.
async fn set_retention(p: Page, CsrfForm(form): CsrfForm<RetentionForm>) -> Response {
    let days = form.days.trim().parse::<i64>().unwrap_or(0);
    match actions::audit::set_retention_days(&p.app, &p.actor(), p.tenant(), days).await {
        Ok(_) => Redirect::to("/admin/audit?saved=retention").into_response(),
        Err(e @ ActionError::Invalid { .. }) => audit_page(&p, AuditQuery::default(), Some(e)).await,
        Err(e) => p.failure(&e),
    }
}
