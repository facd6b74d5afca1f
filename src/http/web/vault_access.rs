//! The customer's one-time form (`/acesso/{token}`, no login, docs/SECURITY.md (the vault)): kind, host, user,
//! secret and notes go into the ticket's vault and the link burns; a used or expired link gets
//! a clear page with 410 Gone.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use super::inbox::vault::{client_ip, kind_choices, CredentialForm};
use super::{error_message, error_status, render, CsrfForm, CsrfToken, Layout};
use crate::actions::vault_links::{self, LinkPage};
use crate::actions::ActionError;
use crate::app::App;

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/acesso/{token}", get(show).post(submit))
}

#[derive(Template)]
#[template(path = "access_form.html")]
struct AccessPage {
    layout: Layout,
    /// `form`, `done` or `gone`.
    state: &'static str,
    intro: String,
    protocol: Option<String>,
    token: String,
    kinds: Vec<(&'static str, &'static str)>,
    form: CredentialForm,
    error: Option<String>,
}

fn page(layout: Layout, state: &'static str) -> AccessPage {
    let kinds = kind_choices(layout.lang);
    AccessPage {
        layout,
        state,
        intro: String::new(),
        protocol: None,
        token: String::new(),
        kinds,
        form: CredentialForm::default(),
        error: None,
    }
}

fn gone(layout: Layout) -> Response {
    (StatusCode::GONE, render(page(layout, "gone"))).into_response()
}

fn failed(layout: Layout, e: &ActionError) -> Response {
    let mut p = page(layout, "gone");
    p.error = Some(error_message(p.layout.lang, e));
    (error_status(e), render(p)).into_response()
}

/// `GET /acesso/{token}`.
async fn show(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Response {
    let layout = Layout::anonymous(&headers, &csrf, "access.title");
    match vault_links::open_link(&app, &token).await {
        Ok(LinkPage::Form { company, protocol }) => {
            let mut p = page(layout, "form");
            p.intro = p.layout.t("access.intro").replace("{company}", &company);
            p.protocol = protocol;
            p.token = token;
            p.form.kind = "painel".into();
            render(p)
        }
        Ok(LinkPage::Gone) => gone(layout),
        Err(e) => failed(layout, &e),
    }
}

/// `POST /acesso/{token}`: into the vault, once.
async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<CredentialForm>,
) -> Response {
    let layout = Layout::anonymous(&headers, &csrf, "access.title");
    let ip = client_ip(&app, peer, &headers);
    match vault_links::submit_link(&app, &token, &form.input(), &ip).await {
        Ok(()) => render(page(layout, "done")),
        Err(ActionError::Conflict { code: "link_gone", .. }) => gone(layout),
        Err(e @ ActionError::Invalid { .. }) => {
            // The form again, with what was typed except the secret.
            let company = match vault_links::open_link(&app, &token).await {
                Ok(LinkPage::Form { company, protocol }) => (company, protocol),
                _ => return gone(layout),
            };
            let mut p = page(layout, "form");
            p.intro = p.layout.t("access.intro").replace("{company}", &company.0);
            p.protocol = company.1;
            p.error = Some(error_message(p.layout.lang, &e));
            p.token = token;
            p.form = CredentialForm { secret: String::new(), ..form };
            (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response()
        }
        Err(e) => failed(layout, &e),
    }
}
