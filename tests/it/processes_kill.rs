//! The real `atende` binary killed (SIGKILL) mid-way: a job, a webhook ingest, outbound sends —
//! each effect happens exactly once after a restart (helpers in `processes`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::processes::*;

// ---------------------------------------------------------------------------------------------
// 2. SIGKILL during a job: the job runs again and its effect happens exactly once
// ---------------------------------------------------------------------------------------------

async fn job_state(dir: &Path, database_url: Option<&str>, id: i64) -> serde_json::Value {
    admin(dir, database_url, &["job", "show", &id.to_string()]).await.json()
}

async fn wait_job_state(dir: &Path, database_url: Option<&str>, id: i64, state: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let job = job_state(dir, database_url, id).await;
        if job["state"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} not {state} within {timeout:?}: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn killed_job_runs_exactly_once(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database_url.as_deref();
    // The 3 s hold outlives the 2 s lease: the running worker must keep renewing it, or the
    // server's second worker would take the job over mid-run.
    let mut env = vec![("ATENDE_JOB_LEASE_SECS", "2".to_string()), ("ATENDE_JOB_WORKERS", "2".to_string())];
    if let Some(url) = db {
        env.push(("ATENDE_DATABASE_URL", url.to_string()));
    }
    let mut first = Server::start(dir.path(), &env);
    first.wait_ready().await;

    let enqueued =
        admin(dir.path(), db, &["job", "diagnostic", "--tenant", "demo", "--marker", "m1", "--hold-ms", "3000"])
            .await
            .json();
    let id = enqueued["job_id"].as_i64().unwrap_or_else(|| panic!("job id: {enqueued}"));
    wait_job_state(dir.path(), db, id, "running", Duration::from_secs(20)).await;
    first.signal("-KILL");
    let status = first.wait_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "SIGKILL: {status}");
    let job = job_state(dir.path(), db, id).await;
    assert_eq!(job["state"], "running", "the job must have been interrupted mid-run: {job}");
    drop(first);

    let mut second = Server::start(dir.path(), &env);
    second.wait_ready().await;
    wait_job_state(dir.path(), db, id, "done", Duration::from_secs(30)).await;
    let job = job_state(dir.path(), db, id).await;
    assert_eq!(job["attempts"], 2, "one interrupted try and one complete one: {job}");

    let url = database_url.unwrap_or_else(|| sqlite_url(dir.path()));
    let marks =
        count(&url, "SELECT COUNT(*) FROM audit_log WHERE action = 'diagnostic.ran' AND subject = $1", &["m1"]).await;
    assert_eq!(marks, 1, "the job's effect must happen exactly once");

    second.signal("-TERM");
    let status = second.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "SIGTERM after the job: {status}\nstderr: {}", second.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_is_killed_mid_run_completes_exactly_once_after_restart_on_sqlite() {
    killed_job_runs_exactly_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_is_killed_mid_run_completes_exactly_once_after_restart_on_postgres() {
    let Some(base) = crate::support::postgres_base_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&base).await;
    killed_job_runs_exactly_once(Some(url)).await;
}

// ---------------------------------------------------------------------------------------------
// 6. SIGKILL during a webhook ingest: every acknowledged message stored exactly once
// ---------------------------------------------------------------------------------------------

const INGEST_SECRET: &str = "ingest-kill-secret";

fn ingest_body(i: usize) -> String {
    serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
        "metadata":{"display_phone_number":"15550009","phone_number_id":"777000777"},
        "contacts":[{"profile":{"name":format!("Cliente {}", i % 50)},"wa_id":format!("55119{:08}", 80000000 + i % 50)}],
        "messages":[{"from":format!("55119{:08}", 80000000 + i % 50),"id":format!("wamid.KILL{i}"),"timestamp":"1700000000",
            "type":"text","text":{"body":format!("mensagem {i}")}}]}}]}]})
    .to_string()
}

/// Sends the given message indexes with `concurrency` requests in flight until stopped; records
/// each index whose delivery was acknowledged (2xx).
async fn send_until_stopped(
    url: String,
    indexes: Vec<usize>,
    acked: Arc<Mutex<std::collections::HashSet<usize>>>,
    concurrency: usize,
) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let queue = Arc::new(Mutex::new(indexes));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, acked, url) = (client.clone(), queue.clone(), acked.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(i) = queue.lock().expect("queue").pop() else { return };
                let body = ingest_body(i);
                let signature =
                    format!("sha256={}", atende::crypto::hmac_sha256_hex(INGEST_SECRET.as_bytes(), body.as_bytes()));
                match client.post(&url).header("X-Hub-Signature-256", signature).body(body).send().await {
                    Ok(r) if r.status().is_success() => {
                        acked.lock().expect("acked").insert(i);
                    }
                    // Refused or cut off: not acknowledged, so it may or may not be stored; it is
                    // sent again after the restart, as Meta would.
                    _ => return,
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_webhook_messages_survive_sigkill_exactly_once() {
    use rand::Rng;
    const TOTAL: usize = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = vec![("ATENDE_JOB_WORKERS", "1".to_string())];
    let mut server = Server::start(dir.path(), &env);
    server.wait_ready().await;
    let created = admin(
        dir.path(),
        None,
        &[
            "connection",
            "create",
            "--tenant",
            "demo",
            "--phone-number-id",
            "777000777",
            "--access-token",
            "t",
            "--app-secret",
            INGEST_SECRET,
        ],
    )
    .await
    .json();
    let connection = created["id"].as_i64().expect("connection id");
    let acked = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("kill timing seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for round in 0..4 {
        let pending: Vec<usize> = {
            let acked = acked.lock().expect("acked");
            (0..TOTAL).filter(|i| !acked.contains(i)).collect()
        };
        let url = server.url(&format!("/hooks/whatsapp/{connection}"));
        let sender = tokio::spawn(send_until_stopped(url, pending, acked.clone(), 32));
        if round < 3 {
            // Kill at a random moment while deliveries are in flight.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1500))).await;
            server.signal("-KILL");
            let _ = server.wait_exit(Duration::from_secs(10)).await;
            let _ = tokio::time::timeout(Duration::from_secs(20), sender).await;
            drop(server);
            server = Server::start(dir.path(), &env);
            server.wait_ready().await;
        } else {
            tokio::time::timeout(Duration::from_secs(300), sender).await.expect("last round finishes").expect("sender");
        }
    }
    let acked_now = acked.lock().expect("acked").len();
    assert_eq!(acked_now, TOTAL, "every message is acknowledged in the end");
    // Meta re-delivers acknowledged messages too: all no-ops.
    let again: Vec<usize> = (0..TOTAL).step_by(40).collect();
    send_until_stopped(server.url(&format!("/hooks/whatsapp/{connection}")), again, acked.clone(), 8).await;

    let url = sqlite_url(dir.path());
    let stored = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'in'", &[]).await;
    let distinct = count(&url, "SELECT COUNT(DISTINCT provider_id) FROM messages WHERE direction = 'in'", &[]).await;
    assert_eq!(distinct, TOTAL as i64, "every acknowledged message is stored");
    assert_eq!(stored, TOTAL as i64, "and stored once");
    let unread = count(&url, "SELECT CAST(SUM(unread_count) AS BIGINT) FROM tickets", &[]).await;
    assert_eq!(unread, TOTAL as i64, "ticket counters match the messages");
    server.signal("-TERM");
    let _ = server.wait_exit(Duration::from_secs(10)).await;
}

// ---------------------------------------------------------------------------------------------
// 7. SIGKILL during outbound sends: every queued send ends sent or failed, none twice after a
//    recorded success
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_sends_survive_sigkill_and_none_is_resent_after_its_recorded_success() {
    use rand::Rng;
    const SENDS: usize = 90;
    const CUSTOMERS: usize = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    // Short leases: the jobs a killed server held are taken over within seconds.
    let env = vec![
        ("ATENDE_DEMO", "false".to_string()),
        ("ATENDE_JOB_WORKERS", "4".to_string()),
        ("ATENDE_JOB_LEASE_SECS", "3".to_string()),
    ];
    let config = wa_sim::SimConfig {
        access_token: "kill-token".into(),
        app_secret: "kill-secret".into(),
        phone_number_id: "888000888".into(),
        rate_per_sec: Some(60),
        status_delays_ms: (0, u64::MAX, u64::MAX),
        ..wa_sim::SimConfig::default()
    };
    let (mut server, sim, connection) = acme_on_simulator(dir.path(), &env, config, "50").await;
    let customer = |n: usize| format!("{}", 5_511_966_660_001u64 + n as u64);
    for n in 0..CUSTOMERS {
        let d = sim
            .customer_sends(&customer(n), "Cliente", wa_sim::CustomerMessage::Text("oi".into()))
            .await
            .expect("customer");
        assert_eq!(d.status, 200);
    }
    // Queue every send through the command line (each one its own process and transaction).
    let conn_arg = connection.to_string();
    for i in 0..SENDS {
        let to = customer(i % CUSTOMERS);
        let text = format!("resposta {i}");
        admin(dir.path(), None, &["send", "--tenant", "acme", "--connection", &conn_arg, "--to", &to, "--text", &text])
            .await
            .json();
        // Kill the server twice while it is sending.
        if i == SENDS / 3 || i == 2 * SENDS / 3 {
            tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(50..400))).await;
            server.signal("-KILL");
            let _ = server.wait_exit(Duration::from_secs(10)).await;
            drop(server);
            server = Server::start(dir.path(), &env);
            server.wait_ready().await;
            sim.set_webhook_url(server.url(&format!("/hooks/whatsapp/{connection}")));
        }
    }
    let url = sqlite_url(dir.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'queued'", &[]).await > 0 {
        assert!(Instant::now() < deadline, "sends still queued after 120 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let outbound = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out'", &[]).await;
    assert_eq!(outbound, SENDS as i64, "every queued send is kept");
    let failed = count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'failed'", &[]).await;
    let sent =
        count(&url, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND provider_id IS NOT NULL", &[]).await;
    assert_eq!(sent + failed, SENDS as i64, "each send ends sent or failed");
    // What the provider received: each text at least once if it is recorded as sent; more than
    // once only for sends a kill interrupted between the provider's answer and our commit (at most
    // one per job worker per kill) — never a resend after the success was recorded.
    let received = sim.sent_messages();
    let mut times: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for m in &received {
        let body = m.request["text"]["body"].as_str().unwrap_or_default().to_string();
        *times.entry(body).or_default() += 1;
    }
    let resent: usize = times.values().map(|n| n.saturating_sub(1)).sum();
    assert!(resent <= 2 * 4, "at most one duplicate per worker per kill, got {resent}");
    for i in 0..SENDS {
        let recorded = count(
            &url,
            "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND body = $1 AND provider_id IS NOT NULL",
            &[&format!("resposta {i}")],
        )
        .await;
        if recorded == 1 {
            assert!(
                times.get(&format!("resposta {i}")).copied().unwrap_or(0) >= 1,
                "recorded as sent but never received: {i}"
            );
        }
    }
    server.signal("-TERM");
    let _ = server.wait_exit(Duration::from_secs(10)).await;
    sim.shutdown().await;
}
