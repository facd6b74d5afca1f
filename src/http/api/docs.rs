//! The API docs page at `/api/docs`: a small HTML page with our own script and stylesheet,
//! embedded in the binary, that reads `/api/v1/openapi.json` and shows every operation by tag
//! with its parameters, request and response schemas and error codes. No third-party code.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::app::App;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/docs", get(page))
        .route("/api/docs/docs.js", get(script))
        .route("/api/docs/docs.css", get(stylesheet))
}

async fn page() -> impl IntoResponse {
    asset(include_str!("../../../assets/api-docs/index.html"), "text/html; charset=utf-8")
}

async fn script() -> impl IntoResponse {
    asset(include_str!("../../../assets/api-docs/docs.js"), "text/javascript; charset=utf-8")
}

async fn stylesheet() -> impl IntoResponse {
    asset(include_str!("../../../assets/api-docs/docs.css"), "text/css; charset=utf-8")
}

/// The docs get the web pages' protections: our own code only, never framed.
fn asset(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, crate::http::web::CONTENT_SECURITY_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        body,
    )
}
