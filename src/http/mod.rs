//! The HTTP edge: the server (connection limits and timeouts), the router, request metrics, body
//! limits, errors, and the three faces — `api/` (REST JSON), `web/` (HTML pages), and the
//! operational endpoints in `ops`.

pub mod api;
pub mod auth;
pub mod cookies;
pub mod error;
pub mod hooks;
pub mod ops;
pub mod server;
pub mod sse;
pub mod web;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::App;

/// Every route of a serving process; inbound hooks hand deliveries to `ingest`.
pub fn router(app: Arc<App>, ingest: crate::actions::receive::Ingest) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/events", get(sse::browser_events))
        .route(
            "/hooks/whatsapp/{id}",
            get(hooks::whatsapp::verify_webhook)
                .post(hooks::whatsapp::receive_webhook)
                .layer(axum::Extension(ingest.clone())),
        )
        .route(
            "/hooks/gateway/{id}",
            axum::routing::post(hooks::gateway::receive_webhook).layer(axum::Extension(ingest)),
        )
        .nest("/api/v1", api::router(app.clone()))
        .merge(api::docs::routes())
        .merge(web::routes(app.clone()))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(app.settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(middleware::from_fn_with_state(app.clone(), strict_transport))
        .with_state(app)
}

/// Behind HTTPS (the base URL says so) browsers are told to never use plain HTTP for a year,
/// so a network attacker cannot strip TLS from a later visit.
async fn strict_transport(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if app.settings.secure_cookies() {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Counts every request by route template (never the raw path, which would explode the label set).
async fn observe(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    app.metrics.observe_request(&method, &route, response.status().as_u16(), elapsed_ms);
    response
}
