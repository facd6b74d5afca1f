//! `/api/v1/audit`: the company's audit log, newest first, with the admin page's filters
//! (person, action, object, period) and cursor pagination.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::ApiError;
use crate::store::audit::{AuditFilter, AuditRow};

use super::{decode_id_cursor, encode_cursor, page_limit, parse_timestamp, timestamp, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/audit", get(list_audit))
}

#[derive(OpenApi)]
#[openapi(paths(list_audit), components(schemas(AuditEntry, AuditPage)))]
pub struct AuditApi;

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// `user:7`, `token:3`, `operator`, `customer`, `chatbot`.
    pub actor: String,
    /// e.g. `credential.revealed`, `credential.reveal_refused`, `user.created`.
    pub action: String,
    /// e.g. `credential:12`, `ticket:40`.
    pub subject: String,
    /// Whatever the action recorded (ticket, client address, reason…).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            details: serde_json::from_str(&r.details).unwrap_or_else(|_| serde_json::json!({})),
            created_at: timestamp(r.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub data: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exactly this actor (`user:7`).
    pub actor: Option<String>,
    /// Exactly this action (`credential.revealed`).
    pub action: Option<String>,
    /// This subject (`credential:12`), or a prefix of subjects (`credential`).
    pub subject: Option<String>,
    /// From this time (RFC 3339, inclusive).
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive).
    pub to: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, description = "`invalid_timestamp`, `invalid_cursor`, `invalid_limit`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "`invalid_audit_period`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_audit(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let before = decode_id_cursor("audit", q.cursor.as_deref())?;
    let filter = AuditFilter {
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
        subject: q.subject.unwrap_or_default(),
        from: q.from.as_deref().map(|s| parse_timestamp("from", s)).transpose()?,
        until: q.to.as_deref().map(|s| parse_timestamp("to", s)).transpose()?,
    };
    let page = actions::audit::list(&app, &caller.actor(), caller.token.tenant_id, &filter, before, limit).await?;
    Ok(Json(AuditPage {
        data: page.entries.into_iter().map(AuditEntry::from).collect(),
        next_cursor: page.next_before.map(|b| encode_cursor("audit", &b.to_string())),
    }))
}
