//! `atende bench …`: benchmark programs that print figures (never timed tests).
//!
//! `bench ingest` starts `atende serve` as a child process on a fresh data directory (SQLite, or
//! the PostgreSQL URL given), connects a WhatsApp number, and floods its webhook with signed
//! deliveries from the simulator's load generator at rising concurrency. For each step it prints
//! sustained messages/s, acknowledgement latency percentiles and the server's RSS, then checks
//! that every acknowledged message is stored.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

pub struct IngestBench {
    pub database_url: Option<String>,
    pub seconds: u64,
    pub concurrency: Vec<usize>,
    pub batch: usize,
    pub customers: usize,
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn command(dir: &Path, port: u16, database_url: &Option<String>) -> anyhow::Result<Command> {
    let mut c = Command::new(std::env::current_exe().context("locating the atende binary")?);
    c.env("ATENDE_DATA_DIR", dir)
        .env("ATENDE_LISTEN", format!("127.0.0.1:{port}"))
        .env("ATENDE_LOG_LEVEL", "warn")
        .env("ATENDE_JOB_WORKERS", "1")
        .env("ATENDE_DEMO", "true")
        .env_remove("ATENDE_CONFIG");
    match database_url {
        Some(url) => c.env("ATENDE_DATABASE_URL", url),
        None => c.env_remove("ATENDE_DATABASE_URL"),
    };
    Ok(c)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn admin_json(dir: &Path, port: u16, db: &Option<String>, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let out = command(dir, port, db)?.arg("admin").args(args).stderr(Stdio::inherit()).output()?;
    anyhow::ensure!(out.status.success(), "atende admin {} failed", args.join(" "));
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub async fn ingest(b: IngestBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let db = b.database_url.clone();
    let child = command(&dir, port, &db)?.arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn()?;
    let server = Server { child };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(ready, "the server did not become ready");
    let secret = crate::crypto::random_token(24);
    let phone_number_id = "100000000000009";
    let conn = admin_json(
        &dir,
        port,
        &db,
        &[
            "connection",
            "create",
            "--tenant",
            "demo",
            "--phone-number-id",
            phone_number_id,
            "--access-token",
            "bench",
            "--app-secret",
            &secret,
        ],
    )
    .await?;
    let connection_id = conn["id"].as_i64().context("connection id")?;
    let url = format!("{base}/hooks/whatsapp/{connection_id}");
    let engine = if db.is_some() { "postgres" } else { "sqlite" };
    println!(
        "ingest benchmark: {engine}, {} s per step, {} message(s) per delivery, {} customers, server pid {}",
        b.seconds,
        b.batch,
        b.customers,
        server.child.id()
    );
    println!(
        "{:>11} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "concurrency", "messages/s", "acked", "errors", "p50 ms", "p95 ms", "p99 ms", "RSS MB"
    );
    let mut acknowledged = 0u64;
    let mut results = Vec::new();
    for &concurrency in &b.concurrency {
        let mut cfg = wa_sim::LoadConfig::new(&url, &secret, phone_number_id);
        cfg.customers = b.customers;
        cfg.rate_per_sec = 0;
        cfg.duration = Duration::from_secs(b.seconds);
        cfg.concurrency = concurrency;
        cfg.messages_per_delivery = b.batch;
        let report = wa_sim::run_load(cfg).await?;
        let rss_mb = rss_kb(server.child.id()).unwrap_or(0) as f64 / 1024.0;
        acknowledged += report.messages_acknowledged;
        let errors: u64 = report.errors_by_status.values().sum();
        println!(
            "{concurrency:>11} {:>12.0} {:>10} {errors:>9} {:>9.2} {:>9.2} {:>9.2} {rss_mb:>9.1}",
            report.achieved_msgs_per_sec,
            report.messages_acknowledged,
            report.latency.p50_ms,
            report.latency.p95_ms,
            report.latency.p99_ms
        );
        results.push(json!({ "concurrency": concurrency, "rss_mb": rss_mb, "report": report }));
    }
    let stats = admin_json(&dir, port, &db, &["stats", "--json"]).await?;
    let stored = stats["messages"]["in"]["received"].as_u64().unwrap_or(0);
    println!(
        "acknowledged {acknowledged} messages, stored {stored}: {}",
        if stored >= acknowledged { "every acknowledged message is stored" } else { "MISSING MESSAGES" }
    );
    println!("{}", json!({ "engine": engine, "steps": results, "acknowledged": acknowledged, "stored": stored }));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(stored >= acknowledged, "acknowledged messages are missing");
    Ok(())
}

pub struct OutboundBench {
    pub messages: usize,
    pub rate: u32,
    pub customers: usize,
    pub workers: usize,
}

/// `bench outbound`: queues `messages` text replies on a connection limited to `rate`/s, against
/// a simulator that answers 130429 to anything faster, and reports the achieved rate and any
/// rate-limit errors. The server runs in this process (the figure of interest is the pacing, not
/// memory); every send goes through the real job queue, Graph client and webhooks.
pub async fn outbound(b: OutboundBench) -> anyhow::Result<()> {
    use crate::actions::send::{send_message, SendRequest, SendTarget};
    use crate::domain::outbound::OutboundContent;
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let settings = crate::config::Settings {
        data_dir: dir.clone(),
        job_workers: b.workers,
        log_level: "warn".into(),
        ..crate::config::Settings::default()
    };
    let app = crate::app::App::build(settings).await?;
    crate::actions::bootstrap::first_run(&app).await.map_err(anyhow::Error::from)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::app::serve(app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let tenant = crate::actions::tenants::find_by_slug(&app, crate::actions::bootstrap::DEMO_SLUG)
        .await
        .map_err(anyhow::Error::from)?
        .id;
    let operator = crate::actions::Actor::Operator;
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        rate_per_sec: Some(b.rate),
        access_token: "bench-token".into(),
        app_secret: "bench-secret".into(),
        phone_number_id: "100000000000007".into(),
        status_delays_ms: (50, 200, u64::MAX),
        ..wa_sim::SimConfig::default()
    })
    .await?;
    let input = crate::actions::connections::CreateWhatsappCloud {
        name: "bench",
        phone_number_id: "100000000000007",
        waba_id: "",
        access_token: "bench-token",
        app_secret: "bench-secret",
        graph_url: Some(&sim.base_url()),
        api_version: None,
        rate_per_sec: Some(i64::from(b.rate)),
    };
    let conn = crate::actions::connections::create_whatsapp_cloud(&app, &operator, tenant, input)
        .await
        .map_err(anyhow::Error::from)?;
    sim.set_webhook_url(format!("http://{addr}/hooks/whatsapp/{}", conn.connection.id));
    // Customers write first: replies inside the 24-hour window. (The simulator fails numbers
    // ending in 0000 on purpose; these never do.)
    for n in 0..b.customers {
        let d = sim
            .customer_sends(
                &format!("{}", 5_511_975_550_001u64 + n as u64),
                "Cliente",
                wa_sim::CustomerMessage::Text("oi".into()),
            )
            .await?;
        anyhow::ensure!(d.status == 200, "the server refused a customer message ({})", d.status);
    }
    let tickets = crate::store::tickets::ids_for_connection(app.db.reader(), tenant, conn.connection.id).await?;
    anyhow::ensure!(tickets.len() == b.customers, "expected {} tickets, found {}", b.customers, tickets.len());
    println!(
        "outbound benchmark: {} messages at {}/s over {} customers, {} job workers",
        b.messages, b.rate, b.customers, b.workers
    );
    let queued_at = std::time::Instant::now();
    for i in 0..b.messages {
        let req = SendRequest {
            tenant,
            target: SendTarget::Ticket(tickets[i % tickets.len()]),
            content: OutboundContent::Text { body: format!("resposta {i}"), preview_url: false },
            reply_to: None,
            idempotency_key: None,
        };
        send_message(&app, &operator, req).await.map_err(anyhow::Error::from)?;
    }
    println!("queued {} messages in {:.1} s", b.messages, queued_at.elapsed().as_secs_f64());
    let deadline = std::time::Instant::now() + Duration::from_secs(b.messages as u64 / u64::from(b.rate.max(1)) + 120);
    let outcome = loop {
        let o = crate::store::messages::outbound_summary(app.db.reader(), tenant, conn.connection.id).await?;
        if o.queued == 0 || std::time::Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let span_s = (outcome.last_sent_at - outcome.first_sent_at) as f64 / 1000.0;
    // Every send the provider accepted used a slot, including those that failed later.
    let achieved = if span_s > 0.0 { (outcome.accepted as f64 - 1.0) / span_s } else { 0.0 };
    let retried = crate::store::jobs::count_retried(app.db.reader(), "whatsapp.send").await?;
    let rate_errors = crate::store::connections::get(app.db.reader(), tenant, conn.connection.id)
        .await?
        .and_then(|c| c.last_error)
        .is_some_and(|e| e.contains("130429"));
    println!(
        "sent {} (failed {}, still queued {}) in {span_s:.1} s: {achieved:.2} messages/s (target {}, deviation {:+.2} %); sends retried {retried}; 130429 seen: {rate_errors}",
        outcome.sent,
        outcome.failed,
        outcome.queued,
        b.rate,
        (achieved / f64::from(b.rate) - 1.0) * 100.0
    );
    for (reason, n) in crate::store::messages::failure_reasons(app.db.reader(), tenant, conn.connection.id).await? {
        println!("failed {n}: {reason}");
    }
    println!(
        "{}",
        json!({ "messages": b.messages, "rate": b.rate, "sent": outcome.sent, "failed": outcome.failed, "queued": outcome.queued,
        "seconds": span_s, "achieved_per_sec": achieved, "retried": retried, "rate_limit_errors": rate_errors })
    );
    let _ = stop.send(());
    let _ = server.await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
