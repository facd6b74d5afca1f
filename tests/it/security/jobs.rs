//! Finding 9: a job must never run twice at once — not when two processes claim from one
//! PostgreSQL queue, not when a run outlives its lease while its worker renews it (under a test
//! clock that jumps hours ahead), and a run that did lose its lease can neither act nor settle.

use std::time::{Duration, Instant};

use atende::domain::TenantId;
use atende::jobs::JobError;
use atende::store::jobs::{self, NewJob};
use atende::store::webhooks::NewSubscription;
use sqlx::Row;

use crate::processes::{count, Server};
use crate::support::{Engine, TestApp};

/// A test app with settings tweaks; `None` (after the loud note) when PostgreSQL is asked for
/// but not configured.
async fn spawn(engine: Engine, tweak: impl FnOnce(&mut atende::config::Settings)) -> Option<TestApp> {
    let url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(crate::support::fresh_postgres_database(&crate::support::postgres_base_url()?).await),
    };
    Some(TestApp::spawn_with(engine, url, tweak).await)
}

/// Runs `$body` on both engines with the given settings tweak (like `engine_test!`).
macro_rules! tweaked_engine_test {
    ($name:ident, $tweak:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = super::spawn(Engine::Sqlite, $tweak).await.expect("sqlite app");
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = super::spawn(Engine::Postgres, $tweak).await else { return };
                ($body)(t).await;
            }
        }
    };
}

async fn enqueue_marker(t: &TestApp, tenant: TenantId, payload: serde_json::Value) -> atende::domain::ids::JobId {
    let now = t.app.clock.now_ms();
    let job = NewJob {
        tenant_id: tenant,
        kind: "diagnostic.marker",
        payload: &payload,
        run_at: now,
        max_attempts: 5,
        dedupe_key: None,
    };
    let id = jobs::enqueue(t.app.db.writer(), job, now).await.expect("enqueue").expect("no dedupe key");
    t.app.jobs_wakeup.notify_waiters();
    id
}

tweaked_engine_test!(
    a_job_outliving_its_lease_is_not_run_again_while_its_worker_extends_the_lease,
    |s: &mut atende::config::Settings| {
        // Two workers: the idle one is the one that would take the job over.
        s.job_workers = 2;
        s.job_lease_secs = 1;
    },
    |t: TestApp| async move {
        let demo = t.demo_tenant().await;
        // Three times the lease, so it lives only through the running worker's renewals.
        let payload = serde_json::json!({ "marker": "long-run", "hold_ms": 3_000, "trace_tries": true });
        let id = enqueue_marker(&t, demo, payload).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while t.count("audit_log", "action = 'diagnostic.tried' AND subject = 'long-run'").await == 0 {
            assert!(Instant::now() < deadline, "the job never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // While it runs, the application's clock jumps ten minutes at a time (as retry and
        // expiry tests move it), and the idle worker is woken each time.
        for _ in 0..4 {
            t.app.clock.advance(Duration::from_secs(600));
            t.app.jobs_wakeup.notify_waiters();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let row = loop {
            let row = jobs::get(t.app.db.reader(), id).await.unwrap().unwrap();
            if row.state == "done" {
                break row;
            }
            assert!(Instant::now() < deadline, "the job never finished: {row:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(row.attempts, 1, "the job was claimed again while its first run was going: {row:?}");
        assert_eq!(t.count("audit_log", "action = 'diagnostic.tried' AND subject = 'long-run'").await, 1, "runs");
        assert_eq!(t.count("audit_log", "action = 'diagnostic.ran' AND subject = 'long-run'").await, 1);
        t.stop().await;
    }
);

tweaked_engine_test!(
    a_stale_run_cannot_settle_a_job_claimed_again,
    |s: &mut atende::config::Settings| s.job_workers = 0,
    |t: TestApp| async move {
        let tenant = t.demo_tenant().await;
        let now = t.app.clock.now_ms();
        // A webhook delivery and its job; the address is never reached (the run must stop
        // before it POSTs), and a documentation address would fail if it were.
        let sealed = t.app.master_key.seal("whsec_stale").unwrap();
        let events = vec!["contact.updated".to_string()];
        let subscription = NewSubscription {
            url: "http://192.0.2.1:9/hook",
            description: "stale",
            events: &events,
            secret_sealed: &sealed,
            active: true,
        };
        let sub =
            atende::store::webhooks::insert_subscription(t.app.db.writer(), tenant, subscription, now).await.unwrap();
        let mut tx = t.app.db.begin().await.unwrap();
        let data = serde_json::json!({});
        let delivery = atende::actions::webhooks::create_delivery(
            &mut tx,
            tenant,
            "demo",
            sub,
            None,
            "webhook.test",
            now,
            &data,
            now,
        )
        .await
        .unwrap()
        .expect("a new delivery");
        tx.commit().await.unwrap();

        // A worker claims the job and stalls past its lease; another takes the job over.
        let real = atende::clock::now_ms();
        let stale = jobs::claim(&t.app.db, 1, now, real - 120_000, 60_000, "stalled-worker:1").await.unwrap();
        assert_eq!(stale.len(), 1);
        let live = jobs::claim(&t.app.db, 1, now, real, 60_000, "live-worker:1").await.unwrap();
        assert_eq!(live.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), vec![(stale[0].id, 2)]);

        // The stalled run wakes up: it must neither POST, nor record a try, nor settle the job.
        let result = atende::jobs::webhooks::run(&t.app, &stale[0]).await;
        assert!(matches!(result, Err(JobError::LeaseLost)), "the stale run went on: {result:?}");
        let d = atende::store::webhooks::get_delivery(t.app.db.reader(), tenant, delivery).await.unwrap().unwrap();
        assert_eq!((d.state.as_str(), d.attempts, d.last_attempt_at), ("pending", 0, None), "{d:?}");
        assert_eq!(t.count("webhook_attempts", &format!("delivery_id = {delivery}")).await, 0);
        assert!(!jobs::complete(t.app.db.writer(), stale[0].id, "stalled-worker:1", now).await.unwrap());
        assert!(!jobs::fail(t.app.db.writer(), stale[0].id, "stalled-worker:1", "late", Some(now), now).await.unwrap());
        let token: Option<String> = sqlx::query("SELECT lease_token FROM jobs WHERE id = $1")
            .bind(stale[0].id.0)
            .fetch_one(t.app.db.reader())
            .await
            .unwrap()
            .get(0);
        assert_eq!(token.as_deref(), Some("live-worker:1"));
        assert_eq!(jobs::get(t.app.db.reader(), stale[0].id).await.unwrap().unwrap().state, "running");
        t.stop().await;
    }
);

/// Jobs in the two-process test: enough that both processes claim side by side for a while.
const JOBS: i64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_claiming_one_queue_run_each_of_5000_jobs_exactly_once() {
    let Some(base) = crate::support::postgres_base_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&base).await;
    let key = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    };
    let env =
        vec![("ATENDE_DATABASE_URL", url.clone()), ("ATENDE_MASTER_KEY", key), ("ATENDE_JOB_WORKERS", "4".to_string())];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Server::start(dir_a.path(), &env);
    let mut b = Server::start(dir_b.path(), &env);
    a.wait_ready().await;
    b.wait_ready().await;

    // One statement, so both processes find the whole queue at once. Each job records every
    // try as it starts (`trace_tries`), so a second run shows even where its effect would not.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let now = atende::clock::now_ms();
    sqlx::query(
        "INSERT INTO jobs (tenant_id, kind, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
         SELECT t.id, 'diagnostic.marker',
                '{\"marker\": \"q' || n || '\", \"trace_tries\": true}', 'queued', $1, 0, 5, $1, $1
         FROM generate_series(1, $2) AS n, tenants t WHERE t.slug = 'demo'",
    )
    .bind(now)
    .bind(JOBS)
    .execute(&pool)
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let done =
            count(&url, "SELECT COUNT(*) FROM jobs WHERE kind = 'diagnostic.marker' AND state = 'done'", &[]).await;
        if done == JOBS {
            break;
        }
        assert!(Instant::now() < deadline, "{done} of {JOBS} jobs done in time\nA: {}\nB: {}", a.stderr(), b.stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let claimed_again =
        count(&url, "SELECT COUNT(*) FROM jobs WHERE kind = 'diagnostic.marker' AND attempts <> 1", &[]).await;
    assert_eq!(claimed_again, 0, "jobs claimed more than once");
    let tries = count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = 'diagnostic.tried'", &[]).await;
    let twice = count(
        &url,
        "SELECT COUNT(*) FROM (SELECT subject FROM audit_log WHERE action = 'diagnostic.tried'
             GROUP BY subject HAVING COUNT(*) <> 1) AS x",
        &[],
    )
    .await;
    assert_eq!((tries, twice), (JOBS, 0), "every job runs exactly once");
    let ran = count(&url, "SELECT COUNT(DISTINCT subject) FROM audit_log WHERE action = 'diagnostic.ran'", &[]).await;
    let marks = count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = 'diagnostic.ran'", &[]).await;
    assert_eq!((ran, marks), (JOBS, JOBS), "every job's effect happens exactly once");
    // Both processes took part: the lease tokens of the tries start with two instance ids.
    let instances = count(
        &url,
        "SELECT COUNT(DISTINCT split_part(details::json->>'lease', ':', 1)) FROM audit_log
         WHERE action = 'diagnostic.tried'",
        &[],
    )
    .await;
    assert_eq!(instances, 2, "both processes claimed jobs");
    pool.close().await;

    a.signal("-TERM");
    b.signal("-TERM");
    assert!(a.wait_exit(Duration::from_secs(15)).await.success(), "A exits 0: {}", a.stderr());
    assert!(b.wait_exit(Duration::from_secs(15)).await.success(), "B exits 0: {}", b.stderr());
    crate::support::drop_postgres_database(&url).await;
}
