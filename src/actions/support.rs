//! Support sessions: a platform admin opens a session inside a company's account to help it.
//! The company sees it: a banner on every page of that session, the session in the person's
//! list of sessions, and `support.session_started` in its own audit log, with the reason.

use crate::actions::auth::LoggedIn;
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::{Role, TenantId};

/// A support session lasts an hour; the platform admin opens another if they need more.
pub const SUPPORT_SESSION_MS: i64 = 3_600_000;

/// Opens a support session as the company's first active admin, for `reason` (required, said
/// in the company's audit log). Only a platform admin; never into the platform tenant.
pub async fn start(app: &App, actor: &Actor, tenant: TenantId, reason: &str) -> ActionResult<LoggedIn> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ActionError::invalid("invalid_reason", "say why, in 1 to 200 characters"));
    }
    let company = crate::store::tenants::get(app.db.reader(), tenant).await?;
    if !company.is_some_and(|t| !t.is_platform && t.active) {
        return Err(ActionError::NotFound);
    }
    let users = crate::store::users::list(app.db.reader(), tenant).await?;
    let Some(user) = users.into_iter().find(|u| u.active && u.role == Role::Admin) else {
        return Err(ActionError::invalid("no_admin", "the company has no active admin to work as"));
    };
    // The company cannot look up a platform user's id: it reads the e-mail.
    let by = match actor {
        Actor::User(u) => u.email.clone(),
        other => other.label(),
    };
    let now = app.clock.now_ms();
    let session_token = crate::crypto::random_token(32);
    let hash = crate::crypto::sha256_hex(&session_token);
    let origin = crate::store::sessions::Origin { user_agent: "suporte", client_ip: "" };
    let mut tx = app.db.begin().await?;
    crate::store::sessions::insert(&mut *tx, tenant, user.id, &hash, &origin, now, now + SUPPORT_SESSION_MS).await?;
    crate::store::sessions::mark_support(&mut *tx, &hash, &by).await?;
    let details = serde_json::json!({ "by": by, "as_user_id": user.id, "reason": reason });
    let target = format!("user:{}", user.id.0);
    crate::store::audit::record(&mut *tx, tenant, &by, "support.session_started", &target, &details, now).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = tenant.0, user.id = user.id.0, "support session opened");
    Ok(LoggedIn { user, session_token })
}
