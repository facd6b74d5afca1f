//! Per-tenant inbox settings; a tenant without a row has the defaults.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantSettings {
    /// A customer writing this soon after a close reopens the ticket; later, a new one starts.
    pub reopen_window_minutes: i64,
    pub csat_enabled: bool,
    /// The rating question; empty = the built-in pt-BR text.
    pub csat_question: String,
    /// The default farewell on close; empty = none.
    pub farewell: String,
    /// Sent after a customer answers the rating question; empty = the built-in pt-BR text.
    #[serde(default)]
    pub csat_thanks: String,
    /// A fixed offset from UTC, used for protocol days only when the company's time zone (kept
    /// with its automation settings) does not parse; Brasília by default.
    pub utc_offset_minutes: i64,
    /// A person becomes "Ausente" after this many minutes without input in any of their tabs
    /// (their browser tells the server); 0 = only by hand.
    #[serde(default = "default_idle_away")]
    pub idle_away_minutes: i64,
}

fn default_idle_away() -> i64 {
    15
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            reopen_window_minutes: 120,
            csat_enabled: false,
            csat_question: String::new(),
            farewell: String::new(),
            csat_thanks: String::new(),
            utc_offset_minutes: -180,
            idle_away_minutes: default_idle_away(),
        }
    }
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<TenantSettings, sqlx::Error> {
    let row = sqlx::query(
        "SELECT reopen_window_minutes, csat_enabled, csat_question, farewell, utc_offset_minutes, csat_thanks,
             idle_away_minutes FROM tenant_settings WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(TenantSettings::default()) };
    Ok(TenantSettings {
        reopen_window_minutes: r.try_get(0)?,
        csat_enabled: super::flag(r.try_get(1)?),
        csat_question: r.try_get(2)?,
        farewell: r.try_get(3)?,
        utc_offset_minutes: r.try_get(4)?,
        csat_thanks: r.try_get(5)?,
        idle_away_minutes: r.try_get(6)?,
    })
}

pub async fn put<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: &TenantSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tenant_settings (tenant_id, reopen_window_minutes, csat_enabled, csat_question, farewell, utc_offset_minutes, updated_at, csat_thanks, idle_away_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id) DO UPDATE SET reopen_window_minutes = excluded.reopen_window_minutes,
             csat_enabled = excluded.csat_enabled, csat_question = excluded.csat_question, farewell = excluded.farewell,
             utc_offset_minutes = excluded.utc_offset_minutes, updated_at = excluded.updated_at,
             csat_thanks = excluded.csat_thanks, idle_away_minutes = excluded.idle_away_minutes",
    )
    .bind(tenant.0)
    .bind(s.reopen_window_minutes)
    .bind(s.csat_enabled as i64)
    .bind(&s.csat_question)
    .bind(&s.farewell)
    .bind(s.utc_offset_minutes)
    .bind(now)
    .bind(&s.csat_thanks)
    .bind(s.idle_away_minutes)
    .execute(ex)
    .await?;
    Ok(())
}
