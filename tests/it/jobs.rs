//! The durable job queue: the real worker running diagnostic jobs, the retry ladder and dead
//! letters, dedupe keys, transactional enqueue, leases (expiry, stale tokens, release on
//! shutdown), concurrent claims, stats and metrics.
//!
//! Tests that drive the queue by hand (`store::jobs::claim` …) use [`manual_queue_test!`], which
//! spawns the app without job workers so nothing races them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use atende::actions::{self, Actor};
use atende::domain::ids::JobId;
use atende::domain::TenantId;
use atende::store::jobs::{self, JobRow, NewJob};
use sqlx::Row;

use crate::engine_test;
use crate::support::{Engine, TestApp};

/// Like `engine_test!`, but the app runs no job workers (and so no maintenance scheduler).
macro_rules! manual_queue_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = super::spawn_without_workers(crate::support::Engine::Sqlite).await.expect("sqlite app");
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = super::spawn_without_workers(crate::support::Engine::Postgres).await else {
                    return;
                };
                ($body)(t).await;
            }
        }
    };
}

/// A test app with `job_workers = 0`; `None` (after a loud note) when PostgreSQL is not configured.
async fn spawn_without_workers(engine: Engine) -> Option<TestApp> {
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let base = crate::support::postgres_base_url()?;
            Some(crate::support::fresh_postgres_database(&base).await)
        }
    };
    Some(TestApp::spawn_with(engine, url, |s| s.job_workers = 0).await)
}

const WAIT: Duration = Duration::from_secs(15);

fn marker_payload(marker: &str, fail_message: Option<&str>) -> serde_json::Value {
    serde_json::json!({ "marker": marker, "fail_message": fail_message })
}

async fn enqueue_raw(
    t: &TestApp,
    tenant: TenantId,
    kind: &str,
    payload: &serde_json::Value,
    max_attempts: i64,
    dedupe_key: Option<&str>,
) -> Option<JobId> {
    let now = t.app.clock.now_ms();
    let job = NewJob { tenant_id: tenant, kind, payload, run_at: now, max_attempts, dedupe_key };
    let id = jobs::enqueue(t.app.db.writer(), job, now).await.expect("enqueue");
    t.app.jobs_wakeup.notify_one();
    id
}

/// A diagnostic job that the worker never runs (for tests that claim by hand).
async fn enqueue_marker_raw(t: &TestApp, tenant: TenantId, marker: &str) -> JobId {
    enqueue_raw(t, tenant, "diagnostic.marker", &marker_payload(marker, None), 5, None).await.expect("enqueued")
}

async fn job(t: &TestApp, id: JobId) -> JobRow {
    jobs::get(t.app.db.reader(), id).await.expect("get job").expect("job exists")
}

/// Polls the job until `done` says so; panics with the last seen row after [`WAIT`].
async fn wait_for(t: &TestApp, id: JobId, what: &str, done: impl Fn(&JobRow) -> bool) -> JobRow {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let row = job(t, id).await;
        if done(&row) {
            return row;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for job {id} to be {what}: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn lease_token_of(t: &TestApp, id: JobId) -> Option<String> {
    sqlx::query("SELECT lease_token FROM jobs WHERE id = $1")
        .bind(id.0)
        .fetch_one(t.app.db.reader())
        .await
        .expect("lease token")
        .try_get(0)
        .expect("lease token column")
}

/// The value of `atende_job_outcomes_total{outcome="…"}` on GET /metrics.
async fn outcome_metric(t: &TestApp, outcome: &str) -> u64 {
    let text = reqwest::get(t.url("/metrics")).await.unwrap().text().await.unwrap();
    let prefix = format!("atende_job_outcomes_total{{outcome=\"{outcome}\"}} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix} in {text}"));
    line[prefix.len()..].trim().parse().unwrap_or_else(|e| panic!("bad metric line {line:?}: {e}"))
}

/// Waits until the maintenance job the scheduler enqueues at start-up has run and been counted,
/// so that tests with a live worker see only their own jobs move.
async fn settle_startup_jobs(t: &TestApp) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // The scheduler's first round: this hour's purge, this minute's timed-rules pass, this
        // minute's Painel alert check, SLA scan and task reminder scan, and today's audit
        // retention pass, and this hour's conversation retention pass.
        let purged = t.count("jobs", "kind = 'maintenance.purge' AND state = 'done'").await;
        let timed = t.count("jobs", "kind = 'automation.timed' AND state = 'done'").await;
        let alerts = t.count("jobs", "kind = 'reports.alerts' AND state = 'done'").await;
        let sla = t.count("jobs", "kind = 'sla.scan' AND state = 'done'").await;
        let retention = t.count("jobs", "kind = 'audit.retention' AND state = 'done'").await;
        let reminders = t.count("jobs", "kind = 'tasks.remind' AND state = 'done'").await;
        let conversations = t.count("jobs", "kind = 'lgpd.retention' AND state = 'done'").await;
        let pending = t.count("jobs", "state IN ('queued', 'running')").await;
        let counted = t.app.metrics.jobs_completed.load(std::sync::atomic::Ordering::Relaxed);
        if purged == 1
            && timed == 1
            && alerts == 1
            && sla == 1
            && retention == 1
            && reminders == 1
            && conversations == 1
            && pending == 0
            && counted == 7
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "start-up jobs never settled: {purged} purge, {timed} timed pass, {alerts} alert check, {sla} SLA scan, {reminders} task reminder scan, {retention} audit retention and {conversations} conversation retention pass done, {pending} pending, {counted} counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_close(actual: i64, expected: i64, tolerance_ms: i64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance_ms,
        "{what}: {actual} is not within {tolerance_ms} ms of {expected}"
    );
}

engine_test!(a_diagnostic_job_run_by_the_worker_completes_and_audits_its_marker_once, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let id = actions::diagnostics::enqueue_marker(&t.app, &Actor::Operator, demo, "marker-7f3a", 0, None)
        .await
        .expect("enqueue marker");

    let row = wait_for(&t, id, "done", |j| j.state == "done").await;
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error, None);
    assert_eq!(t.count("audit_log", "action = 'diagnostic.ran' AND subject = 'marker-7f3a'").await, 1);
    assert_eq!(
        t.count("audit_log", &format!("action = 'diagnostic.ran' AND subject = 'marker-7f3a' AND tenant_id = {demo}"))
            .await,
        1,
        "the audit entry belongs to the job's tenant"
    );
    // The worker keeps running; the finished job must not run (and audit) again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(t.count("audit_log", "action = 'diagnostic.ran' AND subject = 'marker-7f3a'").await, 1);
    assert_eq!(job(&t, id).await.state, "done");
    t.stop().await;
});

engine_test!(a_failing_job_climbs_the_retry_ladder_then_is_kept_as_dead, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let payload = marker_payload("ladder", Some("upstream said no"));
    let id = enqueue_raw(&t, demo, "diagnostic.marker", &payload, 3, None).await.expect("enqueued");

    // First failure: retried at once (no back-off), so without moving the clock the second try
    // follows straight away; after it the job waits 30 s.
    let row = wait_for(&t, id, "failed twice", |j| j.attempts == 2 && j.state == "queued").await;
    let now = t.app.clock.now_ms();
    assert_close(row.run_at, now + 30_000, 5_000, "run_at after the second failure");
    assert_eq!(row.last_error.as_deref(), Some("upstream said no"));
    assert_eq!(outcome_metric(&t, "retried").await, 2);
    assert_eq!(t.count("audit_log", "action = 'diagnostic.ran' AND subject = 'ladder'").await, 0);

    // Not due yet: the worker (which polls every 500 ms) leaves it alone.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let row = job(&t, id).await;
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 2), "ran before its retry time: {row:?}");

    // Thirty seconds later the third and last try fails for good.
    t.app.clock.advance(Duration::from_secs(31));
    let row = wait_for(&t, id, "dead", |j| j.state == "dead").await;
    assert_eq!(row.attempts, 3);
    assert_eq!(row.max_attempts, 3);
    assert_eq!(row.last_error.as_deref(), Some("upstream said no"));
    assert_eq!(outcome_metric(&t, "dead").await, 1);
    assert_eq!(outcome_metric(&t, "retried").await, 2);

    // Dead jobs are kept for people to inspect, even by the purge of finished jobs.
    jobs::purge_done(t.app.db.writer(), i64::MAX).await.expect("purge");
    let row = job(&t, id).await;
    assert_eq!(row.state, "dead");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(job(&t, id).await.attempts, 3, "a dead job must not run again");
    t.stop().await;
});

engine_test!(a_job_of_an_unknown_kind_goes_straight_to_dead_naming_the_kind, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let id = enqueue_raw(&t, demo, "no.such.kind", &serde_json::json!({}), 5, None).await.expect("enqueued");

    let row = wait_for(&t, id, "dead", |j| j.state == "dead").await;
    assert_eq!(row.attempts, 1, "no retries for a permanent failure");
    let error = row.last_error.expect("an error is recorded");
    assert!(error.contains("no.such.kind"), "{error}");
    t.stop().await;
});

engine_test!(a_job_whose_lease_expired_on_every_attempt_is_declared_dead, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    settle_startup_jobs(&t).await;
    let now = t.app.clock.now_ms();
    let later = now + 60_000;
    let payload = marker_payload("crashy", None);
    // Due only in a minute, so the worker cannot take it before the "dead worker" below does.
    let job_in = NewJob {
        tenant_id: demo,
        kind: "diagnostic.marker",
        payload: &payload,
        run_at: later,
        max_attempts: 1,
        dedupe_key: None,
    };
    let id = jobs::enqueue(t.app.db.writer(), job_in, now).await.unwrap().unwrap();
    // Leases run on real time: the dead worker's runs out a second from now.
    let claimed = jobs::claim(&t.app.db, 10, later, atende::clock::now_ms(), 1_000, "dead-worker:1").await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);

    // The dead worker's lease runs out; the live worker takes the job over (attempt 2 of 1).
    let row = wait_for(&t, id, "dead", |j| j.state == "dead").await;
    assert_eq!(row.attempts, 2);
    assert_eq!(row.last_error.as_deref(), Some("lease expired on every attempt"));
    assert_eq!(t.count("audit_log", "action = 'diagnostic.ran' AND subject = 'crashy'").await, 0);
    t.stop().await;
});

manual_queue_test!(a_dedupe_key_allows_one_job_per_tenant, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let other = t.create_tenant("other").await;
    let payload = serde_json::json!({});

    let first = enqueue_raw(&t, demo, "diagnostic.marker", &payload, 3, Some("nightly:42")).await;
    let second = enqueue_raw(&t, demo, "diagnostic.marker", &payload, 3, Some("nightly:42")).await;
    assert!(first.is_some());
    assert_eq!(second, None);
    assert_eq!(t.count("jobs", &format!("dedupe_key = 'nightly:42' AND tenant_id = {demo}")).await, 1);

    let theirs = enqueue_raw(&t, other, "diagnostic.marker", &payload, 3, Some("nightly:42")).await;
    let theirs = theirs.expect("another tenant gets its own job");
    assert_ne!(Some(theirs), first);
    assert_eq!(job(&t, theirs).await.tenant_id, other);
    assert_eq!(t.count("jobs", "dedupe_key = 'nightly:42'").await, 2);

    // Jobs without a key are never deduplicated.
    assert!(enqueue_raw(&t, demo, "diagnostic.marker", &payload, 3, None).await.is_some());
    assert!(enqueue_raw(&t, demo, "diagnostic.marker", &payload, 3, None).await.is_some());
    assert_eq!(t.count("jobs", "dedupe_key IS NULL").await, 2);
    t.stop().await;
});

manual_queue_test!(a_job_enqueued_in_a_rolled_back_transaction_never_exists, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let payload = marker_payload("rolled-back", None);
    let now = t.app.clock.now_ms();
    let new_job = || NewJob {
        tenant_id: demo,
        kind: "diagnostic.marker",
        payload: &payload,
        run_at: now,
        max_attempts: 5,
        dedupe_key: Some("once"),
    };

    let mut tx = t.app.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut *tx, new_job(), now).await.unwrap().expect("enqueued in the transaction");
    assert!(jobs::get(&mut *tx, id).await.unwrap().is_some(), "visible inside its transaction");
    tx.rollback().await.unwrap();
    assert!(jobs::get(t.app.db.reader(), id).await.unwrap().is_none());

    // Dropping the transaction without committing rolls back too.
    {
        let mut tx = t.app.db.begin().await.unwrap();
        jobs::enqueue(&mut *tx, new_job(), now).await.unwrap().expect("enqueued in the transaction");
    }
    assert_eq!(t.count("jobs", "1 = 1").await, 0);
    assert!(jobs::claim(&t.app.db, 10, now + 1, now + 1, 1_000, "w:1").await.unwrap().is_empty());

    // Nor does the rolled-back job hold on to its dedupe key.
    let id = jobs::enqueue(t.app.db.writer(), new_job(), now).await.unwrap();
    assert!(id.is_some());
    assert_eq!(t.count("jobs", "1 = 1").await, 1);
    t.stop().await;
});

manual_queue_test!(an_expired_lease_lets_another_worker_reclaim_and_fences_the_old_one, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let id = enqueue_marker_raw(&t, demo, "lease").await;
    let now = t.app.clock.now_ms();

    let first = jobs::claim(&t.app.db, 1, now, now, 1_000, "dead-worker:1").await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].id, first[0].attempts), (id, 1));
    assert_eq!(first[0].lease_token, "dead-worker:1");
    assert_eq!(job(&t, id).await.state, "running");

    // Still leased half-way through.
    assert!(jobs::claim(&t.app.db, 1, now + 500, now + 500, 1_000, "worker-b:1").await.unwrap().is_empty());
    assert_eq!(lease_token_of(&t, id).await.as_deref(), Some("dead-worker:1"));

    // After the lease ran out, another worker takes it over.
    let second = jobs::claim(&t.app.db, 1, now + 1_500, now + 1_500, 1_000, "worker-b:2").await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].id, second[0].attempts), (id, 2));
    assert_eq!(second[0].lease_token, "worker-b:2");

    // The old worker, come back to life, can no longer settle the job; the new one can.
    assert!(!jobs::complete(t.app.db.writer(), id, "dead-worker:1", now + 1_600).await.unwrap());
    assert!(!jobs::fail(t.app.db.writer(), id, "dead-worker:1", "late", None, now + 1_600).await.unwrap());
    assert_eq!(job(&t, id).await.state, "running");
    assert!(jobs::complete(t.app.db.writer(), id, "worker-b:2", now + 1_700).await.unwrap());
    let row = job(&t, id).await;
    assert_eq!((row.state.as_str(), row.attempts), ("done", 2));
    assert_eq!(lease_token_of(&t, id).await, None);
    // A done job is not claimed again, however late.
    assert!(jobs::claim(&t.app.db, 1, now + 3_600_000, now + 3_600_000, 1_000, "worker-c:1").await.unwrap().is_empty());
    t.stop().await;
});

manual_queue_test!(
    releasing_a_prefix_requeues_only_that_instances_jobs_without_counting_the_try,
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        let mine = enqueue_marker_raw(&t, demo, "mine").await;
        let now = t.app.clock.now_ms();
        // A first, failed try, so "unchanged" means 1 and not merely 0.
        let tried = jobs::claim(&t.app.db, 1, now, now, 60_000, "inst-x:0").await.unwrap();
        assert_eq!(tried.len(), 1);
        assert!(jobs::fail(t.app.db.writer(), mine, "inst-x:0", "flaky", Some(now), now).await.unwrap());
        let before = job(&t, mine).await;
        assert_eq!((before.state.as_str(), before.attempts), ("queued", 1));

        let claimed = jobs::claim(&t.app.db, 1, now, now, 60_000, "inst-x:1").await.unwrap();
        assert_eq!(claimed.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), vec![(mine, 2)]);
        // Jobs of other instances, one with a name that merely starts the same way.
        let theirs = enqueue_marker_raw(&t, demo, "theirs").await;
        assert_eq!(
            jobs::claim(&t.app.db, 1, t.app.clock.now_ms(), t.app.clock.now_ms(), 60_000, "inst-xy:1").await.unwrap()
                [0]
            .id,
            theirs
        );
        let other = enqueue_marker_raw(&t, demo, "other").await;
        assert_eq!(
            jobs::claim(&t.app.db, 1, t.app.clock.now_ms(), t.app.clock.now_ms(), 60_000, "inst-y:1").await.unwrap()[0]
                .id,
            other
        );

        let released = jobs::release_prefix(t.app.db.writer(), "inst-x:", now + 10).await.unwrap();
        assert_eq!(released, 1);
        let row = job(&t, mine).await;
        assert_eq!((row.state.as_str(), row.attempts), ("queued", before.attempts));
        assert_eq!(lease_token_of(&t, mine).await, None);
        for id in [theirs, other] {
            assert_eq!(job(&t, id).await.state, "running", "job {id} of another instance was released");
        }
        // The released job is immediately claimable again, and the old lease cannot settle it.
        assert!(!jobs::complete(t.app.db.writer(), mine, "inst-x:1", now + 20).await.unwrap());
        let again = jobs::claim(&t.app.db, 5, now + 20, now + 20, 60_000, "inst-z:1").await.unwrap();
        assert_eq!(again.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), vec![(mine, 2)]);
        t.stop().await;
    }
);

manual_queue_test!(concurrent_workers_never_claim_the_same_job, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let mut enqueued = HashSet::new();
    for i in 0..50 {
        enqueued.insert(enqueue_marker_raw(&t, demo, &format!("m{i}")).await);
    }
    assert_eq!(enqueued.len(), 50);
    let now = t.app.clock.now_ms();

    let start = Arc::new(tokio::sync::Barrier::new(4));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = t.app.db.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut got = Vec::new();
            for round in 0.. {
                let token = format!("worker-{w}:{round}");
                let batch = jobs::claim(&db, 5, now, now, 60_000, &token).await.expect("claim");
                if batch.is_empty() {
                    break;
                }
                assert!(batch.len() <= 5);
                got.extend(batch.into_iter().map(|j| (j.id, j.attempts, j.lease_token)));
                tokio::task::yield_now().await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("worker task"));
    }

    let ids: HashSet<JobId> = all.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(all.len(), 50, "claims: {all:?}");
    assert_eq!(ids, enqueued);
    for (id, attempts, token) in &all {
        assert_eq!(*attempts, 1, "job {id} was claimed more than once");
        assert_eq!(lease_token_of(&t, *id).await.as_ref(), Some(token), "job {id}'s lease was taken over");
    }
    assert_eq!(t.count("jobs", "state = 'running'").await, 50);
    t.stop().await;
});

manual_queue_test!(stats_count_jobs_by_state, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    let now = t.app.clock.now_ms();
    let empty = atende::store::stats::collect(&t.app.db, now).await.unwrap();
    let zeros: Vec<(String, i64)> = ["dead", "done", "queued", "running"].iter().map(|s| (s.to_string(), 0)).collect();
    assert_eq!(empty.jobs.into_iter().collect::<Vec<_>>(), zeros);

    let ids: Vec<JobId> =
        enqueue_markers(&t, demo, &["done-1", "done-2", "dead-1", "running-1", "running-2", "running-3"]).await;
    let now = t.app.clock.now_ms();
    let claimed = jobs::claim(&t.app.db, 6, now, now, 60_000, "w:1").await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<HashSet<_>>(), ids.iter().copied().collect());
    assert!(jobs::complete(t.app.db.writer(), ids[0], "w:1", now).await.unwrap());
    assert!(jobs::complete(t.app.db.writer(), ids[1], "w:1", now).await.unwrap());
    assert!(jobs::fail(t.app.db.writer(), ids[2], "w:1", "boom", None, now).await.unwrap());
    for marker in ["queued-1", "queued-2", "queued-3", "queued-4"] {
        enqueue_marker_raw(&t, demo, marker).await;
    }

    let stats = atende::store::stats::collect(&t.app.db, now).await.unwrap();
    let expected: Vec<(String, i64)> =
        [("dead", 1), ("done", 2), ("queued", 4), ("running", 3)].iter().map(|(s, n)| (s.to_string(), *n)).collect();
    assert_eq!(stats.jobs.into_iter().collect::<Vec<_>>(), expected);
    t.stop().await;
});

/// Enqueues one diagnostic job per marker, in order.
async fn enqueue_markers(t: &TestApp, tenant: TenantId, markers: &[&str]) -> Vec<JobId> {
    let mut ids = Vec::new();
    for m in markers {
        ids.push(enqueue_marker_raw(t, tenant, m).await);
    }
    ids
}

engine_test!(metrics_count_a_completed_job, |t: TestApp| async move {
    let demo = t.demo_tenant().await;
    settle_startup_jobs(&t).await;
    let before = outcome_metric(&t, "completed").await;

    let id = actions::diagnostics::enqueue_marker(&t.app, &Actor::Operator, demo, "metered", 0, None).await.unwrap();
    wait_for(&t, id, "done", |j| j.state == "done").await;

    // The worker counts the outcome just after the job's transaction commits.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut after = outcome_metric(&t, "completed").await;
    while after == before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = outcome_metric(&t, "completed").await;
    }
    assert!(after >= 1);
    assert_eq!(after, before + 1);
    assert_eq!(outcome_metric(&t, "dead").await, 0);
    t.stop().await;
});
