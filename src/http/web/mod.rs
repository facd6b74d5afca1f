//! The web UI: server-rendered pages (askama templates), CSRF-protected form posts, embedded
//! assets. Pages call the same actions as the API.

mod admin;
mod audit;
mod automation;
mod campaigns;
mod chat;
mod chatbot;
mod connections;
mod contact_list;
mod contacts;
mod errors;
mod flow_graph;
pub mod i18n;
pub(crate) mod icons;
mod inbox;
mod kanban;
mod lgpd;
mod message_templates;
mod multipart;
mod nav;
mod new_conversation;
mod pages;
mod plans;
mod platform;
mod qr;
mod quick_replies;
pub mod reports;
mod schedules;
mod security;
mod sla;
mod status_page;
mod tags;
pub mod tasks;
mod tokens;
mod vault_access;
mod webhooks;

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::actions::ActionError;
use crate::app::App;
use crate::domain::Role;

use super::auth::WebUser;
use super::cookies;
pub use i18n::Lang;
pub use nav::{navigation, NavGroup, NavItem};

pub fn routes(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/", get(pages::home))
        .route("/inbox", get(inbox::show_inbox))
        .route("/inbox/new", get(new_conversation::show).post(new_conversation::start))
        .route("/inbox/{id}", get(inbox::show_ticket))
        .route("/inbox/{id}/messages", axum::routing::post(inbox::create_message))
        .route("/inbox/{id}/capture", axum::routing::post(inbox::capture_ticket))
        .route("/inbox/{id}/transfer", axum::routing::post(inbox::transfer_ticket))
        .route("/inbox/{id}/close", axum::routing::post(inbox::close_ticket))
        .route("/inbox/{id}/reopen", axum::routing::post(inbox::reopen_ticket))
        .route("/inbox/{id}/attachments", axum::routing::post(inbox::upload_attachment).layer(upload_limit()))
        .route("/inbox/{id}/react", axum::routing::post(inbox::react))
        .route("/inbox/{id}/media/{message}", get(inbox::show_media))
        .route("/inbox/{id}/tags", axum::routing::post(inbox::tag_ticket))
        .route("/admin/sla", get(sla::show).post(sla::save))
        .route("/admin/sla/delete", axum::routing::post(sla::delete))
        .route("/inbox/{id}/sla", axum::routing::post(inbox::classify_ticket))
        .route("/inbox/{id}/viewing", axum::routing::post(inbox::viewing))
        .route("/inbox/{id}/sla/await", axum::routing::post(inbox::await_customer))
        .route("/inbox/{id}/sla/files", axum::routing::post(inbox::request_files))
        .route("/inbox/{id}/quick-replies", get(inbox::quick_replies))
        .route("/admin/tags", get(tags::list_tags).post(tags::create_tag))
        .route("/admin/templates", get(message_templates::list))
        .route("/admin/templates/sync", axum::routing::post(message_templates::sync))
        .route("/admin/templates/{id}", get(message_templates::edit).post(message_templates::save))
        .route("/campaigns", get(campaigns::list).post(campaigns::create).layer(upload_limit()))
        .route("/campaigns/{id}", get(campaigns::show).post(campaigns::update).layer(upload_limit()))
        .route("/campaigns/{id}/progress", get(campaigns::progress))
        .route("/campaigns/{id}/recipients.csv", get(campaigns::csv))
        .route("/campaigns/{id}/{action}", axum::routing::post(campaigns::command))
        .route("/schedules", get(schedules::list).post(schedules::create).layer(upload_limit()))
        .route("/schedules/{id}", get(schedules::edit).post(schedules::update).layer(upload_limit()))
        .route("/schedules/{id}/{action}", axum::routing::post(schedules::change_state))
        .route("/admin/tags/{id}", axum::routing::post(tags::update_tag))
        .route("/admin/tags/{id}/delete", axum::routing::post(tags::delete_tag))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/account", get(pages::account).post(pages::update_account))
        .route("/account/password", axum::routing::post(pages::change_password))
        .route("/account/status", axum::routing::post(pages::set_status))
        .route("/account/idle", get(pages::idle_minutes))
        .route("/admin/users", get(pages::list_users).post(pages::create_user))
        .route("/admin/users/{id}", get(pages::edit_user).post(pages::update_user))
        .route("/admin/users/{id}/reset-password", axum::routing::post(pages::reset_password))
        .route("/admin/tokens", get(tokens::list_tokens).post(tokens::create_token))
        .route("/admin/connections", get(connections::list_connections).post(connections::create_connection))
        .route("/admin/tokens/{id}/revoke", axum::routing::post(tokens::revoke_token))
        .route("/admin/connections/{id}/department", axum::routing::post(connections::set_connection_department))
        .route("/admin/connections/{id}/token", axum::routing::post(connections::set_connection_token))
        .route("/admin/connections/{id}/active", axum::routing::post(connections::set_connection_active))
        .route("/admin/connections/{id}/remove", axum::routing::post(connections::remove_connection))
        .route("/admin/connections/qr", axum::routing::post(connections::create_qr_connection))
        .route("/admin/connections/{id}/reconnect", axum::routing::post(connections::reconnect))
        .route("/admin/connections/{id}/disconnect", axum::routing::post(connections::disconnect))
        .route("/admin/departments", get(admin::list_departments).post(admin::create_department))
        .route("/admin/departments/{id}", get(admin::edit_department).post(admin::update_department))
        .route("/admin/departments/{id}/members", axum::routing::post(admin::set_members))
        .route("/admin/departments/{id}/delete", axum::routing::post(admin::delete_department))
        .route("/admin/quick-replies", get(quick_replies::list_quick_replies).post(quick_replies::create_quick_reply))
        .route(
            "/admin/quick-replies/{id}",
            get(quick_replies::edit_quick_reply).post(quick_replies::update_quick_reply),
        )
        .route("/admin/quick-replies/{id}/delete", axum::routing::post(quick_replies::delete_quick_reply))
        .route("/admin/settings", get(admin::show_settings).post(admin::update_settings))
        .route("/admin/automation", get(automation::show).post(automation::update))
        .route("/admin/automation/dates", axum::routing::post(automation::update_dates))
        .route("/admin/automation/rules", axum::routing::post(automation::update_rules))
        .route("/admin/automation/keywords", axum::routing::post(automation::update_keywords))
        .route("/admin/automation/departments/{id}/hours", axum::routing::post(automation::update_department_hours))
        .route("/admin/chatbot", get(chatbot::show).post(chatbot::update))
        .route("/admin/chatbot/preview", axum::routing::post(chatbot::preview))
        .route("/admin/chatbot/test", axum::routing::post(chatbot::test))
        .route("/admin/chatbot/new", axum::routing::post(chatbot::create))
        .route("/admin/chatbot/{id}", axum::routing::post(chatbot::change))
        .route("/admin/connections/{id}/chatbot", axum::routing::post(chatbot::set_connection))
        .route("/account/signature", axum::routing::post(admin::set_signature))
        .route("/platform/tenants", get(platform::list_tenants).post(platform::create_tenant))
        .route("/platform/tenants/{id}", get(platform::tenant))
        .route("/platform/tenants/{id}/plan", axum::routing::post(platform::set_plan))
        .route("/platform/tenants/{id}/active", axum::routing::post(platform::set_active))
        .route("/platform/tenants/{id}/support", axum::routing::post(platform::start_support))
        .route("/platform/tenants/{id}/private-networks", axum::routing::post(platform::set_private_networks))
        .route("/platform/plans", get(plans::list_plans).post(plans::create_plan))
        .route("/platform/plans/{id}", get(plans::edit_plan).post(plans::update_plan))
        .route("/admin/plan", get(plans::company_plan))
        .merge(webhooks::routes())
        .route("/assets/app.css", get(|| asset(include_str!("../../../assets/app.css"), "text/css; charset=utf-8")))
        .route(
            "/assets/app.js",
            get(|| asset(include_str!("../../../assets/app.js"), "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/presence.js",
            get(|| asset(include_str!("../../../assets/presence.js"), "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/quick.js",
            get(|| asset(include_str!("../../../assets/quick.js"), "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/flow.js",
            get(|| asset(include_str!("../../../assets/flow.js"), "text/javascript; charset=utf-8")),
        )
        .merge(contacts::routes())
        .merge(lgpd::routes())
        .merge(reports::routes())
        .merge(security::routes())
        .merge(status_page::routes())
        .merge(inbox::vault::routes())
        .merge(vault_access::routes())
        .merge(audit::routes())
        .merge(kanban::routes())
        .merge(tasks::routes())
        .merge(chat::routes())
        .layer(middleware::from_fn_with_state(app.clone(), errors::friendly_rejections))
        .layer(middleware::from_fn_with_state(app, csrf_cookie))
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// The CSRF token of this browser (double-submit cookie): set on the first page view, echoed
/// by every form as a hidden field, compared on every post.
#[derive(Clone)]
pub struct CsrfToken(pub String);

async fn csrf_cookie(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let existing = cookies::get(request.headers(), cookies::CSRF).filter(|t| t.len() >= 32);
    let token = existing.clone().unwrap_or_else(|| crate::crypto::random_token(32));
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    // A handler that rotated the token (login) has set the cookie already.
    if existing.is_none() && !sets_cookie(&response, cookies::CSRF) {
        set_csrf_cookie(&mut response, &token, app.settings.secure_cookies());
    }
    security_headers(response.headers_mut());
    response
}

fn security_headers(headers: &mut HeaderMap) {
    // Pages are never framed (clickjacking) and never sniffed.
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("content-security-policy", HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    // Logged-in pages show customers' data: no shared or back-button cache may keep a copy
    // after logout. Handlers that chose a policy (assets, media) keep theirs.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
    logged_in: bool,
}

/// The title of the error page for `status`.
fn error_title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "error.page.not_found",
        401 | 403 => "error.page.forbidden",
        500..=599 => "error.page.internal",
        _ => "error.page.other",
    }
}

/// A failed request as a page of the app (in the shell when someone is logged in), with its
/// status, a title for it and `message` in the person's language.
fn error_page(layout: Layout, status: StatusCode, message: String, logged_in: bool) -> Response {
    let page = ErrorPage { layout, status: status.as_u16(), message, logged_in };
    (status, render(page)).into_response()
}

/// The page for an unknown path outside the API (the router's fallback, which the CSRF layer
/// does not cover): the session, if any, gives the shell and the language.
pub async fn not_found_page(app: &Arc<App>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let csrf = CsrfToken(cookies::get(&parts.headers, cookies::CSRF).unwrap_or_default());
    let user = WebUser::from_request_parts(&mut parts, app).await.ok();
    let title = error_title(StatusCode::NOT_FOUND);
    let layout = match &user {
        Some(u) => Layout::for_user(u, &parts.headers, &csrf, title, ""),
        None => Layout::anonymous(&parts.headers, &csrf, title),
    };
    let message = layout.t("error.page.not_found_text").to_string();
    let mut response = error_page(layout, StatusCode::NOT_FOUND, message, user.is_some());
    security_headers(response.headers_mut());
    response
}

/// Our pages load only our own scripts, styles and images, and are never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

fn set_csrf_cookie(response: &mut Response, token: &str, secure: bool) {
    let cookie = cookies::set(cookies::CSRF, token, 30 * 24 * 3600, secure);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn sets_cookie(response: &Response, name: &str) -> bool {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().strip_prefix(name.as_bytes()).is_some_and(|rest| rest.starts_with(b"=")))
}

/// Gives the browser a fresh CSRF token. Called at login: a token planted before login (by a
/// sibling subdomain or a man in the middle on plain HTTP) must not stay valid for the session.
pub fn rotate_csrf(response: &mut Response, secure: bool) {
    set_csrf_cookie(response, &crate::crypto::random_token(32), secure);
}

/// The body limit of forms that carry a file (WhatsApp's largest, plus the other fields).
fn upload_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(crate::actions::composer::MAX_ATTACHMENT_BYTES + 64 * 1024)
}

/// A form post whose hidden `csrf` field matches the browser's CSRF cookie.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<Arc<App>> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<App>) -> Result<Self, Self::Rejection> {
        let cookie = cookies::get(req.headers(), cookies::CSRF).unwrap_or_default();
        let lang = Lang::pick(None, req.headers());
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            (status, if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "invalid_body" })
                .into_response()
        })?;
        let field: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField { csrf: String::new() });
        if cookie.is_empty() || !crate::crypto::constant_time_eq(&field.csrf, &cookie) {
            return Err((StatusCode::FORBIDDEN, Html(simple_page(lang, "error.csrf"))).into_response());
        }
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("invalid form: {e}")).into_response())
    }
}

pub(super) fn simple_page(lang: Lang, key: &str) -> String {
    let text = askama::filters::escape(lang.t(key), askama::filters::Html).map(|e| e.to_string()).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><link rel=\"stylesheet\" href=\"/assets/app.css\"><main class=\"narrow\"><p class=\"alert error\">{text}</p><p><a href=\"/\">Atende</a></p></main></html>",
        lang.code()
    )
}

/// The banner after a save, by the redirect's `saved=<what>` ("Setor criado.", "Etiqueta
/// excluída."…); an unknown or bare value (`saved=1`) says "Alterações salvas.".
pub fn saved_notice(lang: Lang, saved: Option<&str>) -> Option<String> {
    let what = saved?;
    let key = format!("saved.{what}");
    let text = lang.t(&key);
    Some(if text == key { lang.t("common.saved") } else { text }.to_string())
}

/// Where a person lands after login and on "/" when it is not a page for them: the platform
/// admin (the operator, whose platform tenant has no customers) on the companies page.
pub fn landing(role: Role) -> Option<&'static str> {
    (role == Role::PlatformAdmin).then_some("/platform/tenants")
}

/// What every page's layout needs: language, CSRF token, who is logged in, navigation.
pub struct Layout {
    pub lang: Lang,
    pub csrf: String,
    pub title: String,
    pub user_name: String,
    pub tenant_name: String,
    pub nav: Vec<NavGroup>,
    /// Full-width pages (the inbox) drop the reading-width limit.
    pub wide: bool,
    /// The company's time zone: every date and time on the page is its wall clock.
    pub tz: chrono_tz::Tz,
    /// The person chose "Ausente" in the user menu.
    pub away: bool,
    /// This page's path and query: where the user menu's status form comes back to.
    pub here: String,
    /// The brand link's target: the person's landing page.
    pub home_href: &'static str,
    /// A support session: who from the platform is working in this account.
    pub support_by: Option<String>,
}

impl Layout {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.lang.t(key)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// One or two capital letters for the user menu's badge ("Ana Souza" → "AS").
    pub fn initials(&self) -> String {
        initials(&self.user_name)
    }

    /// An icon of the shell (menu button, user menu) by name; unknown names draw nothing.
    pub fn icon(&self, name: &str) -> &'static str {
        icons::named(name)
    }

    /// The layout of a logged-in page; `current` is the href of the page being shown.
    pub fn for_user(user: &WebUser, headers: &HeaderMap, csrf: &CsrfToken, title_key: &str, current: &str) -> Layout {
        let lang = Lang::pick(user.user.locale.as_deref(), headers);
        let nav = navigation(lang, user.user.role, current);
        Layout {
            lang,
            csrf: csrf.0.clone(),
            title: lang.t(title_key).to_string(),
            user_name: user.user.name.clone(),
            tenant_name: user.tenant.name.clone(),
            nav,
            wide: false,
            tz: zone_of(&user.tenant),
            away: user.user.away,
            here: "/".to_string(),
            home_href: landing(user.user.role).unwrap_or("/inbox"),
            support_by: user.support_by.clone(),
        }
    }

    /// The layout of a page seen before login.
    pub fn anonymous(headers: &HeaderMap, csrf: &CsrfToken, title_key: &str) -> Layout {
        let lang = Lang::pick(None, headers);
        Layout {
            lang,
            csrf: csrf.0.clone(),
            title: lang.t(title_key).to_string(),
            user_name: String::new(),
            tenant_name: String::new(),
            nav: Vec::new(),
            wide: false,
            tz: chrono_tz::America::Sao_Paulo,
            away: false,
            here: "/".to_string(),
            home_href: "/inbox",
            support_by: None,
        }
    }

    pub fn role_label(&self, role: &Role) -> &'static str {
        self.lang.t(match role {
            Role::Agent => "role.agent",
            Role::Supervisor => "role.supervisor",
            Role::Admin => "role.admin",
            Role::PlatformAdmin => "role.platform_admin",
        })
    }

    /// A ticket status in the vocabulary of the inbox (Em espera, Em atendimento, Finalizado…).
    pub fn ticket_status(&self, status: &str) -> &'static str {
        self.lang.t(match status {
            "bot" => "inbox.status.bot",
            "waiting" => "inbox.status.waiting",
            "open" => "inbox.status.open",
            _ => "inbox.status.closed",
        })
    }

    pub fn distribution_label(&self, mode: &crate::domain::inbox::DistributionMode) -> &'static str {
        use crate::domain::inbox::DistributionMode;
        self.lang.t(match mode {
            DistributionMode::Off => "dept.mode.off",
            DistributionMode::RoundRobin => "dept.mode.round_robin",
            DistributionMode::LeastBusy => "dept.mode.least_busy",
        })
    }

    /// A timestamp (Unix ms) as `dd/mm/yyyy hh:mm` on the company's clock.
    pub fn datetime(&self, ms: &i64) -> String {
        crate::domain::hours::wall_clock(self.tz, *ms)
            .map(|d| d.format("%d/%m/%Y %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// The company's time zone (Brasília when its stored name does not parse).
pub fn zone_of(tenant: &crate::store::tenants::Tenant) -> chrono_tz::Tz {
    crate::domain::hours::parse_tz(&tenant.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo)
}

/// One or two capital letters for an avatar: the first and last words' first letters ("Ana
/// Souza" → "AS"); words that start with no letter or digit (a phone's `+`) are skipped.
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace().filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let first = words.next();
    let last = words.next_back();
    first.into_iter().chain(last).flat_map(char::to_uppercase).collect()
}

/// Renders a template into an HTML response.
pub fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The message a person sees for a failed action, in their language.
pub fn error_message(lang: Lang, e: &ActionError) -> String {
    match e {
        // The translation of the stable code (`err.<code>`) when there is one.
        ActionError::Invalid { message, .. }
        | ActionError::Conflict { message, .. }
        | ActionError::Disabled { message, .. } => {
            let key = format!("err.{}", e.code());
            match lang.t(&key) {
                text if text != key => text.to_string(),
                _ => message.clone(),
            }
        }
        ActionError::PlanLimit { limit, allowed } => {
            let key = format!("plan.limit.{limit}");
            format!("{} ({}: {allowed})", lang.t("err.plan_limit_reached"), lang.t(&key))
        }
        ActionError::NotFound => lang.t("error.not_found").to_string(),
        ActionError::Forbidden | ActionError::Unauthorized => lang.t("error.forbidden").to_string(),
        ActionError::RateLimited { .. } => lang.t("login.rate_limited").to_string(),
        ActionError::Internal(err) => {
            tracing::error!(error = %format!("{err:#}"), "internal error");
            lang.t("error.internal").to_string()
        }
    }
}

/// The status code matching an action error, for pages re-rendered with a message.
pub fn error_status(e: &ActionError) -> StatusCode {
    match e {
        ActionError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ActionError::NotFound => StatusCode::NOT_FOUND,
        ActionError::Forbidden
        | ActionError::Unauthorized
        | ActionError::Disabled { .. }
        | ActionError::PlanLimit { .. } => StatusCode::FORBIDDEN,
        ActionError::Conflict { .. } => StatusCode::CONFLICT,
        ActionError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ActionError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What every logged-in page handler needs, taken from the request in one extractor: the app,
/// the person, the request headers (for the language) and the browser's CSRF token.
pub struct Page {
    pub app: Arc<App>,
    pub user: WebUser,
    pub headers: HeaderMap,
    pub csrf: CsrfToken,
    /// The request's path and query (the user menu's status form returns here).
    pub here: String,
}

impl FromRequestParts<Arc<App>> for Page {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let user = WebUser::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
        // The CSRF middleware covers every web route; a missing token means a route outside it.
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let here = parts.uri.path_and_query().map(|pq| pq.as_str().to_string()).unwrap_or_else(|| "/".to_string());
        Ok(Page { app: app.clone(), user, headers: parts.headers.clone(), csrf, here })
    }
}

impl Page {
    /// The language this person reads: their saved choice, else their browser's.
    pub fn lang(&self) -> Lang {
        Lang::pick(self.user.user.locale.as_deref(), &self.headers)
    }

    /// The layout of a page titled `title_key`; `current` is its href, marked in the navigation.
    pub fn layout(&self, title_key: &str, current: &str) -> Layout {
        Layout {
            here: self.here.clone(),
            ..Layout::for_user(&self.user, &self.headers, &self.csrf, title_key, current)
        }
    }

    pub fn actor(&self) -> crate::actions::Actor {
        self.user.actor()
    }

    /// The company's time zone, for times shown outside a [`Layout`] (inbox fragments).
    pub fn tz(&self) -> chrono_tz::Tz {
        zone_of(&self.user.tenant)
    }

    pub fn tenant(&self) -> crate::domain::TenantId {
        self.user.tenant.id
    }

    /// A failed action as an error page in the shell: its status and its message in the
    /// person's language (a missing page says so in its own words).
    pub fn failure(&self, e: &ActionError) -> Response {
        let status = error_status(e);
        let layout = self.layout(error_title(status), "");
        let message = match e {
            ActionError::NotFound => layout.t("error.page.not_found_text").to_string(),
            _ => error_message(layout.lang, e),
        };
        error_page(layout, status, message, true)
    }
}
