//! Inbox administration pages: departments (and their members) and inbox settings (quick
//! replies are in `quick_replies.rs`).
//! Handlers only read forms and call actions; every rule lives in the actions.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{EmptyForm, NoticeQuery};
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::departments::DepartmentInput;
use crate::actions::{self, ActionError};
use crate::domain::inbox::DistributionMode;
use crate::domain::UserId;
use crate::store::departments::Department;
use crate::store::settings::TenantSettings;
use crate::store::users::User;

const MODES: [DistributionMode; 3] = [DistributionMode::Off, DistributionMode::RoundRobin, DistributionMode::LeastBusy];

/// Pages are refused outright to roles that may not use them (the actions check again).
pub(super) fn require(allowed: bool) -> Result<(), ActionError> {
    if allowed {
        Ok(())
    } else {
        Err(ActionError::Forbidden)
    }
}

// ---------- departments ----------

/// The department fields as shown in a form (what was typed, on an error).
pub struct DepartmentForm {
    name: String,
    colour: String,
    greeting: String,
    sign_messages: bool,
    mode: DistributionMode,
}

impl DepartmentForm {
    fn blank() -> DepartmentForm {
        DepartmentForm {
            name: String::new(),
            colour: "#2563eb".into(),
            greeting: String::new(),
            sign_messages: false,
            mode: DistributionMode::Off,
        }
    }

    fn of(d: &Department) -> DepartmentForm {
        DepartmentForm {
            name: d.name.clone(),
            colour: d.colour.clone(),
            greeting: d.greeting.clone(),
            sign_messages: d.sign_messages,
            mode: d.distribution_mode,
        }
    }

    fn is_mode(&self, m: &DistributionMode) -> bool {
        self.mode == *m
    }
}

#[derive(Deserialize)]
pub struct DepartmentFields {
    name: String,
    #[serde(default)]
    colour: String,
    #[serde(default)]
    greeting: String,
    #[serde(default)]
    sign_messages: Option<String>,
    #[serde(default)]
    distribution_mode: String,
}

impl DepartmentFields {
    fn input(&self) -> Result<DepartmentInput, ActionError> {
        let mode = DistributionMode::parse(&self.distribution_mode)
            .ok_or_else(|| ActionError::invalid("invalid_distribution_mode", "unknown distribution mode"))?;
        Ok(DepartmentInput {
            name: self.name.clone(),
            colour: self.colour.clone(),
            greeting: self.greeting.clone(),
            sign_messages: self.sign_messages.is_some(),
            distribution_mode: mode,
        })
    }

    fn shown(&self) -> DepartmentForm {
        DepartmentForm {
            name: self.name.clone(),
            colour: self.colour.clone(),
            greeting: self.greeting.clone(),
            sign_messages: self.sign_messages.is_some(),
            mode: DistributionMode::parse(&self.distribution_mode).unwrap_or(DistributionMode::Off),
        }
    }
}

pub struct DepartmentRow {
    department: Department,
    members: usize,
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    layout: Layout,
    rows: Vec<DepartmentRow>,
    form: DepartmentForm,
    modes: [DistributionMode; 3],
    notice: Option<String>,
    error: Option<String>,
}

async fn departments_page(p: &Page, form: DepartmentForm, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.departments", "/admin/departments");
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        require(p.user.user.role.can_manage_tenant())?;
        let mut rows = Vec::new();
        for department in actions::departments::list_departments(&p.app, &actor, tenant).await? {
            let members = actions::departments::list_members(&p.app, &actor, tenant, department.id).await?.len();
            rows.push(DepartmentRow { department, members });
        }
        Ok::<_, ActionError>(rows)
    }
    .await;
    match result {
        Ok(rows) => render(DepartmentsPage { layout, rows, form, modes: MODES, notice, error }),
        Err(e) => p.failure(&e),
    }
}

pub async fn list_departments(p: Page) -> Response {
    departments_page(&p, DepartmentForm::blank(), None, None).await
}

pub async fn create_department(p: Page, CsrfForm(form): CsrfForm<DepartmentFields>) -> Response {
    let result = match form.input() {
        Ok(input) => actions::departments::create_department(&p.app, &p.actor(), p.tenant(), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(d) => Redirect::to(&format!("/admin/departments/{}?saved=department_created", d.id)).into_response(),
        Err(e) => {
            let lang = p.lang();
            let status = error_status(&e);
            let page = departments_page(&p, form.shown(), None, Some(error_message(lang, &e))).await;
            (status, page).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "department_edit.html")]
struct DepartmentEditPage {
    layout: Layout,
    department: Department,
    form: DepartmentForm,
    modes: [DistributionMode; 3],
    users: Vec<User>,
    /// Members by user id: (status class `online|away|offline`, its label key, open tickets).
    members: HashMap<i64, (&'static str, &'static str, i64)>,
    notice: Option<String>,
    error: Option<String>,
}

impl DepartmentEditPage {
    fn is_member(&self, id: &UserId) -> bool {
        self.members.contains_key(&id.0)
    }

    /// A member's status (`online`, `away`, `offline`), its label key and load; `None` for
    /// non-members.
    fn member_status(&self, id: &UserId) -> Option<(&'static str, &'static str, i64)> {
        self.members.get(&id.0).copied()
    }
}

/// The label of a presence (`status.online`, …).
pub(crate) fn presence_key(p: crate::domain::inbox::Presence) -> &'static str {
    match p {
        crate::domain::inbox::Presence::Online => "status.online",
        crate::domain::inbox::Presence::Away => "status.away",
        crate::domain::inbox::Presence::Offline => "status.offline",
    }
}

/// A member's status for the page: away when they chose it, online when seen recently.
fn member_status(m: &crate::store::departments::Member, now: i64) -> (&'static str, &'static str, i64) {
    let presence = crate::domain::inbox::Presence::of(m.last_seen_at, m.away, now);
    (presence.as_str(), presence_key(presence), m.open_tickets)
}

async fn department_page(
    p: &Page,
    id: i64,
    typed: Option<DepartmentForm>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let layout = p.layout("nav.departments", "/admin/departments");
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        require(p.user.user.role.can_manage_tenant())?;
        let department = actions::departments::get_department(&p.app, &actor, tenant, id).await?;
        let members = actions::departments::list_members(&p.app, &actor, tenant, id).await?;
        let users = actions::users::list_users(&p.app, &actor, tenant).await?;
        Ok::<_, ActionError>((department, members, users))
    }
    .await;
    match result {
        Ok((department, members, users)) => {
            let form = typed.unwrap_or_else(|| DepartmentForm::of(&department));
            let now = p.app.clock.now_ms();
            let members = members.iter().map(|m| (m.user_id, member_status(m, now))).collect();
            render(DepartmentEditPage { layout, department, form, modes: MODES, users, members, notice, error })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn edit_department(p: Page, Path(id): Path<i64>, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    department_page(&p, id, None, notice, None).await
}

pub async fn update_department(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<DepartmentFields>) -> Response {
    let result = match form.input() {
        Ok(input) => actions::departments::update_department(&p.app, &p.actor(), p.tenant(), id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/admin/departments/{id}?saved=department_saved")).into_response(),
        Err(ActionError::NotFound) => p.failure(&ActionError::NotFound),
        Err(e) => {
            let status = error_status(&e);
            let error = Some(error_message(p.lang(), &e));
            let page = department_page(&p, id, Some(form.shown()), None, error).await;
            (status, page).into_response()
        }
    }
}

pub async fn set_members(p: Page, Path(id): Path<i64>, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let wanted: HashSet<i64> =
        fields.iter().filter(|(k, _)| k == "member").filter_map(|(_, v)| v.parse().ok()).collect();
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        let current: HashSet<i64> = actions::departments::list_members(&p.app, &actor, tenant, id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        for u in actions::users::list_users(&p.app, &actor, tenant).await? {
            let member = wanted.contains(&u.id.0);
            if member != current.contains(&u.id.0) {
                actions::departments::set_member(&p.app, &actor, tenant, id, u.id, member).await?;
            }
        }
        Ok::<_, ActionError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/admin/departments/{id}?saved=members_saved")).into_response(),
        Err(e @ (ActionError::NotFound | ActionError::Forbidden | ActionError::Unauthorized)) => p.failure(&e),
        Err(e) => {
            let status = error_status(&e);
            let error = Some(error_message(p.lang(), &e));
            (status, department_page(&p, id, None, None, error).await).into_response()
        }
    }
}

pub async fn delete_department(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::departments::delete_department(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/departments").into_response(),
        Err(e) => p.failure(&e),
    }
}

// ---------- inbox settings ----------

pub struct SettingsForm {
    time_zone: String,
    reopen_window_minutes: String,
    idle_away_minutes: String,
    csat_enabled: bool,
    csat_question: String,
    csat_thanks: String,
    farewell: String,
}

impl SettingsForm {
    fn of(s: &TenantSettings, time_zone: &str) -> SettingsForm {
        SettingsForm {
            time_zone: time_zone.to_string(),
            reopen_window_minutes: s.reopen_window_minutes.to_string(),
            idle_away_minutes: s.idle_away_minutes.to_string(),
            csat_enabled: s.csat_enabled,
            csat_question: s.csat_question.clone(),
            csat_thanks: s.csat_thanks.clone(),
            farewell: s.farewell.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    form: SettingsForm,
    notice: Option<String>,
    error: Option<String>,
    /// Zones offered first (Brazil's, then a few others); any IANA name is accepted.
    zones: &'static [&'static str],
    require_two_factor: bool,
    /// The LGPD block (retention, the company's export): `http::web::lgpd::settings_html`.
    lgpd_html: String,
}

/// Brazil's time zones (west to east, then Noronha) and a few of the neighbours' and others'.
const ZONES: &[&str] = &[
    "America/Sao_Paulo",
    "America/Bahia",
    "America/Fortaleza",
    "America/Recife",
    "America/Belem",
    "America/Maceio",
    "America/Araguaina",
    "America/Manaus",
    "America/Cuiaba",
    "America/Campo_Grande",
    "America/Porto_Velho",
    "America/Boa_Vista",
    "America/Rio_Branco",
    "America/Noronha",
    "America/Argentina/Buenos_Aires",
    "America/Montevideo",
    "America/Santiago",
    "America/Bogota",
    "America/Mexico_City",
    "America/New_York",
    "Europe/Lisbon",
    "UTC",
];

pub async fn show_settings(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let layout = p.layout("nav.settings", "/admin/settings");
    let result = async {
        require(p.user.user.role.can_manage_tenant())?;
        actions::settings::get_settings(&p.app, &p.actor(), p.tenant()).await
    }
    .await;
    match result {
        Ok(s) => {
            let notice = super::saved_notice(layout.lang, q.saved.as_deref());
            let form = SettingsForm::of(&s, &p.user.tenant.time_zone);
            let require_two_factor =
                actions::two_factor::required_in(&p.app, &p.actor(), p.tenant()).await.unwrap_or(false);
            let lgpd_html = super::lgpd::settings_html(&p, &layout).await;
            render(SettingsPage { layout, form, notice, error: None, zones: ZONES, require_two_factor, lgpd_html })
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct SettingsFields {
    #[serde(default)]
    time_zone: String,
    reopen_window_minutes: String,
    #[serde(default)]
    idle_away_minutes: Option<String>,
    #[serde(default)]
    csat_enabled: Option<String>,
    #[serde(default)]
    csat_question: String,
    #[serde(default)]
    csat_thanks: String,
    #[serde(default)]
    farewell: String,
}

pub async fn update_settings(p: Page, CsrfForm(form): CsrfForm<SettingsFields>) -> Response {
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        let current = actions::settings::get_settings(&p.app, &actor, tenant).await?;
        // A post without the field (older forms, scripts) leaves the zone as it is.
        if !form.time_zone.trim().is_empty() && form.time_zone.trim() != p.user.tenant.time_zone {
            actions::automation::set_time_zone(&p.app, &actor, tenant, &form.time_zone).await?;
        }
        let reopen_window_minutes = form.reopen_window_minutes.trim().parse::<i64>().map_err(|_| {
            ActionError::invalid("invalid_reopen_window", "the reopen window is 0 to 43,200 minutes (30 days)")
        })?;
        // A post without the field (older forms, scripts) leaves it as it is.
        let idle_away_minutes = match form.idle_away_minutes.as_deref().map(str::trim) {
            None | Some("") => current.idle_away_minutes,
            Some(n) => n.parse::<i64>().map_err(|_| {
                ActionError::invalid("invalid_idle_away", "idle minutes before Ausente: 0 (never) to 480")
            })?,
        };
        let wanted = TenantSettings {
            reopen_window_minutes,
            idle_away_minutes,
            csat_enabled: form.csat_enabled.is_some(),
            csat_question: form.csat_question.clone(),
            csat_thanks: form.csat_thanks.clone(),
            farewell: form.farewell.clone(),
            ..current
        };
        actions::settings::update_settings(&p.app, &actor, tenant, wanted).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/admin/settings?saved=1").into_response(),
        Err(e @ (ActionError::Forbidden | ActionError::Unauthorized | ActionError::NotFound)) => p.failure(&e),
        Err(e) => {
            let layout = p.layout("nav.settings", "/admin/settings");
            let error = Some(error_message(layout.lang, &e));
            let typed = SettingsForm {
                time_zone: form.time_zone,
                reopen_window_minutes: form.reopen_window_minutes,
                idle_away_minutes: form.idle_away_minutes.unwrap_or_default(),
                csat_enabled: form.csat_enabled.is_some(),
                csat_question: form.csat_question,
                csat_thanks: form.csat_thanks,
                farewell: form.farewell,
            };
            let require_two_factor =
                actions::two_factor::required_in(&p.app, &p.actor(), p.tenant()).await.unwrap_or(false);
            let lgpd_html = super::lgpd::settings_html(&p, &layout).await;
            let page =
                SettingsPage { layout, form: typed, notice: None, error, zones: ZONES, require_two_factor, lgpd_html };
            (error_status(&e), render(page)).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct SignatureForm {
    #[serde(default)]
    signature: Option<String>,
}

/// "Sign my messages" on the account page.
pub async fn set_signature(p: Page, CsrfForm(form): CsrfForm<SignatureForm>) -> Response {
    let enabled = form.signature.is_some();
    match actions::settings::set_signature(&p.app, &p.actor(), p.tenant(), p.user.user.id, enabled).await {
        Ok(()) => Redirect::to("/account?saved=signature_saved").into_response(),
        Err(e) => p.failure(&e),
    }
}
