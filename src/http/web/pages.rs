//! Page handlers: each reads the form, calls one action, and renders or redirects.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

use super::{error_message, error_status, render, CsrfForm, CsrfToken, Lang, Layout, Page};
use crate::actions::auth::{LoginError, LoginStep};
use crate::actions::{self, ActionError};
use crate::app::App;
use crate::domain::{Role, UserId};
use crate::http::cookies;
use crate::store::sessions::Origin;
use crate::store::users::User;

// ---------- login ----------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    notice: Option<String>,
    /// The server sends e-mail: "Esqueci minha senha" is offered.
    forgot: bool,
    email: String,
    tenant: String,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    email: String,
    /// Back from a password reset (`reset=1`) or an expired second step (`expired=1`).
    #[serde(default)]
    reset: String,
    #[serde(default)]
    expired: String,
}

pub async fn login_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let layout = Layout::anonymous(&headers, &csrf, "login.title");
    let notice = match (q.reset.as_str(), q.expired.as_str()) {
        ("1", _) => Some(layout.t("login.password_was_reset").to_string()),
        (_, "1") => Some(layout.t("login.expired").to_string()),
        _ => None,
    };
    let email: String = q.email.chars().take(254).collect();
    let forgot = actions::account_links::mail_enabled(&app);
    render(LoginPage { layout, error: None, notice, forgot, email, tenant: q.tenant, next: safe_next(&q.next) })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Response {
    let slug = Some(form.tenant.as_str()).filter(|s| !s.trim().is_empty());
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let client = crate::domain::netaddr::client_ip(peer.ip(), forwarded_for, &app.settings.trusted_proxies);
    let client = client.to_string();
    let user_agent = super::security::user_agent_of(&headers);
    let origin = Origin { user_agent: &user_agent, client_ip: &client };
    let next = safe_next(&form.next);
    let next = if next == form.next { next } else { String::new() };
    let result = actions::auth::login(&app, &form.email, &form.password, slug, &origin, &next).await;
    let layout = Layout::anonymous(&headers, &csrf, "login.title");
    let mut retry_after = None;
    let (status, key) = match result {
        Ok(LoginStep::Session(logged_in)) => return signed_in(&app, logged_in, &next),
        Ok(LoginStep::SecondStep { challenge_token }) => {
            let cookie = cookies::set(
                cookies::LOGIN_STEP,
                &challenge_token,
                actions::two_factor::CHALLENGE_MINUTES * 60,
                app.settings.secure_cookies(),
            );
            let mut response = Redirect::to("/login/code").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            return response;
        }
        Err(LoginError::BadCredentials) => (StatusCode::UNAUTHORIZED, "login.bad_credentials"),
        Err(LoginError::TenantRequired) => (StatusCode::UNAUTHORIZED, "login.tenant_required"),
        Err(LoginError::RateLimited(secs)) => {
            retry_after = Some(secs);
            (StatusCode::TOO_MANY_REQUESTS, "login.rate_limited")
        }
        Err(LoginError::Internal(e)) => {
            tracing::error!(error = %format!("{e:#}"), "login failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
        }
    };
    let error = Some(layout.t(key).to_string());
    let forgot = actions::account_links::mail_enabled(&app);
    let page = LoginPage {
        layout,
        error,
        notice: None,
        forgot,
        email: form.email,
        tenant: form.tenant,
        next: safe_next(&form.next),
    };
    let mut response = (status, render(page)).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The response that opens a session: the cookie, a fresh CSRF token, and the page asked for
/// (`next`, already checked by [`safe_next`]) or the person's landing.
pub fn signed_in(app: &App, logged_in: actions::auth::LoggedIn, next: &str) -> Response {
    let cookie = cookies::set(
        cookies::SESSION,
        &logged_in.session_token,
        actions::auth::SESSION_DAYS * 24 * 3600,
        app.settings.secure_cookies(),
    );
    let target = match next {
        "" => super::landing(logged_in.user.role).map(str::to_string).unwrap_or_else(|| safe_next("")),
        next => next.to_string(),
    };
    let mut response = Redirect::to(&target).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    super::rotate_csrf(&mut response, app.settings.secure_cookies());
    response
}

/// Only same-site paths are followed after login (no open redirect): one `/`, then anything but
/// `/` or `\` (which browsers read as another host), and only visible ASCII, because browsers
/// drop tabs and line breaks from a `Location` (`/\t/evil` becomes `//evil`) and a line break
/// cannot go into a header at all. Anything else lands on the inbox.
fn safe_next(next: &str) -> String {
    let bytes = next.as_bytes();
    let one_slash = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let visible_ascii = bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    if one_slash && visible_ascii && !next.contains('\\') {
        next.to_string()
    } else {
        "/inbox".to_string()
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    if let Some(token) = cookies::get(&headers, cookies::SESSION) {
        if let Err(e) = actions::auth::logout(&app, &token).await {
            tracing::warn!(error = %e, "logout failed");
        }
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookies::clear(cookies::SESSION, app.settings.secure_cookies())) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

// ---------- home ----------

/// One line of the admin's "Primeiros passos" checklist.
pub struct FirstStep {
    pub label: &'static str,
    pub hint: &'static str,
    pub href: String,
    pub done: bool,
    /// The link leaves Atende (the demo's customer phone): opened in a new tab.
    pub external: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    role: Role,
    /// Admins of a company: its first steps (none for agents, supervisors and the platform).
    steps: Vec<FirstStep>,
    steps_done: usize,
    /// This person's queue: tickets they attend now, waiting tickets they may take.
    my_open: i64,
    my_waiting: i64,
    /// Dead-lettered webhook deliveries (supervisors and admins are alerted).
    webhook_dead: i64,
}

fn first_steps(lang: Lang, setup: &actions::home::Setup) -> Vec<FirstStep> {
    let c = &setup.counts;
    let step = |label: &'static str, hint: &'static str, href: &str, done: bool| FirstStep {
        label: lang.t(label),
        hint: lang.t(hint),
        href: href.to_string(),
        done,
        external: false,
    };
    let mut test = step("home.step.test", "home.step.test_hint", "/inbox", c.tickets > 0);
    if let Some(url) = &setup.simulator_url {
        test = FirstStep { hint: lang.t("home.step.test_demo_hint"), href: url.clone(), external: true, ..test };
    }
    vec![
        step("home.step.connect", "home.step.connect_hint", "/admin/connections", c.connections > 0),
        step("home.step.departments", "home.step.departments_hint", "/admin/departments", c.departments > 0),
        step("home.step.invite", "home.step.invite_hint", "/admin/users", c.attendants > 0),
        step("home.step.quick_replies", "home.step.quick_replies_hint", "/admin/quick-replies", c.quick_replies > 0),
        test,
    ]
}

pub async fn home(p: Page) -> Response {
    let role = p.user.user.role;
    if let Some(landing) = super::landing(role) {
        return Redirect::to(landing).into_response();
    }
    let title = if role == Role::Admin { "home.first_steps" } else { "home.title" };
    let layout = p.layout(title, "/");
    let steps = if role == Role::Admin {
        match actions::home::setup(&p.app, &p.actor(), p.tenant()).await {
            Ok(setup) => first_steps(layout.lang, &setup),
            Err(e) => return p.failure(&e),
        }
    } else {
        Vec::new()
    };
    let steps_done = steps.iter().filter(|s| s.done).count();
    let (my_open, my_waiting) = match actions::home::my_queue(&p.app, &p.actor(), p.tenant()).await {
        Ok(counts) => counts,
        Err(e) => return p.failure(&e),
    };
    let dead = actions::webhooks::dead_letters(&p.app, &p.actor(), p.tenant()).await.unwrap_or_default();
    let webhook_dead = dead.iter().map(|(_, n)| n).sum();
    render(HomePage { layout, role, steps, steps_done, my_open, my_waiting, webhook_dead })
}

// ---------- account ----------

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    locale: String,
    signature: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    pub(super) saved: Option<String>,
}

pub async fn account(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let layout = p.layout("nav.account", "/account");
    let notice = super::saved_notice(layout.lang, q.saved.as_deref());
    let signature = p.user.user.signature_enabled;
    let locale = p.user.user.locale.clone().unwrap_or_default();
    render(AccountPage { layout, locale, signature, notice, error: None })
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    locale: String,
}

pub async fn update_account(p: Page, CsrfForm(form): CsrfForm<AccountForm>) -> Response {
    let locale = Some(form.locale.as_str()).filter(|l| !l.is_empty());
    match actions::users::set_locale(&p.app, &p.user.user, locale).await {
        Ok(()) => Redirect::to("/account?saved=language_saved").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    back: String,
}

/// The company's idle minutes before "Ausente" (0: never by itself), for the shell's script.
pub async fn idle_minutes(p: Page) -> Response {
    match actions::settings::get_settings(&p.app, &p.actor(), p.tenant()).await {
        Ok(s) => axum::Json(serde_json::json!({ "minutes": s.idle_away_minutes })).into_response(),
        Err(e) => p.failure(&e),
    }
}

/// The user menu's status switch (Online / Ausente): always the person's own, then back to the
/// page it was sent from.
pub async fn set_status(p: Page, CsrfForm(form): CsrfForm<StatusForm>) -> Response {
    let away = match form.status.as_str() {
        "away" => true,
        "online" => false,
        _ => return p.failure(&ActionError::invalid("invalid_presence", "status must be online or away")),
    };
    match actions::settings::set_away(&p.app, &p.user.user, away).await {
        Ok(()) => {
            let back = safe_next(&form.back);
            let back = if back == form.back { back } else { "/".to_string() };
            Redirect::to(&back).into_response()
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
}

pub async fn change_password(p: Page, CsrfForm(form): CsrfForm<PasswordForm>) -> Response {
    let user = &p.user;
    match actions::users::change_own_password(&p.app, &user.user, &form.current, &form.new, &user.session_hash).await {
        Ok(()) => Redirect::to("/account?saved=password_changed").into_response(),
        Err(e) => {
            let layout = p.layout("nav.account", "/account");
            let error = Some(error_message(layout.lang, &e));
            let locale = user.user.locale.clone().unwrap_or_default();
            let page = AccountPage { layout, locale, signature: user.user.signature_enabled, notice: None, error };
            (error_status(&e), render(page)).into_response()
        }
    }
}

// ---------- users ----------

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<User>,
    grantable: Vec<Role>,
    notice: Option<String>,
    error: Option<String>,
    /// "3 de 5 usuários no plano", when the plan limits people.
    plan_usage: Option<String>,
}

fn grantable(by: Role) -> Vec<Role> {
    [Role::Agent, Role::Supervisor, Role::Admin].into_iter().filter(|r| by.can_grant(*r)).collect()
}

async fn users_page(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.users", "/admin/users");
    match actions::users::list_users(&p.app, &p.actor(), p.tenant()).await {
        Ok(users) => {
            let plan_usage = super::plans::usage_line(p, crate::domain::plans::Limit::Agents).await;
            render(UsersPage { layout, users, grantable: grantable(p.user.user.role), notice, error, plan_usage })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn list_users(p: Page) -> Response {
    users_page(&p, None, None).await
}

#[derive(Deserialize)]
pub struct CreateUserForm {
    email: String,
    name: String,
    role: String,
}

pub async fn create_user(p: Page, CsrfForm(form): CsrfForm<CreateUserForm>) -> Response {
    let Some(role) = Role::parse(&form.role) else {
        return users_page(&p, None, Some(p.lang().t("err.invalid_role").to_string())).await;
    };
    let input = actions::users::CreateUser { email: &form.email, name: &form.name, role, password: None };
    match actions::users::create_user(&p.app, &p.actor(), p.tenant(), input).await {
        Ok((created, password)) => {
            let lang = p.lang();
            let notice = match password {
                Some(password) => lang.t("saved.user_created_password").replace("{password}", &password),
                None => lang.t("saved.user_created").to_string(),
            }
            .replace("{email}", &created.email);
            users_page(&p, Some(notice), None).await
        }
        Err(e) => {
            let status = error_status(&e);
            let lang = p.lang();
            let page = users_page(&p, None, Some(error_message(lang, &e))).await;
            (status, page).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "user_edit.html")]
struct UserEditPage {
    layout: Layout,
    target: User,
    grantable: Vec<Role>,
    notice: Option<String>,
    error: Option<String>,
    /// The person uses two-step sign-in (the admin may remove it).
    two_factor: bool,
    /// The server sends e-mail (an invitation can be sent).
    mail: bool,
}

fn mail(p: &Page) -> bool {
    actions::account_links::mail_enabled(&p.app)
}

async fn two_factor_of(p: &Page, target: &User) -> bool {
    actions::two_factor::is_on_for(&p.app, &p.actor(), p.tenant(), target.id).await.unwrap_or(false)
}

pub async fn edit_user(p: Page, Path(id): Path<i64>, Query(q): Query<NoticeQuery>) -> Response {
    let layout = p.layout("nav.users", "/admin/users");
    match actions::users::get_user(&p.app, &p.actor(), p.tenant(), UserId(id)).await {
        Ok(target) => {
            let notice = super::saved_notice(layout.lang, q.saved.as_deref());
            let grantable = grantable_for(p.user.user.role, target.role);
            let two_factor = two_factor_of(&p, &target).await;
            render(UserEditPage { layout, target, grantable, notice, error: None, two_factor, mail: mail(&p) })
        }
        Err(e) => p.failure(&e),
    }
}

/// A platform admin keeps that role; others choose among what the editor may grant.
fn grantable_for(editor: Role, target: Role) -> Vec<Role> {
    if target == Role::PlatformAdmin {
        vec![Role::PlatformAdmin]
    } else {
        grantable(editor)
    }
}

#[derive(Deserialize)]
pub struct UpdateUserForm {
    name: String,
    role: String,
    #[serde(default)]
    active: Option<String>,
}

pub async fn update_user(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<UpdateUserForm>) -> Response {
    let layout = p.layout("nav.users", "/admin/users");
    let result = match Role::parse(&form.role) {
        Some(role) => {
            let input = actions::users::UpdateUser { name: &form.name, role, active: form.active.is_some() };
            actions::users::update_user(&p.app, &p.actor(), p.tenant(), UserId(id), input).await
        }
        None => Err(ActionError::invalid("invalid_role", "invalid role")),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/admin/users/{id}?saved=user_saved")).into_response(),
        Err(e) => {
            let status = error_status(&e);
            let error = Some(error_message(layout.lang, &e));
            match actions::users::get_user(&p.app, &p.actor(), p.tenant(), UserId(id)).await {
                Ok(target) => {
                    let grantable = grantable_for(p.user.user.role, target.role);
                    let two_factor = two_factor_of(&p, &target).await;
                    let page =
                        UserEditPage { layout, target, grantable, notice: None, error, two_factor, mail: mail(&p) };
                    (status, render(page)).into_response()
                }
                Err(e) => p.failure(&e),
            }
        }
    }
}

pub async fn reset_password(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let layout = p.layout("nav.users", "/admin/users");
    let result = actions::users::reset_password(&p.app, &p.actor(), p.tenant(), UserId(id)).await;
    let target = actions::users::get_user(&p.app, &p.actor(), p.tenant(), UserId(id)).await;
    match (result, target) {
        (Ok(password), Ok(target)) => {
            let notice = Some(match layout.lang {
                Lang::En => format!("New password (shown only now): {password}"),
                Lang::PtBr => format!("Nova senha (mostrada só agora): {password}"),
            });
            let grantable = grantable_for(p.user.user.role, target.role);
            let two_factor = two_factor_of(&p, &target).await;
            render(UserEditPage { layout, target, grantable, notice, error: None, two_factor, mail: mail(&p) })
        }
        (Err(e), _) | (_, Err(e)) => p.failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_same_site_paths_are_followed_after_login() {
        for ok in ["/", "/inbox", "/inbox/7?tab=all", "/contacts?q=jo%C3%A3o"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "inbox",
            "//evil.example/",
            "/\\evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/inbox\r\nSet-Cookie: x=1",
            "/ /evil.example/",
            "/a\\b",
            "/caf\u{e9}",
            "https://evil.example/",
        ] {
            assert_eq!(safe_next(bad), "/inbox", "{bad:?}");
        }
    }
}
