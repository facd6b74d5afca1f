//! Inbox settings of a tenant (reopen window, CSAT, farewell, thank-you), an agent's
//! signature preference, and presence (what "online" means for distribution).

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::{TenantId, UserId};
use crate::store::settings::TenantSettings;
use crate::store::users::User;
use crate::store::{self};

pub async fn get_settings(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<TenantSettings> {
    actor.role_of(tenant)?;
    Ok(store::settings::get(app.db.reader(), tenant).await?)
}

pub async fn update_settings(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    s: TenantSettings,
) -> ActionResult<TenantSettings> {
    actor.require_admin_of(tenant)?;
    if !(0..=60 * 24 * 30).contains(&s.reopen_window_minutes) {
        return Err(ActionError::invalid(
            "invalid_reopen_window",
            "the reopen window is 0 to 43,200 minutes (30 days)",
        ));
    }
    if !(0..=480).contains(&s.idle_away_minutes) {
        return Err(ActionError::invalid("invalid_idle_away", "idle minutes before Ausente: 0 (never) to 480"));
    }
    if !(-14 * 60..=14 * 60).contains(&s.utc_offset_minutes) {
        return Err(ActionError::invalid("invalid_utc_offset", "the UTC offset is -840 to 840 minutes"));
    }
    if s.farewell.chars().count() > 4096
        || s.csat_question.chars().count() > 1024
        || s.csat_thanks.chars().count() > 1024
    {
        return Err(ActionError::invalid(
            "invalid_text",
            "the farewell (4096), rating question or thank-you (1024) is too long",
        ));
    }
    let s = TenantSettings {
        farewell: s.farewell.trim().into(),
        csat_question: s.csat_question.trim().into(),
        csat_thanks: s.csat_thanks.trim().into(),
        ..s
    };
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::settings::put(&mut *tx, tenant, &s, now).await?;
    let details = serde_json::to_value(&s).map_err(anyhow::Error::from)?;
    store::audit::record(&mut *tx, tenant, &actor.label(), "settings.updated", "settings:inbox", &details, now).await?;
    tx.commit().await?;
    Ok(s)
}

/// Turns a person's signature (`*Name:*` before their text) on or off: themselves, or an admin.
pub async fn set_signature(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
    enabled: bool,
) -> ActionResult<()> {
    if actor.user_id() != Some(user) {
        actor.require_admin_of(tenant)?;
    } else {
        actor.role_of(tenant)?;
    }
    if !store::users::set_signature(app.db.writer(), tenant, user, enabled, app.clock.now_ms()).await? {
        return Err(ActionError::NotFound);
    }
    Ok(())
}

/// A person's own status from the user menu: away (`true`, "Ausente") or online. Away people
/// keep their tickets; automatic distribution hands them no new ones until they are back. Only
/// the person themself sets it (no user id is taken), in their own tenant.
pub async fn set_away(app: &App, user: &User, away: bool) -> ActionResult<()> {
    if !store::users::set_away(app.db.writer(), user.tenant_id, user.id, away, app.clock.now_ms()).await? {
        return Err(ActionError::NotFound);
    }
    Ok(())
}

/// A sign of life from a person (page load, live-stream heartbeat): online for distribution
/// for the next five minutes.
pub async fn touch_presence(app: &App, user: &User) -> ActionResult<()> {
    let mut tx = app.db.begin().await?;
    store::users::touch_presence(&mut tx, user.tenant_id, user.id, app.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// A person leaves (logout): distribution stops handing them tickets at once.
pub async fn clear_presence(app: &App, user: &User) -> ActionResult<()> {
    store::users::clear_presence(app.db.writer(), user.tenant_id, user.id).await?;
    Ok(())
}
