//! The ticket panel's "Acessos" block (docs/SECURITY.md (the vault)) and its posts: add a credential, reveal
//! one (fetched on demand by `assets/vault.js`, never in the page's HTML), delete one, ask the
//! customer through a one-time link, and "Mover para o cofre" for a customer's message.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::*;
use crate::domain::vault::{CredentialInput, CredentialKind};
use crate::store::vault::CredentialMeta;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/inbox/{id}/credentials", post(add))
        .route("/inbox/{id}/credentials/request", post(request_from_customer))
        .route("/inbox/{id}/credentials/move", get(move_form).post(move_message))
        .route("/inbox/{id}/credentials/{credential}/reveal", post(reveal))
        .route("/inbox/{id}/credentials/{credential}/delete", post(delete))
        .route(
            "/assets/vault.js",
            get(|| super::super::asset(include_str!("../../../../assets/vault.js"), "text/javascript; charset=utf-8")),
        )
}

/// The client's address as the audit log records it (behind a trusted proxy: the forwarded one).
pub(crate) fn client_ip(app: &App, peer: SocketAddr, headers: &axum::http::HeaderMap) -> String {
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    crate::domain::netaddr::client_ip(peer.ip(), forwarded_for, &app.settings.trusted_proxies).to_string()
}

pub(super) fn kind_label(lang: Lang, kind: &str) -> &'static str {
    lang.t(match CredentialKind::parse(kind) {
        Some(CredentialKind::Painel) => "vault.kind.painel",
        Some(CredentialKind::Ssh) => "vault.kind.ssh",
        Some(CredentialKind::Ftp) => "vault.kind.ftp",
        Some(CredentialKind::Database) => "vault.kind.database",
        _ => "vault.kind.other",
    })
}

/// The kinds for a `<select>`: (value, label).
pub(crate) fn kind_choices(lang: Lang) -> Vec<(&'static str, &'static str)> {
    CredentialKind::ALL.iter().map(|k| (k.as_str(), kind_label(lang, k.as_str()))).collect()
}

/// `dd/mm/yyyy hh:mm` on the company's clock.
fn date_time(ms: i64, tz: chrono_tz::Tz) -> String {
    crate::domain::hours::wall_clock(tz, ms).map(|d| d.format("%d/%m/%Y %H:%M").to_string()).unwrap_or_default()
}

/// A credential in the block: metadata only.
pub struct CredentialItem {
    pub id: i64,
    pub kind: &'static str,
    pub label: String,
    pub host: String,
    pub username: String,
    pub notes: String,
    /// "Destruída em …" once destroyed.
    pub destroyed: Option<String>,
    /// Where it came from when not typed by an agent.
    pub origin: Option<&'static str>,
}

fn item(lang: Lang, c: CredentialMeta, tz: chrono_tz::Tz) -> CredentialItem {
    CredentialItem {
        id: c.id,
        kind: kind_label(lang, &c.kind),
        destroyed: c.destroyed_at.map(|at| lang.t("vault.destroyed_at").replace("{date}", &date_time(at, tz))),
        origin: match c.source.as_str() {
            "customer_link" => Some(lang.t("vault.from_customer")),
            "moved" => Some(lang.t("vault.moved")),
            _ => None,
        },
        label: c.label,
        host: c.host,
        username: c.username,
        notes: c.notes,
    }
}

#[derive(Template)]
#[template(path = "inbox_vault.html")]
struct VaultFragment {
    lang: Lang,
    csrf: String,
    ticket_id: i64,
    items: Vec<CredentialItem>,
    can_reveal: bool,
    open: bool,
    link_open: Option<String>,
    kinds: Vec<(&'static str, &'static str)>,
}

/// The block's HTML for the panel; empty (and logged) when it cannot be built, so the rest of
/// the panel still shows.
pub(super) async fn panel_html(p: &Page, lang: Lang, ticket_id: i64) -> String {
    let view = match actions::vault::list(&p.app, &p.actor(), p.tenant(), ticket_id).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, ticket.id = ticket_id, "reading the vault failed");
            return String::new();
        }
    };
    let tz = p.tz();
    let fragment = VaultFragment {
        lang,
        csrf: p.csrf.0.clone(),
        ticket_id,
        items: view.credentials.into_iter().map(|c| item(lang, c, tz)).collect(),
        can_reveal: view.can_reveal,
        open: view.open,
        link_open: view.link_open_until.map(|at| lang.t("vault.link_open").replace("{date}", &date_time(at, tz))),
        kinds: kind_choices(lang),
    };
    fragment.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        String::new()
    })
}

#[derive(Deserialize, Default)]
pub struct CredentialForm {
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) host: String,
    #[serde(default)]
    pub(crate) username: String,
    #[serde(default)]
    pub(crate) secret: String,
    #[serde(default)]
    pub(crate) notes: String,
}

impl CredentialForm {
    pub(crate) fn input(&self) -> CredentialInput {
        CredentialInput {
            kind: self.kind.clone(),
            label: self.label.clone(),
            host: self.host.clone(),
            username: self.username.clone(),
            secret: self.secret.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// Back to the conversation, or the conversation with the refusal's message.
async fn done(p: &Page, id: i64, result: Result<(), ActionError>) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        Err(e) => ticket_page(p, id, &ListQuery::default(), Some((e, String::new()))).await,
    }
}

/// `POST /inbox/{ticket}/credentials`.
async fn add(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<CredentialForm>) -> Response {
    let result = actions::vault::add(&p.app, &p.actor(), p.tenant(), id, &form.input()).await.map(|_| ());
    done(&p, id, result).await
}

/// `POST /inbox/{ticket}/credentials/{credential}/reveal`: `{"secret": …}` for the page's script,
/// or `{"error", "code"}` with the refusal's status. Never cached (the layer's `no-store`).
async fn reveal(
    p: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, credential)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let ip = client_ip(&p.app, peer, &p.headers);
    match actions::vault::reveal(&p.app, &p.actor(), p.tenant(), id, credential, &ip).await {
        Ok(secret) => Json(serde_json::json!({ "secret": secret.expose() })).into_response(),
        Err(e) => {
            let body = serde_json::json!({ "error": error_message(p.lang(), &e), "code": e.code() });
            (error_status(&e), Json(body)).into_response()
        }
    }
}

/// `POST /inbox/{ticket}/credentials/{credential}/delete`.
async fn delete(
    p: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, credential)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let ip = client_ip(&p.app, peer, &p.headers);
    let result = actions::vault::delete(&p.app, &p.actor(), p.tenant(), id, credential, &ip).await;
    done(&p, id, result).await
}

/// `POST /inbox/{ticket}/credentials/request`: "Pedir acesso ao cliente".
async fn request_from_customer(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::vault_links::request_from_customer(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    done(&p, id, result).await
}

#[derive(Deserialize, Default)]
pub struct MoveQuery {
    #[serde(default)]
    message: String,
}

#[derive(Template)]
#[template(path = "vault_move.html")]
struct MovePage {
    layout: Layout,
    ticket_id: i64,
    message_id: i64,
    message: String,
    kinds: Vec<(&'static str, &'static str)>,
    form: CredentialForm,
    error: Option<String>,
}

async fn move_page(p: &Page, id: i64, message_id: i64, form: CredentialForm, error: Option<ActionError>) -> Response {
    let message = match actions::inbox::get_message(&p.app, &p.actor(), p.tenant(), message_id).await {
        Ok(m) if m.ticket_id == id && m.direction == "in" => m.body.unwrap_or_default(),
        Ok(_) => return p.failure(&ActionError::NotFound),
        Err(e) => return p.failure(&e),
    };
    let layout = p.layout("vault.move_title", "/inbox");
    let status = error.as_ref().map(error_status).unwrap_or(axum::http::StatusCode::OK);
    let error = error.map(|e| error_message(layout.lang, &e));
    let kinds = kind_choices(layout.lang);
    (status, render(MovePage { layout, ticket_id: id, message_id, message, kinds, form, error })).into_response()
}

/// `GET /inbox/{ticket}/credentials/move?message={id}`: the form, the secret field filled with
/// the customer's text for the agent to trim.
async fn move_form(p: Page, Path(id): Path<i64>, Query(q): Query<MoveQuery>) -> Response {
    let Ok(message_id) = q.message.trim().parse::<i64>() else {
        return p.failure(&ActionError::NotFound);
    };
    let form = CredentialForm { kind: "other".into(), ..CredentialForm::default() };
    move_page(&p, id, message_id, form, None).await
}

#[derive(Deserialize)]
pub struct MoveForm {
    // A string: flattened forms read every field as text.
    #[serde(default)]
    message: String,
    #[serde(flatten)]
    credential: CredentialForm,
}

/// `POST /inbox/{ticket}/credentials/move`: into the vault, the message redacted.
async fn move_message(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<MoveForm>) -> Response {
    let Ok(message_id) = form.message.trim().parse::<i64>() else {
        return p.failure(&ActionError::NotFound);
    };
    let input = form.credential.input();
    match actions::vault::move_message(&p.app, &p.actor(), p.tenant(), id, message_id, &input).await {
        Ok(_) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        // Nothing to redo on the form: the conversation says why.
        Err(e @ (ActionError::NotFound | ActionError::Invalid { code: "not_movable", .. })) => {
            done(&p, id, Err(e)).await
        }
        Err(e) => {
            // The secret is not typed back into the page (the field shows the message again).
            let again = CredentialForm { secret: String::new(), ..form.credential };
            move_page(&p, id, message_id, again, Some(e)).await
        }
    }
}
