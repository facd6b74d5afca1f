//! The Conexões page: every connection of the company with its live state, and adding one —
//! "WhatsApp (QR Code)" (a QR drawn inline, redrawn as it rotates, or a pairing code) or
//! "WhatsApp Cloud API (oficial)" with its guide — plus each connection's settings and buttons
//! (Reconectar, Desconectar, Desativar, Remover). Handlers read forms and call actions.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::NoticeQuery;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::domain::connection::ConnectionState;

pub struct ConnectionView {
    connection: crate::store::connections::Connection,
    webhook_url: String,
    /// The QR to scan, drawn (while the session waits for one).
    qr_svg: Option<String>,
}

impl ConnectionView {
    fn is_qr(&self) -> bool {
        self.connection.kind == actions::qr_sessions::KIND
    }

    fn kind_label_key(&self) -> &'static str {
        if self.is_qr() {
            "conn.kind.qr"
        } else {
            "conn.kind.cloud"
        }
    }

    fn phone(&self, digits: &str) -> String {
        crate::domain::phone::display(digits)
    }

    fn waiting_for_scan(&self) -> bool {
        self.connection.state == ConnectionState::Qr
    }

    fn is_default(&self, department: &i64) -> bool {
        self.connection.default_department_id == Some(*department)
    }

    fn state_code(&self) -> &'static str {
        self.connection.state.as_str()
    }

    fn state_label_key(&self) -> &'static str {
        use ConnectionState as S;
        match self.connection.state {
            S::Connecting => "conn.state.connecting",
            S::Qr => "conn.state.qr",
            S::Connected => "conn.state.connected",
            S::Disconnected => "conn.state.disconnected",
            S::Failed => "conn.state.failed",
        }
    }
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    layout: Layout,
    connections: Vec<ConnectionView>,
    departments: Vec<crate::store::departments::Department>,
    notice: Option<String>,
    error: Option<String>,
    /// The server has a WhatsApp gateway: QR-code connections can be added.
    qr_available: bool,
    /// "3 de 5 conexões no plano", when the plan limits connections.
    plan_usage: Option<String>,
}

async fn connections_page(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.connections", "/admin/connections");
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let listed = async {
        let list = actions::connections::list_connections(app, &actor, tenant).await?;
        let departments = actions::departments::list_departments(app, &actor, tenant).await?;
        Ok::<_, ActionError>((list, departments))
    }
    .await;
    match listed {
        Ok((list, departments)) => {
            let connections = list
                .into_iter()
                .map(|c| ConnectionView {
                    webhook_url: actions::connections::webhook_url(app, c.id),
                    qr_svg: c.qr_code.as_deref().filter(|_| c.state == ConnectionState::Qr).and_then(super::qr::svg),
                    connection: c,
                })
                .collect();
            let qr_available = actions::qr_sessions::available(app);
            let plan_usage = super::plans::usage_line(p, crate::domain::plans::Limit::Connections).await;
            render(ConnectionsPage { layout, connections, departments, notice, error, qr_available, plan_usage })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn list_connections(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    connections_page(&p, notice, None).await
}

#[derive(Deserialize)]
pub struct CreateConnectionForm {
    name: String,
    phone_number_id: String,
    #[serde(default)]
    waba_id: String,
    access_token: String,
    app_secret: String,
    #[serde(default)]
    graph_url: String,
    #[serde(default)]
    rate: Option<i64>,
}

pub async fn create_connection(p: Page, CsrfForm(form): CsrfForm<CreateConnectionForm>) -> Response {
    let input = actions::connections::CreateWhatsappCloud {
        name: &form.name,
        phone_number_id: &form.phone_number_id,
        waba_id: &form.waba_id,
        access_token: &form.access_token,
        app_secret: &form.app_secret,
        graph_url: Some(form.graph_url.trim()).filter(|u| !u.is_empty()),
        api_version: None,
        rate_per_sec: form.rate,
    };
    match actions::connections::create_whatsapp_cloud(&p.app, &p.actor(), p.tenant(), input).await {
        Ok(created) => {
            let notice = Some(created.connection.name.clone());
            connections_page(&p, notice, None).await
        }
        Err(e) => refused(&p, &e).await,
    }
}

#[derive(Deserialize)]
pub struct ConnectionDepartmentForm {
    #[serde(default)]
    department_id: String,
}

/// The default department of a connection (posted from the connections page).
pub async fn set_connection_department(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ConnectionDepartmentForm>,
) -> Response {
    let department = match form.department_id.trim() {
        "" => Ok(None),
        s => s.parse::<i64>().map(Some).map_err(|_| ActionError::invalid("unknown_department", "unknown department")),
    };
    let result = match department {
        Ok(d) => actions::departments::set_connection_department(&p.app, &p.actor(), p.tenant(), id, d).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/admin/connections?saved=connection_department_saved").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct ConnectionTokenForm {
    access_token: String,
    #[serde(default)]
    app_secret: String,
}

/// A new access token (and optionally app secret) for a connection: clears "needs re-authentication".
pub async fn set_connection_token(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ConnectionTokenForm>,
) -> Response {
    let secret = Some(form.app_secret.as_str()).filter(|s| !s.trim().is_empty());
    match actions::connections::update_secrets(&p.app, &p.actor(), p.tenant(), id, &form.access_token, secret).await {
        Ok(_) => Redirect::to("/admin/connections?saved=connection_token_saved").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct ConnectionActiveForm {
    active: String,
}

/// Desativar / Reativar.
pub async fn set_connection_active(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ConnectionActiveForm>,
) -> Response {
    let active = form.active == "1";
    match actions::connections::set_active(&p.app, &p.actor(), p.tenant(), id, active).await {
        Ok(_) => Redirect::to("/admin/connections?saved=1").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct RemoveConnectionForm {
    /// The admin ticked "yes, remove it" (a removal is not undone by a click).
    #[serde(default)]
    confirm: String,
}

/// Remover: the connection goes, its history stays.
pub async fn remove_connection(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RemoveConnectionForm>,
) -> Response {
    if form.confirm != "1" {
        let e =
            actions::ActionError::invalid("confirmation_required", "tick the confirmation to remove the connection");
        return p.failure(&e);
    }
    match actions::connections::remove(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/connections?saved=connection_removed").into_response(),
        Err(e) => p.failure(&e),
    }
}

/// The page again with the reason an action was refused, next to everything it shows.
async fn refused(p: &Page, e: &ActionError) -> Response {
    (error_status(e), connections_page(p, None, Some(error_message(p.lang(), e))).await).into_response()
}

#[derive(Deserialize)]
pub struct QrConnectionForm {
    name: String,
}

/// "WhatsApp (QR Code)": the connection is created and its QR shown at once.
pub async fn create_qr_connection(p: Page, CsrfForm(form): CsrfForm<QrConnectionForm>) -> Response {
    match actions::qr_sessions::create(&p.app, &p.actor(), p.tenant(), &form.name).await {
        Ok(_) => Redirect::to("/admin/connections?saved=connection_created").into_response(),
        Err(e) => refused(&p, &e).await,
    }
}

#[derive(Deserialize)]
pub struct ReconnectForm {
    /// The phone's number, to get a pairing code instead of scanning.
    #[serde(default)]
    phone: String,
}

/// Reconectar (a new QR, or the session back), or a pairing code for the number given.
pub async fn reconnect(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ReconnectForm>) -> Response {
    let phone = Some(form.phone.as_str()).filter(|s| !s.trim().is_empty());
    match actions::qr_sessions::reconnect(&p.app, &p.actor(), p.tenant(), id, phone).await {
        Ok(_) => Redirect::to("/admin/connections?saved=1").into_response(),
        Err(e) => refused(&p, &e).await,
    }
}

/// Desconectar: the WhatsApp session ends (the phone shows the device unlinked).
pub async fn disconnect(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<super::pages::EmptyForm>) -> Response {
    match actions::qr_sessions::disconnect(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(_) => Redirect::to("/admin/connections?saved=1").into_response(),
        Err(e) => refused(&p, &e).await,
    }
}
