//! Reading the audit log (the admin page and `GET /api/v1/audit`): filters by person, action,
//! object and period, newest first, in pages; and how long each company keeps it (the daily
//! `audit.retention` job deletes what is older).

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::TenantId;
use crate::store;
use crate::store::audit::{AuditFilter, AuditRow};

/// The shortest and longest retention a company may choose, in days.
pub const RETENTION_MIN_DAYS: i64 = 30;
pub const RETENTION_MAX_DAYS: i64 = 3650;

/// One page of entries and the id to continue before, when there are more.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    pub next_before: Option<i64>,
}

/// A page of the company's audit log (admins only).
pub async fn list(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> ActionResult<AuditPage> {
    actor.require_admin_of(tenant)?;
    if let (Some(from), Some(until)) = (filter.from, filter.until) {
        if from >= until {
            return Err(ActionError::invalid("invalid_audit_period", "the period's start must come before its end"));
        }
    }
    let limit = limit.clamp(1, 200);
    let mut entries = store::audit::search(app.db.reader(), tenant, filter, before, limit + 1).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_before = if more { entries.last().map(|e| e.id) } else { None };
    Ok(AuditPage { entries, next_before })
}

/// The actions found in the company's log (the page's filter choices).
pub async fn action_names(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<String>> {
    actor.require_admin_of(tenant)?;
    Ok(store::audit::actions(app.db.reader(), tenant).await?)
}

pub async fn retention_days(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<i64> {
    actor.require_admin_of(tenant)?;
    Ok(store::audit::retention_days(app.db.reader(), tenant).await?)
}

/// Sets how many days the company keeps its audit log (30 to 3650); audited itself.
pub async fn set_retention_days(app: &App, actor: &Actor, tenant: TenantId, days: i64) -> ActionResult<i64> {
    actor.require_admin_of(tenant)?;
    if !(RETENTION_MIN_DAYS..=RETENTION_MAX_DAYS).contains(&days) {
        return Err(ActionError::invalid("invalid_retention", "keep the audit log 30 to 3650 days"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let before = store::audit::retention_days(&mut *tx, tenant).await?;
    store::audit::set_retention_days(&mut tx, tenant, days, now).await?;
    let details = serde_json::json!({ "from": before, "to": days });
    store::audit::record(&mut *tx, tenant, &actor.label(), "audit.retention_changed", "audit_log", &details, now)
        .await?;
    tx.commit().await?;
    Ok(days)
}

/// Deletes every company's entries older than its retention; returns how many went.
pub async fn purge_expired(app: &App) -> ActionResult<u64> {
    Ok(store::audit::purge_expired(app.db.writer(), app.clock.now_ms()).await?)
}
