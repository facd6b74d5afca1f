//! The customer phone page and its JSON endpoints.

use std::sync::Arc;

use axum::Router;

use crate::state::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().with_state(shared)
}
