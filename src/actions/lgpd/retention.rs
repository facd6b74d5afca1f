//! Retention of conversations: each company keeps its messages N months (default 12, 1 to 120;
//! its admins choose on Configurações). [`run_pass`] — the `lgpd.retention` job — removes the
//! content of older messages in place (text, payload, file; the row's direction, status and
//! times stay, so the Painel's figures are the same even after a rebuild) in short batches, each
//! its own transaction, and deletes the files nothing names any more. A pass has a budget; one
//! that used it up says so and the job runs again a second later.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::TenantId;
use crate::store::lgpd::retention::Retention;
use crate::store::{self};

pub const MONTHS_MIN: i64 = 1;
pub const MONTHS_MAX: i64 = 120;
/// Messages per transaction: short enough never to hold SQLite's single writer long.
const BATCH: i64 = 200;
/// Messages per pass, over all companies.
const PASS_BUDGET: u64 = 5_000;

pub async fn get(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Retention> {
    actor.require_admin_of(tenant)?;
    Ok(store::lgpd::retention::get(app.db.reader(), tenant).await?)
}

/// Sets how many months the company keeps its conversations; audited.
pub async fn set_months(app: &App, actor: &Actor, tenant: TenantId, months: i64) -> ActionResult<Retention> {
    actor.require_admin_of(tenant)?;
    if !(MONTHS_MIN..=MONTHS_MAX).contains(&months) {
        return Err(ActionError::invalid("invalid_retention_months", "keep conversations 1 to 120 months"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::lgpd::retention::set_months(&mut tx, tenant, months, now).await?;
    let details = serde_json::json!({ "months": months });
    store::audit::record(&mut *tx, tenant, &actor.label(), "retention.updated", "retention", &details, now).await?;
    tx.commit().await?;
    Ok(store::lgpd::retention::get(app.db.reader(), tenant).await?)
}

/// The instant `months` calendar months before `now` (UTC; a day past the month's end clamps).
pub fn cutoff(now: i64, months: i64) -> i64 {
    let Some(at) = chrono::DateTime::from_timestamp_millis(now) else { return i64::MIN };
    let months = chrono::Months::new(months.clamp(0, 100_000) as u32);
    at.checked_sub_months(months).map(|t| t.timestamp_millis()).unwrap_or(i64::MIN)
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PassReport {
    pub messages: u64,
    pub files: u64,
    /// The budget ran out: another pass should follow.
    pub more: bool,
}

/// One paced pass over every company (see the module's documentation).
pub async fn run_pass(app: &App) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    let mut after = 0;
    loop {
        let companies = store::lgpd::retention::companies(app.db.reader(), after, 100).await?;
        let Some((last, _)) = companies.last() else { break };
        after = last.0;
        for (tenant, months) in companies {
            let (messages, files, done) = purge_company(app, tenant, months, PASS_BUDGET - report.messages).await?;
            report.messages += messages;
            report.files += files;
            if !done {
                report.more = true;
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// Purges one company up to `budget` messages; `done` when nothing older is left.
async fn purge_company(app: &App, tenant: TenantId, months: i64, budget: u64) -> anyhow::Result<(u64, u64, bool)> {
    let now = app.clock.now_ms();
    let cutoff = cutoff(now, months);
    let (mut messages, mut files) = (0u64, 0u64);
    let mut done = false;
    while messages < budget {
        let due = store::lgpd::retention::due(app.db.reader(), tenant, cutoff, BATCH).await?;
        if due.is_empty() {
            done = true;
            break;
        }
        let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
        let media: Vec<String> = due.into_iter().filter_map(|(_, m)| m).collect();
        let mut tx = app.db.begin().await?;
        messages += store::lgpd::retention::redact(&mut tx, tenant, &ids, cutoff, now).await?;
        tx.commit().await?;
        files += super::erase::delete_unreferenced(app, &media).await;
        tokio::task::yield_now().await;
    }
    let mut tx = app.db.begin().await?;
    store::lgpd::retention::record_run(&mut tx, tenant, messages as i64, files as i64, now).await?;
    tx.commit().await?;
    if messages > 0 {
        tracing::info!(tenant = tenant.0, messages, files, "conversation retention applied");
    }
    Ok((messages, files, done))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cutoff_counts_calendar_months() {
        // 2026-03-31 12:00 UTC minus 1 month → 2026-02-28 12:00 UTC.
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z").unwrap().timestamp_millis();
        let feb = chrono::DateTime::parse_from_rfc3339("2026-02-28T12:00:00Z").unwrap().timestamp_millis();
        assert_eq!(super::cutoff(at, 1), feb);
        let year = chrono::DateTime::parse_from_rfc3339("2025-03-31T12:00:00Z").unwrap().timestamp_millis();
        assert_eq!(super::cutoff(at, 12), year);
    }
}
