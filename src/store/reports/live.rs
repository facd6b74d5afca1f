//! The Painel's "now" block: tickets by state per department, the oldest wait, people and their
//! open load, dead-lettered webhooks, and the alert settings. Each read is one grouped query
//! over the inbox's own indexes (`tickets_inbox`), never over messages.

use std::collections::BTreeMap;

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// Live tickets of one department (None: no department yet) in one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCount {
    pub department_id: Option<i64>,
    pub status: String,
    pub count: i64,
    /// The earliest `queued_at` among them (waiting tickets: the longest wait).
    pub oldest_queued_at: Option<i64>,
}

pub async fn state_counts<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<StateCount>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT department_id, status, COUNT(*), MIN(queued_at) FROM tickets
         WHERE tenant_id = $1 AND status IN ('waiting', 'open', 'bot')
         GROUP BY department_id, status ORDER BY department_id, status",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StateCount {
                department_id: r.try_get(0)?,
                status: r.try_get(1)?,
                count: r.try_get(2)?,
                oldest_queued_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// A person who attends customers, with their status and open load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub away: bool,
    pub last_seen_at: Option<i64>,
    pub open_tickets: i64,
    pub departments: Vec<i64>,
}

/// Active agents and supervisors of the company (admins too when they hold tickets).
pub async fn people<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
) -> Result<Vec<Person>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.role, u.away, u.last_seen_at,
             (SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = u.tenant_id AND t.status = 'open' AND t.assignee_id = u.id)
         FROM users u WHERE u.tenant_id = $1 AND u.active = 1 ORDER BY u.name, u.id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let members = sqlx::query("SELECT user_id, department_id FROM department_members WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        let role: String = r.try_get(2)?;
        let open: i64 = r.try_get(5)?;
        if role == "admin" && open == 0 {
            continue;
        }
        let mut departments = Vec::new();
        for m in &members {
            if m.try_get::<i64, _>(0)? == id {
                departments.push(m.try_get(1)?);
            }
        }
        out.push(Person {
            id,
            name: r.try_get(1)?,
            role,
            away: super::super::flag(r.try_get(3)?),
            last_seen_at: r.try_get(4)?,
            open_tickets: open,
            departments,
        });
    }
    Ok(out)
}

/// Dead-lettered webhook deliveries of live subscriptions.
pub async fn dead_webhooks<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<i64, sqlx::Error> {
    Ok(super::super::webhooks::dead_counts(ex, tenant).await?.iter().map(|(_, n)| n).sum())
}

/// The Painel's alert settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlertSettings {
    /// Alert when a ticket waits longer than this (0: off).
    pub wait_alert_minutes: i64,
    /// Alert when customer messages per minute fall below this % of the recent mean (0: off).
    pub band_low_pct: i64,
    /// … or rise above this % (0: off).
    pub band_high_pct: i64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings { wait_alert_minutes: 15, band_low_pct: 70, band_high_pct: 130 }
    }
}

pub async fn alert_settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<AlertSettings, sqlx::Error> {
    let row =
        sqlx::query("SELECT wait_alert_minutes, band_low_pct, band_high_pct FROM report_settings WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(ex)
            .await?;
    Ok(match row {
        Some(r) => AlertSettings {
            wait_alert_minutes: r.try_get(0)?,
            band_low_pct: r.try_get(1)?,
            band_high_pct: r.try_get(2)?,
        },
        None => AlertSettings::default(),
    })
}

pub async fn save_alert_settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: &AlertSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO report_settings (tenant_id, wait_alert_minutes, band_low_pct, band_high_pct, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id) DO UPDATE SET wait_alert_minutes = excluded.wait_alert_minutes,
             band_low_pct = excluded.band_low_pct, band_high_pct = excluded.band_high_pct, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(s.wait_alert_minutes)
    .bind(s.band_low_pct)
    .bind(s.band_high_pct)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The alerts a company has active (code → since), as the last check left them.
pub async fn active_alerts<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, since FROM report_alert_state WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Notes an alert raised; false when another check already did (the caller then sends nothing).
pub async fn raise_alert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    code: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO report_alert_state (tenant_id, code, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(code)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes an alert cleared; false when it was not active any more.
pub async fn clear_alert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    code: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM report_alert_state WHERE tenant_id = $1 AND code = $2")
        .bind(tenant.0)
        .bind(code)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Seconds online per person between `from` and `to` (UTC hour starts, `to` exclusive).
pub async fn online_seconds<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT user_id, CAST(SUM(seconds) AS BIGINT) FROM agent_online WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 GROUP BY user_id",
    )
    .bind(tenant.0)
    .bind(from - from.rem_euclid(3_600_000))
    .bind(to)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}
