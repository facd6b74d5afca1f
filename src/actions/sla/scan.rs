//! The once-a-minute SLA scan: times new tickets, retimes stale rows, resumes clocks the
//! customer restarted by writing, and raises near-breach and breach alerts once each.

use super::*;

/// Rows one scan step handles at most.
const SCAN_BATCH: i64 = 200;
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub new: usize,
    pub retimed: usize,
    pub resumed: usize,
    pub warnings: usize,
    pub breaches: usize,
}

/// Rounds of [`SCAN_BATCH`] rows one pass reads of new and of stale tickets at most (a policy
/// saved for a big company retimes its open tickets over a few passes).
const SCAN_ROUNDS: usize = 20;

/// One pass: rows for new tickets of companies with a policy, stale rows timed again, pauses
/// the customer ended, alerts due. Each step handles at most its budget; what is left waits
/// for the next pass (a minute later).
pub async fn scan(app: &App) -> anyhow::Result<ScanReport> {
    let now = app.clock.now_ms();
    let mut report = ScanReport::default();
    let mut inputs = TimingCache::default();
    // New tickets (closed ones too: they count in the compliance figures).
    for _ in 0..SCAN_ROUNDS {
        let found = store::sla::new_tickets(app.db.reader(), SCAN_BATCH).await?;
        let Some(last) = found.last().map(|n| n.id) else { break };
        let mut take = Vec::new();
        for n in &found {
            if !inputs.get(app, n.tenant).await?.0.is_empty() {
                take.push(n);
            }
        }
        let mut tx = app.db.begin().await?;
        store::sla::take_new(&mut tx, &take, last, now).await?;
        tx.commit().await?;
        report.new += take.len();
    }
    // Stale rows (new, reclassified by a chatbot, moved, a policy changed), a batch per commit.
    for _ in 0..SCAN_ROUNDS {
        let rows = store::sla::stale(app.db.reader(), SCAN_BATCH).await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = app.db.begin().await?;
        for mut s in rows {
            let tenant = TenantId(s.tenant_id);
            let Some(t) = store::tickets::get(app.db.reader(), tenant, s.ticket_id).await? else { continue };
            let (policies, clock) = inputs.get(app, tenant).await?;
            retime(&mut s, &t, matrix_for(policies, t.department_id).as_ref(), clock, now);
            store::sla::save(&mut *tx, &s, now).await?;
            report.retimed += 1;
        }
        tx.commit().await?;
    }
    // Pauses the customer ended by writing.
    for (mut s, wrote_at) in store::sla::answered_while_paused(app.db.reader(), SCAN_BATCH).await? {
        let tenant = TenantId(s.tenant_id);
        let Some(t) = store::tickets::get(app.db.reader(), tenant, s.ticket_id).await? else { continue };
        resume(app, &mut s, &t, wrote_at).await.map_err(anyhow_of)?;
        let mut tx = app.db.begin().await?;
        store::sla::save(&mut *tx, &s, now).await?;
        let e =
            TicketEvent { ticket_id: t.id, kind: "customer_answered".into(), data: "{}".into(), ..Default::default() };
        store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
        tx.commit().await?;
        report.resumed += 1;
    }
    store::sla::forget_closed_breaches(app.db.writer()).await?;
    // Alerts due.
    for mut s in store::sla::alerts_due(app.db.reader(), now, SCAN_BATCH).await? {
        let tenant = TenantId(s.tenant_id);
        let Some(t) = store::tickets::get(app.db.reader(), tenant, s.ticket_id).await? else { continue };
        let (warned, breached) = raise_alerts(app, &mut s, &t, now).await?;
        report.warnings += warned;
        report.breaches += breached;
    }
    Ok(report)
}

/// Each company's policies and business clock, read once per pass.
#[derive(Default)]
struct TimingCache(std::collections::HashMap<TenantId, (Vec<store::sla::Policy>, BusinessClock)>);

impl TimingCache {
    async fn get(&mut self, app: &App, tenant: TenantId) -> anyhow::Result<&(Vec<store::sla::Policy>, BusinessClock)> {
        Ok(match self.0.entry(tenant) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(timing_inputs(app, tenant).await.map_err(anyhow_of)?)
            }
        })
    }
}

fn anyhow_of(e: ActionError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Raises the alerts of a row that are due: one history line and one live event (which is
/// also the outgoing webhook) per alert; the row's next alert moves on.
async fn raise_alerts(app: &App, s: &mut TicketSla, t: &Ticket, now: i64) -> anyhow::Result<(usize, usize)> {
    let tenant = t.tenant_id;
    let seen = s.alerts;
    let mut due = Vec::new();
    if t.status != "closed" {
        if t.first_agent_reply_at.is_none() {
            due.push((RESPONSE_WARNED, "first_response", WARNING_EVENT, s.response_warn_at, s.response_due_at));
            due.push((RESPONSE_BREACHED, "first_response", BREACH_EVENT, s.response_due_at, s.response_due_at));
        }
        if s.paused_at.is_none() {
            due.push((RESOLUTION_WARNED, "resolution", WARNING_EVENT, s.resolution_warn_at, s.resolution_due_at));
            due.push((RESOLUTION_BREACHED, "resolution", BREACH_EVENT, s.resolution_due_at, s.resolution_due_at));
        }
    }
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    let (mut warned, mut breached) = (0, 0);
    for (bit, target, kind, at, due_at) in due {
        if s.alerts & bit != 0 || at.is_none_or(|a| a > now) {
            continue;
        }
        // A warning whose breach is also due goes unsaid: the breach says more.
        if bit == RESPONSE_WARNED || bit == RESOLUTION_WARNED {
            if due_at.is_some_and(|d| d <= now) {
                s.alerts |= bit;
                continue;
            }
            warned += 1;
        } else {
            breached += 1;
            s.breached_at = s.breached_at.or(Some(now));
        }
        s.alerts |= bit;
        let data = serde_json::json!({ "ticket_id": t.id, "target": target, "due_at": due_at,
            "assignee_id": t.assignee_id, "department_id": t.department_id });
        let history = if kind == BREACH_EVENT { "sla_breached" } else { "sla_warning" };
        let e = TicketEvent { ticket_id: t.id, kind: history.into(), data: data.to_string(), ..Default::default() };
        store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
        events.push(app.bus.record(&mut tx, tenant, kind, Audience::Tenant, data, now).await?);
    }
    s.next_alert_at = next_alert(s, t);
    if !store::sla::save_alerts(&mut tx, s, seen, now).await? {
        return Ok((0, 0)); // another scan raised them: this one's writes roll back
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok((warned, breached))
}
