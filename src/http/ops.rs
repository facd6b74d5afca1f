//! Operational endpoints: liveness, readiness, Prometheus metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::app::App;

/// Up: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready: the database answers and the schema is current.
pub async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    let database = app.db.ping().await;
    let version = crate::store::migrate::current_version(&app.db).await;
    let migrated = version == Some(crate::store::migrate::latest_version());
    let status = if database && migrated { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ready" } else { "not_ready" },
        "database": database,
        "schema_version": version,
        "expected_schema_version": crate::store::migrate::latest_version(),
    });
    (status, Json(body))
}

pub async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let jobs = crate::store::jobs::counts_by_state(app.db.reader()).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render(&jobs))
}
