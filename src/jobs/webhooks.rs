//! Outgoing webhooks in the background: the fan-out that turns live events into deliveries,
//! and the job that delivers one.
//!
//! The fan-out tails the `events` table after a stored bookmark, so inbound ingest does no
//! webhook work at all: it already records its events. Each pass reads the events after the
//! last one it saw, builds the payload of each (event, subscription) pair, and in ONE
//! transaction inserts the deliveries (unique per subscription, event and name), their jobs, and
//! the new bookmark. A crash before that commit loses nothing (the pass runs again from the
//! bookmark); a repeated pass duplicates nothing (the unique key).
//!
//! On PostgreSQL ids are drawn before commit, so an event can become visible after a higher
//! id: the ids skipped in a pass are remembered as gaps and looked for again for a minute
//! (rolled-back ids never appear and are then forgotten), and the bookmark stays below the
//! oldest open gap, so a restart looks at them again too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::JobError;
use crate::actions::webhooks as hooks;
use crate::app::App;
use crate::channels::webhook as http;
use crate::channels::webhook::signature_header;
use crate::domain::webhooks::{next_attempt_at, webhook_events};
use crate::domain::TenantId;
use crate::store::jobs::Job;
use crate::store::webhooks::{Attempt, EventRow, Subscription};
use crate::store::{self};

/// Events read per pass.
const PASS_EVENTS: i64 = 500;
/// How long a skipped id is looked for again (real time: it is about commit delays).
const GAP_PATIENCE_MS: i64 = 60_000;
/// A jump this large between two ids is not treated as uncommitted events (sequence caches
/// skip ids after a crash).
const MAX_GAP: i64 = 1000;

/// What the fan-out of this process remembers between passes.
#[derive(Debug, Default)]
pub struct DispatchState {
    started: bool,
    /// The highest event id read.
    scanned_to: i64,
    /// The bookmark as last stored.
    stored_cursor: i64,
    /// Skipped ids → when (real time, ms) they were first missed.
    gaps: BTreeMap<i64, i64>,
    /// No subscription exists anywhere: passes only follow the end of the log, once a second.
    idle: bool,
    /// When (real time, ms) the bookmark was last stored.
    stored_at: i64,
}

/// A bookmark that moved without new deliveries is stored at most this often: a restart
/// re-reads at most this much of the log (harmlessly), and the single SQLite writer is spared
/// a write per pass while ingest is busy.
const CURSOR_WRITE_INTERVAL_MS: i64 = 5_000;

/// Runs the fan-out until shutdown: after events are published here (bus) or once a second.
pub async fn dispatcher(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let mut live = app.bus.subscribe();
    let mut state = DispatchState::default();
    while !*shutdown.borrow() {
        match fan_out(&app, &mut state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "webhook fan-out failed; retrying"),
        }
        tokio::select! {
            _ = live.recv(), if !state.idle => {
                // Let a burst of events gather into one pass.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while live.try_recv().is_ok() {}
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

struct Planned {
    tenant: TenantId,
    subscription_id: i64,
    event_id: i64,
    event: &'static str,
    event_at: i64,
    data: Arc<serde_json::Value>,
}

/// One fan-out pass; true when more events are waiting.
pub async fn fan_out(app: &App, state: &mut DispatchState) -> anyhow::Result<bool> {
    let db = &app.db;
    let now = app.clock.now_ms();
    if !state.started {
        state.scanned_to = store::webhooks::read_cursor(db.reader()).await?;
        state.stored_cursor = state.scanned_to;
        state.started = true;
    }
    let subscriptions = store::webhooks::active_subscriptions(db.reader()).await?;
    let real_now = crate::clock::now_ms();
    state.idle = subscriptions.is_empty();
    if state.idle {
        // Nobody listens: skip to the end (a new subscription only wants later events).
        let max = store::webhooks::max_event_id(db.reader()).await?;
        state.gaps.clear();
        state.scanned_to = state.scanned_to.max(max);
        if state.scanned_to > state.stored_cursor && real_now - state.stored_at >= CURSOR_WRITE_INTERVAL_MS {
            store::webhooks::advance_cursor(db.writer(), state.scanned_to, now).await?;
            state.stored_cursor = state.scanned_to;
            state.stored_at = real_now;
        }
        return Ok(false);
    }
    let mut by_tenant: HashMap<TenantId, Vec<&Subscription>> = HashMap::new();
    for s in &subscriptions {
        by_tenant.entry(s.tenant_id).or_default().push(s);
    }

    let fresh = store::webhooks::events_after(db.reader(), state.scanned_to, PASS_EVENTS).await?;
    let gap_ids: Vec<i64> = state.gaps.keys().copied().take(1000).collect();
    let late = store::webhooks::events_with_ids(db.reader(), &gap_ids).await?;

    // Gaps: ids skipped in this read, minus those that showed up, minus those waited on enough.
    let mut gaps = state.gaps.clone();
    let mut prev = state.scanned_to;
    for e in &fresh {
        if e.id > prev + 1 && e.id - prev <= MAX_GAP {
            for missing in prev + 1..e.id {
                gaps.insert(missing, real_now);
            }
        }
        prev = prev.max(e.id);
    }
    for e in &late {
        gaps.remove(&e.id);
    }
    gaps.retain(|_, seen| real_now - *seen < GAP_PATIENCE_MS);
    let scanned_to = prev;

    let mut planned = Vec::new();
    for e in late.iter().chain(fresh.iter()) {
        plan(app, e, &by_tenant, &mut planned).await?;
    }
    let mut slugs: HashMap<TenantId, String> = HashMap::new();
    for p in &planned {
        if let std::collections::hash_map::Entry::Vacant(slot) = slugs.entry(p.tenant) {
            slot.insert(store::tenants::get(db.reader(), p.tenant).await?.map(|t| t.slug).unwrap_or_default());
        }
    }

    let cursor = gaps.keys().next().map(|g| g - 1).unwrap_or(scanned_to).max(state.stored_cursor);
    let cursor_due = cursor > state.stored_cursor && real_now - state.stored_at >= CURSOR_WRITE_INTERVAL_MS;
    if planned.is_empty() && !cursor_due {
        state.scanned_to = scanned_to;
        state.gaps = gaps;
        return Ok(fresh.len() as i64 == PASS_EVENTS);
    }
    let mut tx = db.begin().await?;
    // PostgreSQL: instances take turns (the row stays locked until commit).
    store::webhooks::lock_cursor(&mut tx, db.backend).await?;
    let mut created = 0;
    for p in &planned {
        let slug = slugs.get(&p.tenant).map(String::as_str).unwrap_or_default();
        if hooks::create_delivery(
            &mut tx,
            p.tenant,
            slug,
            p.subscription_id,
            Some(p.event_id),
            p.event,
            p.event_at,
            &p.data,
            now,
        )
        .await?
        .is_some()
        {
            created += 1;
        }
    }
    store::webhooks::advance_cursor(&mut *tx, cursor, now).await?;
    tx.commit().await?;
    state.scanned_to = scanned_to;
    state.gaps = gaps;
    state.stored_cursor = cursor;
    state.stored_at = real_now;
    if created > 0 {
        app.jobs_wakeup.notify_waiters();
        tracing::debug!(deliveries = created, "webhook deliveries queued");
    }
    Ok(fresh.len() as i64 == PASS_EVENTS)
}

/// The deliveries one event makes: one per subscription of its tenant that asks for it (and
/// existed when it happened).
async fn plan(
    app: &App,
    e: &EventRow,
    by_tenant: &HashMap<TenantId, Vec<&Subscription>>,
    out: &mut Vec<Planned>,
) -> anyhow::Result<()> {
    let Some(subs) = by_tenant.get(&e.tenant_id) else { return Ok(()) };
    let raw: serde_json::Value = serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null);
    let mut data: Option<Arc<serde_json::Value>> = None;
    for event in webhook_events(&e.kind, &raw) {
        for s in subs.iter().filter(|s| s.wants(event) && s.created_at <= e.created_at) {
            let data = match &data {
                Some(d) => d.clone(),
                None => {
                    let d = Arc::new(hooks::event_data(app, e.tenant_id, &e.kind, &e.data).await?);
                    data = Some(d.clone());
                    d
                }
            };
            out.push(Planned {
                tenant: e.tenant_id,
                subscription_id: s.id,
                event_id: e.id,
                event,
                event_at: e.created_at,
                data,
            });
        }
    }
    Ok(())
}

/// Delivers one webhook: one try, recorded with its outcome; on failure the next try is
/// scheduled by the webhook ladder (at once, 30 s, then doubling up to an hour, for 24 h from
/// the first try of the window), after which the delivery is a dead letter.
pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let tenant = job.tenant_id;
    let Some(id) = job.payload.get("delivery_id").and_then(|v| v.as_i64()) else {
        return Err(JobError::Permanent("webhook job without a delivery id".into()));
    };
    let Some(d) = store::webhooks::get_delivery(app.db.writer(), tenant, id).await? else {
        return Ok(());
    };
    // A replay handed the delivery to another job, or it is settled already.
    if d.job_id != Some(job.id.0) || !matches!(d.state.as_str(), "pending" | "retrying") {
        return Ok(());
    }
    let now = app.clock.now_ms();
    let subscription = store::webhooks::get_subscription(app.db.reader(), tenant, d.subscription_id).await?;
    let subscription = match subscription {
        Some(s) if s.active => s,
        Some(_) => {
            store::webhooks::cancel_delivery(app.db.writer(), tenant, id, "the subscription is paused", now).await?;
            return Ok(());
        }
        None => {
            store::webhooks::cancel_delivery(app.db.writer(), tenant, id, "the subscription was deleted", now).await?;
            return Ok(());
        }
    };
    let secret = match app.master_key.open(&subscription.secret_sealed) {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the signing secret cannot be opened: {e:#}");
            store::webhooks::cancel_delivery(app.db.writer(), tenant, id, &reason, now).await?;
            return Ok(());
        }
    };
    let allow_private = crate::actions::webhooks::private_networks_allowed(app, tenant).await?;
    // A run that stalled past its lease (another worker runs the job now) must not POST too.
    if !super::still_holds(app, job).await? {
        return Err(JobError::LeaseLost);
    }
    let started = app.clock.now_ms();
    let signature = signature_header(secret.expose(), started.div_euclid(1000), &d.body);
    let outcome = http::post(http::Request {
        url: &subscription.url,
        body: &d.body,
        delivery_id: d.id,
        event: &d.event,
        signature: &signature,
        allow_private,
    })
    .await;
    let now = app.clock.now_ms();
    let window_start = d.window_started_at.unwrap_or(started);
    let failed_in_window = (d.window_attempts + 1).clamp(0, u32::MAX as i64) as u32;
    let (state, next) = if outcome.delivered {
        ("delivered", None)
    } else {
        match next_attempt_at(window_start, failed_in_window, now) {
            Some(at) => ("retrying", Some(at)),
            None => ("dead", None),
        }
    };
    let attempt = Attempt {
        // Numbered by the database when recorded (a number read before the POST could repeat).
        attempt: 0,
        started_at: started,
        outcome: if outcome.delivered { "delivered" } else { "failed" }.into(),
        status_code: outcome.status_code,
        latency_ms: outcome.latency_ms,
        error: outcome.error.clone(),
        response_excerpt: outcome.response_excerpt.clone(),
    };
    let mut tx = app.db.begin().await?;
    // Fenced by the lease: if another worker took the job over while this POST was out, its
    // run owns the delivery's state and this one records nothing (the receiver de-duplicates
    // by delivery id).
    if !super::still_holds_in(app, &mut tx, job).await? {
        return Err(JobError::LeaseLost);
    }
    if !store::webhooks::record_attempt(&mut tx, tenant, id, job.id.0, &attempt, state, window_start, next, now).await?
    {
        return Ok(());
    }
    if outcome.delivered {
        store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await?;
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    let error = outcome.error.unwrap_or_default();
    match (state, next) {
        ("retrying", Some(at)) => Err(JobError::RetryAfter {
            error: anyhow::anyhow!("webhook delivery failed: {error}"),
            delay: Duration::from_millis((at - now).max(0) as u64),
        }),
        ("dead", _) => Err(JobError::Permanent(format!("webhook dead-lettered after 24 h of retries: {error}"))),
        _ => Ok(()),
    }
}
