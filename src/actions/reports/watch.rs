//! Painel alerts as webhook events: once a minute (job `reports.alerts`) each company's alerts
//! are judged again by the Painel's own rules, and an alert that was raised or cleared since the
//! last check becomes one `report.alert` event (webhooks, and the Painel's live stream).

use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::reports::alerts;
use crate::domain::{Role, TenantId};
use crate::store;

/// Checks one company; returns how many events it recorded.
pub async fn check(app: &App, tenant: TenantId) -> anyhow::Result<usize> {
    let now = app.clock.now_ms();
    // The message band reads this hour's roll-ups: bring them up to date first.
    store::reports::refresh(&app.db, tenant, now, 0).await?;
    let longest_wait_s = store::reports::live::state_counts(app.db.reader(), tenant)
        .await?
        .iter()
        .filter(|c| c.status == "waiting")
        .filter_map(|c| c.oldest_queued_at)
        .min()
        .map_or(0, |q| (now - q).max(0) / 1000);
    let current = super::current_alerts(app, tenant, now, longest_wait_s).await?;
    let before = store::reports::live::active_alerts(app.db.reader(), tenant).await?;
    let changes = alerts::changes(&before, &current);
    if changes.raised.is_empty() && changes.cleared.is_empty() {
        return Ok(0);
    }
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    let audience = Audience::MinRole(Role::Supervisor);
    for a in &changes.raised {
        // Another instance may have raised it meanwhile: the row decides, the event follows it.
        if store::reports::live::raise_alert(&mut *tx, tenant, a.code, now).await? {
            let data =
                serde_json::json!({ "code": a.code, "state": "raised", "value": a.value, "threshold": a.threshold });
            events.push(app.bus.record(&mut tx, tenant, "report.alert", audience, data, now).await?);
        }
    }
    for code in &changes.cleared {
        if store::reports::live::clear_alert(&mut *tx, tenant, code).await? {
            let since = before.get(code).copied().unwrap_or(now);
            let data = serde_json::json!({ "code": code, "state": "cleared", "active_ms": now - since });
            events.push(app.bus.record(&mut tx, tenant, "report.alert", audience, data, now).await?);
        }
    }
    tx.commit().await?;
    let n = events.len();
    app.bus.deliver(events);
    Ok(n)
}

/// Checks every active company (the job's body); a company that fails is logged and skipped.
pub async fn check_all(app: &App) -> anyhow::Result<usize> {
    let mut n = 0;
    for t in store::tenants::list(app.db.reader()).await?.into_iter().filter(|t| t.active && !t.is_platform) {
        match check(app, t.id).await {
            Ok(k) => n += k,
            Err(e) => tracing::warn!(tenant = t.id.0, error = %e, "checking the Painel alerts failed"),
        }
    }
    Ok(n)
}
