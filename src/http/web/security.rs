//! "Segurança da conta": two-step sign-in (set-up with a QR code, recovery codes, turning it
//! off), the list of one's sessions with "sair de todos", the login's second step, and the
//! admin's switches (require it in the company, reset a person's).

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::pages::{signed_in, NoticeQuery};
use super::{render, CsrfForm, CsrfToken, Layout, Page};
use crate::actions::two_factor::{self, SecondStepError, SessionView};
use crate::actions::{self, ActionError};
use crate::app::App;
use crate::domain::UserId;
use crate::http::auth::TWO_FACTOR_SETUP;
use crate::http::cookies;
use crate::store::sessions::Origin;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/login/code", get(code_form).post(code_answer))
        .route("/password/forgot", get(forgot_form).post(forgot))
        .route("/password/reset", get(reset_form).post(reset))
        .route("/admin/users/{id}/invite", post(invite_user))
        .route(TWO_FACTOR_SETUP, get(show))
        .route("/account/security/confirm", post(confirm))
        .route("/account/security/disable", post(disable))
        .route("/account/security/recovery-codes", post(renew_codes))
        .route("/account/security/sessions/{id}/end", post(end_session))
        .route("/account/security/sessions/end-others", post(end_others))
        .route("/admin/settings/two-factor", post(set_required))
        .route("/admin/users/{id}/two-factor/reset", post(reset_user))
}

/// The browser's own description, kept short for the list of sessions.
pub fn user_agent_of(headers: &HeaderMap) -> String {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    ua.chars().filter(|c| !c.is_control()).take(200).collect()
}

// ---------- the account's security page ----------

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    enabled: bool,
    required: bool,
    recovery_left: i64,
    /// Set-up in progress: the QR code (SVG) and the secret to type.
    qr_svg: Option<String>,
    secret: String,
    /// Recovery codes just made (shown once).
    codes: Vec<String>,
    sessions: Vec<SessionView>,
}

impl SecurityPage {
    fn browser(&self, s: &SessionView) -> String {
        describe_browser(&s.user_agent).unwrap_or_else(|| self.layout.t("security.unknown_browser").to_string())
    }
}

/// "Chrome no Windows"-like names from a user agent: enough to recognise one's own devices.
fn describe_browser(ua: &str) -> Option<String> {
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map(|(_, name)| *name)?;
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    Some(match system {
        Some(s) => format!("{browser} · {s}"),
        None => browser.to_string(),
    })
}

async fn page(p: &Page, codes: Vec<String>, notice: Option<String>, error: Option<&ActionError>) -> Response {
    let layout = p.layout("security.title", "/account");
    let user = &p.user.user;
    let result = async {
        let overview = two_factor::overview(&p.app, user).await?;
        let enrolling =
            if overview.enabled { None } else { Some(two_factor::enrolling(&p.app, user, &p.user.tenant.name).await?) };
        let sessions = two_factor::sessions(&p.app, user, &p.user.session_hash).await?;
        Ok::<_, ActionError>((overview, enrolling, sessions))
    }
    .await;
    match result {
        Ok((overview, enrolling, sessions)) => {
            let status = match error {
                Some(e) => super::error_status(e),
                None => StatusCode::OK,
            };
            let error = error.map(|e| super::error_message(layout.lang, e));
            let (qr_svg, secret) = match enrolling {
                Some(e) => (super::qr::svg(&e.uri), e.secret),
                None => (None, String::new()),
            };
            let page = SecurityPage {
                layout,
                notice,
                error,
                enabled: overview.enabled,
                required: overview.required,
                recovery_left: overview.recovery_codes_left,
                qr_svg,
                secret,
                codes,
                sessions,
            };
            (status, render(page)).into_response()
        }
        Err(e) => p.failure(&e),
    }
}

async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    page(&p, Vec::new(), notice, None).await
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn confirm(p: Page, CsrfForm(form): CsrfForm<CodeForm>) -> Response {
    match two_factor::confirm(&p.app, &p.user.user, &form.code).await {
        Ok(codes) => page(&p, codes, Some(p.lang().t("saved.two_factor_enabled").to_string()), None).await,
        Err(e) => page(&p, Vec::new(), None, Some(&e)).await,
    }
}

async fn disable(p: Page, CsrfForm(form): CsrfForm<CodeForm>) -> Response {
    match two_factor::disable(&p.app, &p.user.user, &form.password, &form.code).await {
        Ok(()) => Redirect::to("/account/security?saved=two_factor_disabled").into_response(),
        Err(e) => page(&p, Vec::new(), None, Some(&e)).await,
    }
}

async fn renew_codes(p: Page, CsrfForm(form): CsrfForm<CodeForm>) -> Response {
    match two_factor::renew_recovery_codes(&p.app, &p.user.user, &form.code).await {
        Ok(codes) => page(&p, codes, Some(p.lang().t("saved.recovery_codes_renewed").to_string()), None).await,
        Err(e) => page(&p, Vec::new(), None, Some(&e)).await,
    }
}

#[derive(Deserialize)]
struct EmptyForm {}

async fn end_session(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match two_factor::end_session(&p.app, &p.user.user, id).await {
        Ok(()) => Redirect::to("/account/security?saved=session_ended").into_response(),
        Err(e) => p.failure(&e),
    }
}

async fn end_others(p: Page, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match two_factor::end_other_sessions(&p.app, &p.user.user, &p.user.session_hash).await {
        Ok(_) => Redirect::to("/account/security?saved=other_sessions_ended").into_response(),
        Err(e) => p.failure(&e),
    }
}

// ---------- the admin's switches ----------

#[derive(Deserialize)]
struct RequiredForm {
    #[serde(default)]
    required: String,
}

async fn set_required(p: Page, CsrfForm(form): CsrfForm<RequiredForm>) -> Response {
    match two_factor::set_required(&p.app, &p.actor(), p.tenant(), form.required == "1").await {
        Ok(()) => Redirect::to("/admin/settings?saved=two_factor_required").into_response(),
        Err(e) => p.failure(&e),
    }
}

async fn reset_user(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match two_factor::reset_for(&p.app, &p.actor(), p.tenant(), UserId(id)).await {
        Ok(()) => Redirect::to(&format!("/admin/users/{id}?saved=two_factor_reset")).into_response(),
        Err(e) => p.failure(&e),
    }
}

// ---------- the login's second step ----------

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    layout: Layout,
    error: Option<String>,
}

async fn code_form(headers: HeaderMap, Extension(csrf): Extension<CsrfToken>) -> Response {
    if cookies::get(&headers, cookies::LOGIN_STEP).is_none() {
        return Redirect::to("/login").into_response();
    }
    render(CodePage { layout: Layout::anonymous(&headers, &csrf, "login.code_title"), error: None })
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    code: String,
}

async fn code_answer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Response {
    let Some(challenge) = cookies::get(&headers, cookies::LOGIN_STEP) else {
        return Redirect::to("/login").into_response();
    };
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let client = crate::domain::netaddr::client_ip(peer.ip(), forwarded_for, &app.settings.trusted_proxies).to_string();
    let user_agent = user_agent_of(&headers);
    let origin = Origin { user_agent: &user_agent, client_ip: &client };
    let layout = Layout::anonymous(&headers, &csrf, "login.code_title");
    let (status, key) = match actions::two_factor::answer(&app, &challenge, &form.code, &origin).await {
        Ok((logged_in, next)) => {
            let mut response = signed_in(&app, logged_in, &next);
            clear_step_cookie(&mut response, &app);
            return response;
        }
        Err(SecondStepError::Expired) => {
            let mut response = Redirect::to("/login?expired=1").into_response();
            clear_step_cookie(&mut response, &app);
            return response;
        }
        Err(SecondStepError::WrongCode) => (StatusCode::UNAUTHORIZED, "login.wrong_code"),
        Err(SecondStepError::RateLimited(_)) => (StatusCode::TOO_MANY_REQUESTS, "login.rate_limited"),
        Err(SecondStepError::Internal(e)) => {
            tracing::error!(error = %format!("{e:#}"), "second step failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
        }
    };
    let error = Some(layout.t(key).to_string());
    (status, render(CodePage { layout, error })).into_response()
}

fn clear_step_cookie(response: &mut Response, app: &App) {
    if let Ok(v) = HeaderValue::from_str(&cookies::clear(cookies::LOGIN_STEP, app.settings.secure_cookies())) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

// ---------- "Esqueci minha senha" and invitations ----------

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    layout: Layout,
    sent: bool,
    error: Option<String>,
    email: String,
    tenant: String,
}

async fn forgot_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
) -> Response {
    if !actions::account_links::mail_enabled(&app) {
        return Redirect::to("/login").into_response();
    }
    let layout = Layout::anonymous(&headers, &csrf, "password.forgot_title");
    render(ForgotPage { layout, sent: false, error: None, email: String::new(), tenant: String::new() })
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    tenant: String,
}

async fn forgot(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Response {
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let client = crate::domain::netaddr::client_ip(peer.ip(), forwarded_for, &app.settings.trusted_proxies).to_string();
    let slug = Some(form.tenant.as_str()).filter(|s| !s.trim().is_empty());
    let layout = Layout::anonymous(&headers, &csrf, "password.forgot_title");
    let result = actions::account_links::request_reset(&app, &form.email, slug, &client).await;
    let (status, sent, error) = match result {
        Ok(()) => (StatusCode::OK, true, None),
        Err(e) => (super::error_status(&e), false, Some(super::error_message(layout.lang, &e))),
    };
    (status, render(ForgotPage { layout, sent, error, email: form.email, tenant: form.tenant })).into_response()
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    name: String,
    email: String,
    invite: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn reset_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let layout = Layout::anonymous(&headers, &csrf, "password.reset_title");
    match actions::account_links::link_owner(&app, &q.token).await {
        Ok((user, invite)) => {
            render(ResetPage { layout, token: q.token, name: user.name, email: user.email, invite, error: None })
        }
        Err(e) => {
            let error = Some(super::error_message(layout.lang, &e));
            let page = ResetPage {
                layout,
                token: String::new(),
                name: String::new(),
                email: String::new(),
                invite: false,
                error,
            };
            (super::error_status(&e), render(page)).into_response()
        }
    }
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn reset(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    match actions::account_links::use_link(&app, &form.token, &form.password).await {
        Ok(user) => {
            Redirect::to(&format!("/login?reset=1&email={}", crate::http::auth::urlencode(&user.email))).into_response()
        }
        Err(e) => {
            let layout = Layout::anonymous(&headers, &csrf, "password.reset_title");
            let error = Some(super::error_message(layout.lang, &e));
            let owner = actions::account_links::link_owner(&app, &form.token).await.ok();
            let (token, name, email, invite) = match owner {
                Some((u, invite)) => (form.token, u.name, u.email, invite),
                None => (String::new(), String::new(), String::new(), false),
            };
            (super::error_status(&e), render(ResetPage { layout, token, name, email, invite, error })).into_response()
        }
    }
}

async fn invite_user(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::account_links::invite(&p.app, &p.actor(), p.tenant(), UserId(id)).await {
        Ok(()) => Redirect::to(&format!("/admin/users/{id}?saved=invitation_sent")).into_response(),
        Err(e) => p.failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_browser;

    #[test]
    fn names_common_browsers() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(describe_browser(chrome).as_deref(), Some("Chrome · Windows"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_browser(iphone).as_deref(), Some("Safari · iPhone"));
        assert_eq!(describe_browser("curl/8.0"), None);
    }
}
