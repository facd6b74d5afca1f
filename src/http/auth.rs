//! Who is calling: a browser session (cookie) or an API token (`Authorization: Bearer`).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::actions::{auth, ActionError, Actor};
use crate::app::App;
use crate::domain::Scope;
use crate::store::tenants::Tenant;
use crate::store::tokens::ApiToken;
use crate::store::users::User;

use super::cookies;
use super::error::ApiError;

/// An API caller authenticated by a bearer token.
pub struct ApiCaller {
    pub token: ApiToken,
}

impl ApiCaller {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.token.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this token lacks the {} scope", scope.as_str()),
            ))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::Token(self.token.clone())
    }
}

impl FromRequestParts<Arc<App>> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(secret) = value.and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "send Authorization: Bearer <token>"));
        };
        match auth::bearer_token(app, secret.trim()).await {
            Ok(token) => Ok(ApiCaller { token }),
            Err(ActionError::Unauthorized) => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "the token is invalid or revoked"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A person logged in through the web UI.
#[derive(Clone)]
pub struct WebUser {
    pub user: User,
    pub tenant: Tenant,
    /// Hash of the session cookie, to keep this session when others are ended.
    pub session_hash: String,
    /// A support session: the platform admin working in this account (every page says so).
    pub support_by: Option<String>,
}

/// Where a person whose company requires two-step sign-in goes until they set it up; only it
/// and logging out are open to them.
pub const TWO_FACTOR_SETUP: &str = "/account/security";

impl WebUser {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user.clone())
    }
}

/// Without a valid session a page redirects to the login form (remembering where to return).
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl FromRequestParts<Arc<App>> for WebUser {
    type Rejection = LoginRedirect;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let redirect = || LoginRedirect(format!("/login?next={}", urlencode(next)));
        let Some(token) = cookies::get(&parts.headers, cookies::SESSION) else {
            return Err(redirect());
        };
        match auth::session_user(app, &token).await {
            Ok(Some(owner)) => {
                let path = parts.uri.path();
                if owner.must_enrol && !path.starts_with(TWO_FACTOR_SETUP) && path != "/logout" {
                    return Err(LoginRedirect(TWO_FACTOR_SETUP.to_string()));
                }
                Ok(WebUser {
                    user: owner.user,
                    tenant: owner.tenant,
                    session_hash: crate::crypto::sha256_hex(&token),
                    support_by: owner.support_by,
                })
            }
            Ok(None) => Err(redirect()),
            Err(e) => {
                tracing::error!(error = %e, "session look-up failed");
                Err(redirect())
            }
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
