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
