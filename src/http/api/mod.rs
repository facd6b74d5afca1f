//! The REST API under `/api/v1`: bearer-token auth, JSON in and out, one error envelope.

pub mod webhooks;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::actions;
use crate::app::App;
use crate::domain::Scope;

use super::auth::ApiCaller;
use super::error::ApiError;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/me", get(get_me))
        .route("/events", get(crate::realtime::sse::api_events))
        .merge(webhooks::routes())
}

/// The calling token: its tenant and scopes.
async fn get_me(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Read)?;
    let tenant = actions::tenants::own_tenant(&app, &caller.actor()).await?;
    Ok(Json(serde_json::json!({
        "tenant": { "id": tenant.id, "slug": tenant.slug, "name": tenant.name },
        "token": { "id": caller.token.id.0, "name": caller.token.name, "prefix": caller.token.prefix },
        "scopes": caller.token.scopes,
    })))
}
