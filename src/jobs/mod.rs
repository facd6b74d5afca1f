//! Durable jobs: the runner that claims, runs and settles them, and the periodic scheduler.
//! One file per job kind; [`dispatch`] maps a kind to its code.
//!
//! A job's database effects should commit in the same transaction that marks it done
//! ([`crate::store::jobs::complete`] with the job's lease token): if the process dies before
//! that commit the lease expires, another worker runs the job again, and the effect still
//! happens exactly once.

pub mod audit_retention;
pub mod automation;
pub mod campaigns;
pub mod consent_reply;
pub mod csat_thanks;
pub mod diagnostic;
pub mod gateway_send;
pub mod mail;
pub mod maintenance;
pub mod reconnect;
pub mod report_alerts;
pub mod retention;
pub mod schedules;
pub mod sla;
pub mod tasks;
pub mod template_sync;
pub mod timed_rules;
pub mod webhooks;
pub mod whatsapp_media;
pub mod whatsapp_send;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::app::App;
use crate::domain::retry::backoff;
use crate::store::jobs::Job;

/// How a job run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (network, 5xx, timeouts).
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// Worth another try, but not before `delay` (the job knows better than the ladder, e.g. a
    /// provider asked to slow down for one recipient).
    #[error("{error:#}")]
    RetryAfter { error: anyhow::Error, delay: Duration },
    /// Will never succeed; the job goes straight to `dead`.
    #[error("{0}")]
    Permanent(String),
    /// Another worker took the job over (this run outlived its lease); nothing to record.
    #[error("lease lost")]
    LeaseLost,
    /// The process is shutting down and the run was stopped; its lease is released.
    #[error("interrupted by shutdown")]
    Interrupted,
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        JobError::Retry(e)
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retry(e.into())
    }
}

async fn dispatch(app: &App, job: &Job, shutdown: &watch::Receiver<bool>) -> Result<(), JobError> {
    use crate::domain::jobs::JobKind;
    match JobKind::parse(&job.kind) {
        Some(JobKind::Diagnostic) => diagnostic::run(app, job).await,
        Some(JobKind::Purge) => maintenance::run(app, job).await,
        Some(JobKind::Send) => whatsapp_send::run(app, job).await,
        Some(JobKind::MarkRead) => whatsapp_send::run_mark_read(app, job).await,
        Some(JobKind::FetchMedia) => whatsapp_media::run(app, job).await,
        Some(JobKind::DeliverWebhook) => webhooks::run(app, job).await,
        Some(JobKind::Reconnect) => reconnect::run(app, job).await,
        Some(JobKind::Automation) => automation::run(app, job, shutdown).await,
        Some(JobKind::TimedRules) => timed_rules::run(app, job).await,
        Some(JobKind::Wake) => automation::run_wake(app, job).await,
        Some(JobKind::CsatThanks) => csat_thanks::run(app, job).await,
        Some(JobKind::Mail) => mail::run(app, job).await,
        Some(JobKind::ConsentReply) => consent_reply::run(app, job).await,
        Some(JobKind::TemplateSync) => template_sync::run(app, job).await,
        Some(JobKind::ReportAlerts) => report_alerts::run(app, job).await,
        Some(JobKind::ReportsRebuild) => report_alerts::run_rebuild(app, job).await,
        Some(JobKind::Schedules) => schedules::run(app, job).await,
        Some(JobKind::Campaigns) => campaigns::run(app, job, shutdown).await,
        Some(JobKind::SlaScan) => sla::run(app, job).await,
        Some(JobKind::AuditRetention) => audit_retention::run(app, job).await,
        Some(JobKind::TaskReminders) => tasks::run(app, job).await,
        Some(JobKind::Retention) => retention::run(app, job).await,
        None => Err(JobError::Permanent(format!("unknown job kind {:?}", job.kind))),
    }
}

static CLAIMS: AtomicU64 = AtomicU64::new(0);

/// Runs `workers` job loops and the periodic scheduler until `shutdown` turns true; in-flight
/// jobs get the grace period, then their leases are released for another instance.
pub fn spawn(app: Arc<App>, workers: usize, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles: Vec<JoinHandle<()>> =
        (0..workers).map(|_| tokio::spawn(worker(app.clone(), shutdown.clone()))).collect();
    if workers > 0 {
        handles.push(tokio::spawn(webhooks::dispatcher(app.clone(), shutdown.clone())));
        handles.push(tokio::spawn(maintenance::scheduler(app, shutdown)));
    }
    handles
}

async fn worker(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let lease_ms = (app.settings.job_lease_secs * 1000) as i64;
    while !*shutdown.borrow() {
        let token = format!("{}:{}", app.instance_id, CLAIMS.fetch_add(1, Ordering::Relaxed));
        // One job per claim: a batch would wait its turn on a lease nobody renews.
        let claimed = crate::store::jobs::claim(&app.db, 1, app.clock.now_ms(), lease_clock(), lease_ms, &token).await;
        match claimed {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    run_one(&app, job, &shutdown).await;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "claiming jobs failed"),
        }
        tokio::select! {
            _ = app.jobs_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn run_one(app: &App, job: Job, shutdown: &watch::Receiver<bool>) {
    let now = app.clock.now_ms();
    if job.attempts > job.max_attempts {
        // Its earlier runs all died mid-way (leases expired): stop rather than loop forever.
        let _ = crate::store::jobs::fail(
            app.db.writer(),
            job.id,
            &job.lease_token,
            "lease expired on every attempt",
            None,
            now,
        )
        .await;
        app.metrics.jobs_dead.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let span = tracing::info_span!("job", job.id = job.id.0, job.kind = %job.kind, job.attempt = job.attempts);
    let started = std::time::Instant::now();
    let result = run_with_lease_renewal(app, &job, shutdown).instrument(span).await;
    let now = app.clock.now_ms();
    let outcome = match result {
        Ok(()) => {
            // Handlers that commit effects mark the job done themselves; this is a no-op then.
            let _ = crate::store::jobs::complete(app.db.writer(), job.id, &job.lease_token, now).await;
            app.metrics.jobs_completed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "job done");
            return;
        }
        Err(JobError::LeaseLost) => {
            tracing::warn!("job outlived its lease; another worker owns it now");
            return;
        }
        Err(JobError::Interrupted) => return,
        Err(JobError::Permanent(msg)) => (msg, None),
        Err(JobError::Retry(e) | JobError::RetryAfter { error: e, .. }) if job.attempts >= job.max_attempts => {
            (format!("{e:#}"), None)
        }
        Err(JobError::RetryAfter { error, delay }) => (format!("{error:#}"), Some(now + delay.as_millis() as i64)),
        Err(JobError::Retry(e)) => {
            let delay = backoff(job.attempts as u32).as_millis() as i64;
            (format!("{e:#}"), Some(now + delay))
        }
    };
    let (error, retry_at) = outcome;
    if retry_at.is_some() {
        app.metrics.jobs_retried.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %error, "job failed; will retry");
    } else {
        app.metrics.jobs_dead.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %error, "job failed for good");
    }
    if let Err(e) = crate::store::jobs::fail(app.db.writer(), job.id, &job.lease_token, &error, retry_at, now).await {
        tracing::error!(error = %e, "recording a job failure failed; its lease will expire");
    }
}

/// Claims and runs, in this worker and right away, a job that the job now running has just
/// enqueued (a bot's reply): it does not wait behind the queue. Another worker that claimed it
/// first runs it instead. Boxed: it is reached from inside [`run_one`].
pub(crate) fn run_now<'a>(
    app: &'a App,
    tenant: crate::domain::TenantId,
    dedupe_key: String,
    shutdown: &'a watch::Receiver<bool>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let token = format!("{}:{}", app.instance_id, CLAIMS.fetch_add(1, Ordering::Relaxed));
        let lease_until = lease_clock() + (app.settings.job_lease_secs * 1000) as i64;
        let now = app.clock.now_ms();
        match crate::store::jobs::claim_key(&app.db, tenant, &dedupe_key, now, lease_until, &token).await {
            Ok(Some(job)) => run_one(app, job, shutdown).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claiming a follow-up job failed; a worker will run it"),
        }
    })
}

/// Real time in milliseconds, the clock of leases (see [`crate::store::jobs::claim`]): the
/// application's clock is moved forward by tests, and a lease read on it would expire under a
/// job that is still running.
fn lease_clock() -> i64 {
    crate::clock::now_ms()
}

/// Runs the job while extending its lease every third of the lease time, so a live worker keeps
/// a long job and only a dead worker's lease runs out.
///
/// On shutdown the run gets the grace period less a margin, then is dropped (as a crash would
/// end it): the process releases its leases right after the grace period, and a run still
/// going then would overlap with the instance that claims the released job.
async fn run_with_lease_renewal(app: &App, job: &Job, shutdown: &watch::Receiver<bool>) -> Result<(), JobError> {
    let lease_ms = (app.settings.job_lease_secs * 1000) as i64;
    let mut renew = tokio::time::interval(Duration::from_millis((lease_ms / 3).max(100) as u64));
    renew.tick().await; // the first tick is immediate; the claim just set the lease
    let grace = Duration::from_secs(app.settings.shutdown_grace_secs);
    let cut_off = grace.saturating_sub(Duration::from_millis(500).min(grace / 4));
    let mut stop = shutdown.clone();
    let stopping = async move {
        let _ = stop.wait_for(|stop| *stop).await;
        tokio::time::sleep(cut_off).await;
    };
    tokio::pin!(stopping);
    let run = dispatch(app, job, shutdown);
    tokio::pin!(run);
    // The renewal is a future of its own, polled beside the run, never awaited inside a branch:
    // awaiting it there would stop polling the run, and a run holding the (single SQLite)
    // writer connection would keep the renewal waiting for that very connection until the pool
    // gave up.
    let held = std::sync::atomic::AtomicBool::new(true);
    let renewing = async {
        loop {
            renew.tick().await;
            let until = lease_clock() + lease_ms;
            match crate::store::jobs::extend_lease(app.db.writer(), job.id, &job.lease_token, until).await {
                Ok(true) => {}
                Ok(false) => {
                    held.store(false, Ordering::Relaxed);
                    tracing::warn!("job lease was taken over while running");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "extending the job lease failed"),
            }
        }
    };
    tokio::pin!(renewing);
    let mut renewing_done = false;
    loop {
        tokio::select! {
            result = &mut run => {
                // Settling is fenced by the lease token anyway; this only keeps a run that was
                // taken over from being counted as completed.
                return if held.load(Ordering::Relaxed) { result } else { Err(JobError::LeaseLost) };
            }
            _ = &mut stopping => {
                tracing::warn!("shutdown grace period over; the job is interrupted and its lease released");
                return Err(JobError::Interrupted);
            }
            _ = &mut renewing, if !renewing_done => renewing_done = true,
        }
    }
}

/// Checks, just before a job does something it cannot take back (a send, a POST), that this
/// run still holds the job, and pushes the lease forward. False: another worker owns the job
/// now, and this run must stop without an effect.
pub async fn still_holds(app: &App, job: &Job) -> Result<bool, JobError> {
    let until = lease_clock() + (app.settings.job_lease_secs * 1000) as i64;
    Ok(crate::store::jobs::extend_lease(app.db.writer(), job.id, &job.lease_token, until).await?)
}

/// The same check inside the transaction that records a job's effects: the job row stays
/// locked until commit, so the effects of a run that lost its lease are never written.
pub async fn still_holds_in(app: &App, tx: &mut crate::store::Tx, job: &Job) -> Result<bool, JobError> {
    let until = lease_clock() + (app.settings.job_lease_secs * 1000) as i64;
    Ok(crate::store::jobs::extend_lease(&mut **tx, job.id, &job.lease_token, until).await?)
}

/// On shutdown: give back every lease this process still holds.
pub async fn release_leases(app: &App) {
    match crate::store::jobs::release_prefix(app.db.writer(), &format!("{}:", app.instance_id), app.clock.now_ms())
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(released = n, "released job leases"),
        Err(e) => tracing::warn!(error = %e, "releasing job leases failed; they will expire"),
    }
}
