//! Errors people can act on: a form error that concerns one field names it (the page's script
//! shows the text next to that field, with `aria-describedby`; errors without a field stay in
//! the banner), and requests axum refuses before a handler runs (a path that is not a number,
//! a form that does not parse) get the shell's translated 400/422 page instead of plain English.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::{error_page, error_title, CsrfToken, Layout};
use crate::app::App;
use crate::http::auth::WebUser;

/// Which form field an action's error code is about (the `name` of the input on our forms).
/// Codes not listed concern the whole form and stay in the banner.
const FIELDS: &[(&str, &str)] = &[
    ("invalid_email", "email"),
    ("email_taken", "email"),
    ("invalid_name", "name"),
    ("name_taken", "name"),
    ("tag_exists", "name"),
    ("invalid_role", "role"),
    ("wrong_password", "current"),
    ("weak_password", "new"),
    ("invalid_colour", "colour"),
    ("invalid_greeting", "greeting"),
    ("invalid_shortcut", "shortcut"),
    ("shortcut_taken", "shortcut"),
    ("invalid_body", "body"),
    ("invalid_url", "url"),
    ("webhook_url_forbidden", "url"),
    ("invalid_events", "events"),
    ("invalid_description", "description"),
    ("invalid_graph_url", "graph_url"),
    ("forbidden_graph_url", "graph_url"),
    ("unresolvable_graph_url", "graph_url"),
    ("connection_exists", "phone_number_id"),
    ("missing_secret", "app_secret"),
    ("invalid_rate", "rate"),
    ("invalid_reopen_window", "reopen_window_minutes"),
    ("invalid_idle_away", "idle_away_minutes"),
    ("invalid_time_zone", "time_zone"),
    ("invalid_text", "farewell"),
    ("invalid_slug", "slug"),
    ("slug_taken", "slug"),
    ("invalid_scopes", "read"),
];

impl Layout {
    /// The field a shown error message concerns. Pages receive the message already translated
    /// (`error_message`), so the code is found again by its translation: one comparison per
    /// listed code, and an untranslated fallback simply stays in the banner.
    pub fn field_of(&self, message: &str) -> Option<&'static str> {
        FIELDS.iter().find(|(code, _)| self.t(&format!("err.{code}")) == message).map(|(_, f)| *f)
    }
}

/// Turns axum's own plain-text 400/422 answers (path, query or form rejections) into the app's
/// error page, in the person's language and, when logged in, in the shell. Our handlers answer
/// HTML, so plain text with these statuses only ever comes from a rejection.
pub async fn friendly_rejections(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    let uri = request.uri().clone();
    let csrf = request.extensions().get::<CsrfToken>().cloned().unwrap_or(CsrfToken(String::new()));
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain || !matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) {
        return response;
    }
    let mut probe = Request::new(());
    *probe.uri_mut() = uri;
    *probe.headers_mut() = headers;
    let (mut parts, ()) = probe.into_parts();
    let user = WebUser::from_request_parts(&mut parts, &app).await.ok();
    let title = error_title(status);
    let layout = match &user {
        Some(u) => Layout::for_user(u, &parts.headers, &csrf, title, ""),
        None => Layout::anonymous(&parts.headers, &csrf, title),
    };
    let message = layout.t("error.page.bad_request_text").to_string();
    error_page(layout, status, message, user.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_inputs_and_whole_form_errors_none() {
        let layout = Layout::anonymous(&axum::http::HeaderMap::new(), &CsrfToken(String::new()), "nav.home");
        let taken = layout.t("err.email_taken");
        assert_ne!(taken, "err.email_taken", "the code is translated");
        assert_eq!(layout.field_of(taken), Some("email"));
        assert_eq!(layout.field_of(layout.t("err.invalid_time_zone")), Some("time_zone"));
        assert_eq!(layout.field_of(layout.t("error.forbidden")), None);
        assert_eq!(layout.field_of("some untranslated action message"), None);
        // Every listed code has a translation, or its field could never be found.
        for (code, _) in FIELDS {
            let key = format!("err.{code}");
            assert_ne!(layout.t(&key), key, "{code}");
        }
    }
}
