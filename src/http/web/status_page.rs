//! "Status do serviço" for supervisors and admins: the page's switches, its components, the
//! incidents (open, post updates, resolve, link tickets) and a link to the public page; the
//! public page and its feed are in `public`.

mod public;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pages::{EmptyForm, NoticeQuery};
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::status_page::{self as status, ComponentInput, IncidentDetail, IncidentInput};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::status_page::{ComponentState, IncidentState};
use crate::store::status_page::{Component, Incident, StatusSettings};

/// The sidebar's icon: a pulse line in a rounded box.
pub const ICON: &str = r#"<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><rect x="3" y="4" width="18" height="16" rx="2"/><path d="M6 12h3l2-4 2 8 2-4h3"/></svg>"#;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/status", get(show))
        .route("/admin/status/settings", post(save_settings))
        .route("/admin/status/components", post(create_component))
        .route("/admin/status/components/{id}", post(update_component))
        .route("/admin/status/components/{id}/delete", post(delete_component))
        .route("/admin/status/incidents", post(open_incident))
        .route("/admin/status/incidents/{id}", get(show_incident))
        .route("/admin/status/incidents/{id}/updates", post(post_update))
        .route("/admin/status/incidents/{id}/resolve", post(resolve))
        .route("/admin/status/incidents/{id}/tickets", post(link_ticket))
        .route("/admin/status/incidents/{id}/tickets/{ticket}/unlink", post(unlink_ticket))
        .route("/status/{slug}", get(public::page))
        .route("/status/{slug}/feed.atom", get(public::feed))
        .route(
            "/assets/status.css",
            get(|| super::asset(include_str!("../../../assets/status.css"), "text/css; charset=utf-8")),
        )
}

/// Labels of the status words, for every template of the theme.
impl Layout {
    pub fn sp_state(&self, state: &str) -> String {
        self.t(&format!("sp.state.{state}")).to_string()
    }

    pub fn sp_incident(&self, state: &str) -> String {
        self.t(&format!("sp.incident.{state}")).to_string()
    }
}

const OPEN_STATES: [IncidentState; 3] =
    [IncidentState::Investigating, IncidentState::Identified, IncidentState::Monitoring];
const IMPACTS: [ComponentState; 4] =
    [ComponentState::Degraded, ComponentState::PartialOutage, ComponentState::MajorOutage, ComponentState::Maintenance];

#[derive(Deserialize, Default)]
pub struct ComponentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    state: String,
}

impl ComponentForm {
    fn input(&self) -> ComponentInput {
        let position = match self.position.trim() {
            "" => 0,
            p => p.parse().unwrap_or(-1),
        };
        ComponentInput {
            name: self.name.clone(),
            description: self.description.clone(),
            position,
            state: if self.state.is_empty() { "operational".into() } else { self.state.clone() },
        }
    }
}

#[derive(Deserialize, Default)]
pub struct IncidentForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    notify_on_resolve: Option<String>,
    /// The ticked component boxes, `component_<id>` (and the other fields).
    #[serde(flatten)]
    ticked: HashMap<String, String>,
}

impl IncidentForm {
    fn components(&self) -> Vec<i64> {
        self.ticked.keys().filter_map(|k| k.strip_prefix("component_")?.parse().ok()).collect()
    }

    fn has(&self, id: &i64) -> bool {
        self.ticked.contains_key(&format!("component_{id}"))
    }
}

#[derive(Template)]
#[template(path = "status_admin.html")]
struct AdminPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    settings: StatusSettings,
    public_url: String,
    components: Vec<Component>,
    incidents: Vec<Incident>,
    states: [ComponentState; 5],
    impacts: [ComponentState; 4],
    open_states: [IncidentState; 3],
    incident: IncidentForm,
    component: ComponentForm,
}

async fn admin_page(
    p: &Page,
    incident: IncidentForm,
    component: ComponentForm,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let layout = p.layout("nav.status_page", "/admin/status");
    let (actor, tenant) = (p.actor(), p.tenant());
    let loaded = async {
        let settings = status::settings(&p.app, &actor, tenant).await?;
        let components = status::list_components(&p.app, &actor, tenant).await?;
        let incidents = status::list_incidents(&p.app, &actor, tenant, 100).await?;
        Ok::<_, ActionError>((settings, components, incidents))
    };
    match loaded.await {
        Ok((settings, components, incidents)) => render(AdminPage {
            layout,
            notice,
            error,
            settings,
            public_url: status::public_url(&p.app, &p.user.tenant.slug),
            components,
            incidents,
            states: ComponentState::ALL,
            impacts: IMPACTS,
            open_states: OPEN_STATES,
            incident,
            component,
        }),
        Err(e) => p.failure(&e),
    }
}

pub async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    admin_page(&p, IncidentForm::default(), ComponentForm::default(), notice, None).await
}

async fn failed(p: &Page, e: ActionError, incident: IncidentForm, component: ComponentForm) -> Response {
    if matches!(e, ActionError::Forbidden | ActionError::NotFound | ActionError::Internal(_)) {
        return p.failure(&e);
    }
    let message = super::error_message(p.lang(), &e);
    (error_status(&e), admin_page(p, incident, component, None, Some(message)).await).into_response()
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    public_enabled: Option<String>,
    #[serde(default)]
    chatbot_notice: Option<String>,
}

pub async fn save_settings(p: Page, CsrfForm(form): CsrfForm<SettingsForm>) -> Response {
    let s =
        StatusSettings { public_enabled: form.public_enabled.is_some(), chatbot_notice: form.chatbot_notice.is_some() };
    match status::save_settings(&p.app, &p.actor(), p.tenant(), s).await {
        Ok(()) => Redirect::to("/admin/status?saved=sp_settings").into_response(),
        Err(e) => failed(&p, e, IncidentForm::default(), ComponentForm::default()).await,
    }
}

pub async fn create_component(p: Page, CsrfForm(form): CsrfForm<ComponentForm>) -> Response {
    match status::create_component(&p.app, &p.actor(), p.tenant(), &form.input()).await {
        Ok(_) => Redirect::to("/admin/status?saved=sp_component_created").into_response(),
        Err(e) => failed(&p, e, IncidentForm::default(), form).await,
    }
}

pub async fn update_component(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ComponentForm>) -> Response {
    match status::update_component(&p.app, &p.actor(), p.tenant(), id, &form.input()).await {
        Ok(_) => Redirect::to("/admin/status?saved=sp_component_saved").into_response(),
        Err(e) => failed(&p, e, IncidentForm::default(), ComponentForm::default()).await,
    }
}

pub async fn delete_component(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match status::delete_component(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/status?saved=sp_component_deleted").into_response(),
        Err(e) => failed(&p, e, IncidentForm::default(), ComponentForm::default()).await,
    }
}

pub async fn open_incident(p: Page, CsrfForm(form): CsrfForm<IncidentForm>) -> Response {
    let input = IncidentInput {
        title: form.title.clone(),
        body: form.body.clone(),
        state: form.state.clone(),
        impact: form.impact.clone(),
        components: form.components(),
        notify_on_resolve: form.notify_on_resolve.is_some(),
    };
    match status::open_incident(&p.app, &p.actor(), p.tenant(), &input).await {
        Ok(i) => Redirect::to(&format!("/admin/status/incidents/{}?saved=sp_incident_opened", i.id)).into_response(),
        Err(e) => failed(&p, e, form, ComponentForm::default()).await,
    }
}

// ---------------------------------------------------------------- one incident

#[derive(Template)]
#[template(path = "status_incident.html")]
struct IncidentPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    detail: IncidentDetail,
    /// Names of the components it affects.
    affected: Vec<String>,
    open_states: [IncidentState; 3],
    body: String,
    reference: String,
}

impl IncidentPage {
    fn is_open(&self) -> bool {
        self.detail.incident.resolved_at.is_none()
    }
}

#[derive(Deserialize, Default)]
pub struct IncidentQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    notified: Option<usize>,
    #[serde(default)]
    not_notified: Option<usize>,
}

async fn incident_page(
    p: &Page,
    id: i64,
    notice: Option<String>,
    error: Option<String>,
    typed: (String, String),
) -> Response {
    let layout = p.layout("sp.title", "/admin/status");
    let (actor, tenant) = (p.actor(), p.tenant());
    let detail = match status::incident(&p.app, &actor, tenant, id).await {
        Ok(d) => d,
        Err(e) => return p.failure(&e),
    };
    let components = match status::list_components(&p.app, &actor, tenant).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let affected = components.into_iter().filter(|c| detail.components.contains(&c.id)).map(|c| c.name).collect();
    render(IncidentPage {
        layout,
        notice,
        error,
        detail,
        affected,
        open_states: OPEN_STATES,
        body: typed.0,
        reference: typed.1,
    })
}

pub async fn show_incident(p: Page, Path(id): Path<i64>, Query(q): Query<IncidentQuery>) -> Response {
    let mut notice = super::saved_notice(p.lang(), q.saved.as_deref());
    if let (Some(n), Some(m)) = (q.notified, q.not_notified) {
        let told = p.lang().t("sp.notified").replace("{n}", &n.to_string()).replace("{m}", &m.to_string());
        notice = Some(format!("{} {told}", notice.unwrap_or_default()));
    }
    incident_page(&p, id, notice, None, (String::new(), String::new())).await
}

async fn incident_failed(p: &Page, id: i64, e: ActionError, typed: (String, String)) -> Response {
    if matches!(e, ActionError::Forbidden | ActionError::Internal(_)) {
        return p.failure(&e);
    }
    let message = super::error_message(p.lang(), &e);
    (error_status(&e), incident_page(p, id, None, Some(message), typed).await).into_response()
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    body: String,
}

pub async fn post_update(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<UpdateForm>) -> Response {
    match status::post_update(&p.app, &p.actor(), p.tenant(), id, &form.state, &form.body).await {
        Ok(posted) if posted.update.state == IncidentState::Resolved.as_str() => resolved_redirect(id, &posted),
        Ok(_) => Redirect::to(&format!("/admin/status/incidents/{id}?saved=sp_update_posted")).into_response(),
        Err(e) => incident_failed(&p, id, e, (form.body, String::new())).await,
    }
}

fn resolved_redirect(id: i64, posted: &status::Posted) -> Response {
    let to = format!(
        "/admin/status/incidents/{id}?saved=sp_resolved&notified={}&not_notified={}",
        posted.notified, posted.not_notified
    );
    Redirect::to(&to).into_response()
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    body: String,
}

pub async fn resolve(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ResolveForm>) -> Response {
    let body = match form.body.trim() {
        "" => p.lang().t("sp.resolve_default").to_string(),
        b => b.to_string(),
    };
    match status::post_update(&p.app, &p.actor(), p.tenant(), id, IncidentState::Resolved.as_str(), &body).await {
        Ok(posted) => resolved_redirect(id, &posted),
        Err(e) => incident_failed(&p, id, e, (form.body, String::new())).await,
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    reference: String,
}

pub async fn link_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<LinkForm>) -> Response {
    match status::link_ticket(&p.app, &p.actor(), p.tenant(), id, &form.reference).await {
        Ok(_) => Redirect::to(&format!("/admin/status/incidents/{id}?saved=sp_ticket_linked")).into_response(),
        Err(e) => incident_failed(&p, id, e, (String::new(), form.reference)).await,
    }
}

pub async fn unlink_ticket(
    p: Page,
    Path((id, ticket)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    match status::unlink_ticket(&p.app, &p.actor(), p.tenant(), id, ticket).await {
        Ok(()) => Redirect::to(&format!("/admin/status/incidents/{id}?saved=sp_ticket_unlinked")).into_response(),
        Err(e) => incident_failed(&p, id, e, (String::new(), String::new())).await,
    }
}
