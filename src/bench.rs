//! `atende bench …`: benchmark programs that print figures (never timed tests).
//!
//! `bench ingest` starts `atende serve` as a child process on a fresh data directory (SQLite, or
//! the PostgreSQL URL given), connects a WhatsApp number, and floods its webhook with signed
//! deliveries from the simulator's load generator at rising concurrency. For each step it prints
//! sustained messages/s, acknowledgement latency percentiles and the server's RSS, then checks
//! that every acknowledged message is stored.

mod bot;
mod campaign;
pub mod command;
mod contacts;
mod presence;
mod reports;
pub use bot::{run as bot, BotBench};
pub use campaign::{run as campaign, CampaignBench};
pub use contacts::{run as contacts, ContactsBench};
pub use presence::{run as presence, PresenceBench};
pub use reports::{run as reports, ReportsBench};

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

/// CPU seconds (user + system) a process has used: `/proc/<pid>/stat` fields 14 and 15.
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports these in clock ticks of 1/100 s on every platform this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes a process caused to be written to storage (`/proc/<pid>/io` `write_bytes`).
fn written_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| io.lines().find_map(|l| l.strip_prefix("write_bytes:").map(|v| v.trim().to_string())))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
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
            // `=`: a random secret may start with `-`, which would read as an option.
            &format!("--app-secret={secret}"),
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
        "{:>11} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}",
        "concurrency",
        "messages/s",
        "acked",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "RSS MB",
        "server CPU",
        "loadgen CPU",
        "disk MB/s"
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
        let pid = server.child.id();
        let (server_cpu, bench_cpu, written) = (cpu_secs(&pid.to_string()), cpu_secs("self"), written_bytes(pid));
        let report = wa_sim::run_load(cfg).await?;
        let wall = report.elapsed_secs.max(1e-9);
        // Cores used on average over the step (2.0 = both cores of this machine busy).
        let server_cores = (cpu_secs(&pid.to_string()) - server_cpu) / wall;
        let loadgen_cores = (cpu_secs("self") - bench_cpu) / wall;
        let disk_mb_s = written_bytes(pid).saturating_sub(written) as f64 / wall / 1e6;
        let rss_mb = rss_kb(pid).unwrap_or(0) as f64 / 1024.0;
        acknowledged += report.messages_acknowledged;
        let errors: u64 = report.errors_by_status.values().sum();
        println!(
            "{concurrency:>11} {:>12.0} {:>10} {errors:>9} {:>9.2} {:>9.2} {:>9.2} {rss_mb:>9.1} {server_cores:>10.2} {loadgen_cores:>10.2} {disk_mb_s:>10.1}",
            report.achieved_msgs_per_sec,
            report.messages_acknowledged,
            report.latency.p50_ms,
            report.latency.p95_ms,
            report.latency.p99_ms
        );
        results.push(json!({ "concurrency": concurrency, "rss_mb": rss_mb, "server_cores": server_cores,
            "loadgen_cores": loadgen_cores, "disk_write_mb_per_s": disk_mb_s, "report": report }));
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
    let server = tokio::spawn(crate::server::serve(app.clone(), listener, async move {
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
            marketing: false,
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

pub struct InboxBench {
    pub database_url: Option<String>,
    pub tickets: i64,
    pub messages: i64,
    pub contacts: i64,
    pub samples: usize,
    pub seconds: u64,
    pub concurrency: usize,
    /// Seconds per request kind of the HTTP part (0: no HTTP part).
    pub http_seconds: u64,
    /// New waiting tickets per second in the HTTP inbound and background phases.
    pub new_tickets_per_sec: u64,
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64, usize) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    (at(0.50), at(0.95), at(0.99), ms.len())
}

fn timed_ms(started: std::time::Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// `bench inbox`: seeds a fresh database with `tickets` tickets and `messages` messages, then
/// times the inbox reads in-process (the actions the web pages and the API call, on the server's
/// own pools): list pages per tab for an agent and a supervisor, opening a ticket (ticket with
/// tags and history, then its newest messages), and list requests/s at `concurrency` clients.
pub async fn inbox(b: InboxBench) -> anyhow::Result<()> {
    use crate::actions::inbox::{get_ticket, list_messages, list_tickets};
    use crate::store::inbox::{Filter, Tab};
    const PAGE: i64 = 50;
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let settings = crate::config::Settings {
        data_dir: dir.clone(),
        database_url: b.database_url.clone().map(crate::config::Secret::new),
        job_workers: 1,
        demo: false,
        log_level: "warn".into(),
        db_max_connections: (b.concurrency as u32).max(16),
        ..crate::config::Settings::default()
    };
    let app = crate::app::App::build(settings).await?;
    // The platform tenant, as every install has: the periodic jobs (timed rules) belong to it.
    crate::actions::bootstrap::first_run(&app).await?;
    let engine = app.db.backend.name();
    let plan = crate::store::seed::Plan {
        tickets: b.tickets,
        messages: b.messages,
        contacts: b.contacts,
        departments: 5,
        agents: 20,
        now: app.clock.now_ms(),
    };
    println!(
        "inbox benchmark: {engine}, seeding {} tickets, {} messages, {} contacts, 5 departments, 20 agents + 1 supervisor",
        plan.tickets, plan.messages, plan.contacts
    );
    let started = std::time::Instant::now();
    let s = crate::store::seed::seed(&app.db, &plan).await?;
    let seed_s = started.elapsed().as_secs_f64();
    println!(
        "seeded in {seed_s:.1} s (contacts {:.1} s, tickets {:.1} s, messages {:.1} s: {:.0} messages/s)",
        s.contacts_seconds,
        s.tickets_seconds,
        s.messages_seconds,
        plan.messages as f64 / s.messages_seconds.max(1e-9)
    );
    let tenant = s.tenant;
    let started = std::time::Instant::now();
    let differ = crate::store::seed::verify(&app.db, tenant, plan.messages).await?;
    anyhow::ensure!(differ == 0, "{differ} seeded tickets have a last_message_at unlike their newest message");
    println!(
        "checked in {:.1} s: {} messages stored, every ticket's last_message_at is its newest message's",
        started.elapsed().as_secs_f64(),
        plan.messages
    );
    let mut agents = Vec::new();
    for id in &s.agents {
        let u =
            crate::store::users::get(app.db.reader(), tenant, crate::domain::UserId(*id)).await?.context("agent")?;
        agents.push(crate::actions::Actor::User(u));
    }
    let supervisor = crate::actions::Actor::User(
        crate::store::users::get(app.db.reader(), tenant, crate::domain::UserId(s.supervisor))
            .await?
            .context("supervisor")?,
    );
    let filter = Filter::default();
    let err = anyhow::Error::from;

    println!("{:<34} {:>7} {:>9} {:>9} {:>9}", "request (server time, in-process)", "n", "p50 ms", "p95 ms", "p99 ms");
    let mut rows = Vec::new();
    let mut report = |name: String, ms: Vec<f64>| {
        let (p50, p95, p99, n) = percentiles(ms);
        println!("{name:<34} {n:>7} {p50:>9.2} {p95:>9.2} {p99:>9.2}");
        rows.push(json!({ "request": name, "n": n, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99 }));
    };
    let scenarios: [(&str, Tab); 6] = [
        ("agent", Tab::Waiting),
        ("agent", Tab::Mine),
        ("agent", Tab::All),
        ("agent", Tab::Closed),
        ("supervisor", Tab::Waiting),
        ("supervisor", Tab::All),
    ];
    let mut visible: Vec<(Option<usize>, i64)> = Vec::new(); // (agent index, or None: the supervisor; ticket)
    for (who, tab) in scenarios {
        let (mut first, mut next) = (Vec::new(), Vec::new());
        for i in 0..b.samples {
            let ai = i % agents.len();
            let actor = if who == "agent" { &agents[ai] } else { &supervisor };
            let t = std::time::Instant::now();
            let mut page = list_tickets(&app, actor, tenant, tab, &filter, None, PAGE).await.map_err(err)?;
            first.push(timed_ms(t));
            if let Some(tk) = page.tickets.get(i % PAGE as usize) {
                visible.push((if who == "agent" { Some(ai) } else { None }, tk.id));
            }
            for _ in 0..3 {
                let Some(cursor) = page.next else { break };
                let t = std::time::Instant::now();
                page = list_tickets(&app, actor, tenant, tab, &filter, Some(cursor), PAGE).await.map_err(err)?;
                next.push(timed_ms(t));
            }
        }
        report(format!("list {who} {tab:?} first page"), first);
        report(format!("list {who} {tab:?} pages 2-4"), next);
    }
    let mut open = Vec::new();
    for &(ai, id) in visible.iter().take(b.samples * 6) {
        let actor = ai.map_or(&supervisor, |a| &agents[a]);
        let t = std::time::Instant::now();
        get_ticket(&app, actor, tenant, id).await.map_err(err)?;
        let (messages, _) = list_messages(&app, actor, tenant, id, None, PAGE).await.map_err(err)?;
        open.push(timed_ms(t));
        anyhow::ensure!(!messages.is_empty(), "ticket {id} has no messages");
    }
    report("open ticket (get + messages)".into(), open);

    // Throughput: `concurrency` clients each asking for first pages in a loop, rotating through
    // agent Waiting / agent Mine / supervisor All.
    let deadline = std::time::Instant::now() + Duration::from_secs(b.seconds);
    let agents = std::sync::Arc::new(agents);
    let supervisor = std::sync::Arc::new(supervisor);
    let mut tasks = Vec::new();
    for c in 0..b.concurrency {
        let (app, agents, supervisor) = (app.clone(), agents.clone(), supervisor.clone());
        tasks.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut i = c;
            while std::time::Instant::now() < deadline {
                let (actor, tab) = match i % 3 {
                    0 => (&agents[i % agents.len()], Tab::Waiting),
                    1 => (&agents[i % agents.len()], Tab::Mine),
                    _ => (&*supervisor, Tab::All),
                };
                let t = std::time::Instant::now();
                list_tickets(&app, actor, tenant, tab, &Filter::default(), None, PAGE).await.map_err(err)?;
                ms.push(timed_ms(t));
                i += 1;
            }
            anyhow::Ok(ms)
        }));
    }
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let rps = all.len() as f64 / started.elapsed().as_secs_f64();
    let (p50, p95, p99, n) = percentiles(all);
    println!(
        "throughput: {rps:.0} list requests/s at {} concurrent clients over {} s ({n} requests; p50 / p95 / p99 {p50:.2} / {p95:.2} / {p99:.2} ms)",
        b.concurrency, b.seconds
    );
    let http = if b.http_seconds > 0 {
        let plan = crate::bench_http::HttpPlan {
            seconds: b.http_seconds,
            mixed_seconds: b.seconds,
            concurrency: b.concurrency,
            new_tickets_per_sec: b.new_tickets_per_sec,
        };
        crate::bench_http::run(&app, &s, &visible, &plan).await?
    } else {
        serde_json::Value::Null
    };
    println!(
        "{}",
        json!({ "engine": engine, "tickets": plan.tickets, "messages": plan.messages, "contacts": plan.contacts,
        "seed_seconds": seed_s, "requests": rows, "throughput": { "concurrency": b.concurrency, "seconds": b.seconds,
        "requests_per_sec": rps, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99 }, "http": http })
    );
    app.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
