//! `atende bench bot`: the chatbot's reply latency and what a flow costs ingest (issue 13).
//!
//! A fresh app in this process (SQLite in a temporary directory, or the PostgreSQL URL given)
//! with the job workers `atende serve` runs by default, a Cloud API connection wired to the
//! WhatsApp simulator, and automation on: always open, no greeting, a menu of two departments.
//! Distinct new customers write a first message at a fixed rate, each one signed webhook
//! delivery over HTTP; for each, the time from the webhook's acknowledgement to the simulator
//! accepting the bot's Graph call to that customer is measured. Then the same load generator
//! `bench ingest` uses floods the webhook with automation off and on, alternately, and the
//! sustained rates are compared.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::actions::{self, Actor};
use crate::domain::hours::Calendar;
use crate::domain::TenantId;

pub struct BotBench {
    pub database_url: Option<String>,
    pub conversations: usize,
    pub rate: u32,
    /// Seconds after the last acknowledgement a reply may still come.
    pub timeout_secs: u64,
    /// Seconds per ingest step (0: no ingest comparison).
    pub ingest_seconds: u64,
    pub ingest_concurrency: usize,
    /// Pairs of steps (without, with a flow).
    pub ingest_rounds: usize,
}

const PHONE_NUMBER_ID: &str = "100000000000013";
const SECRET: &str = "bench-secret";
const TOKEN: &str = "bench-token";

/// Customer `i`'s number: distinct, never ending in 0000 (the simulator fails those on purpose).
fn customer_phone(i: usize) -> String {
    format!("5511{:09}", 900_000_001 + i as u64 * 10)
}

/// Nearest-rank percentile of sorted values.
fn at(sorted: &[f64], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

/// Switches automation on (always open, no greeting, the menu) or off (the flow kept).
async fn set_automation(app: &crate::app::App, tenant: TenantId, enabled: bool, flow: &str) -> anyhow::Result<()> {
    let input = actions::automation::AutomationInput {
        enabled,
        time_zone: "America/Sao_Paulo".into(),
        days: std::array::from_fn(|_| "00:00-24:00".to_string()),
        optional_holidays: Vec::new(),
        greeting: String::new(),
        away_message: String::new(),
        flow: flow.to_string(),
        urgent_words: String::new(),
        handoff_after: 0,
    };
    let mut a = actions::automation::save(app, &Actor::Operator, tenant, input).await?;
    // Open on national holidays too: a benchmark must not depend on the date it runs.
    a.calendar = serde_json::to_string(&Calendar::default())?;
    let mut tx = app.db.begin().await?;
    crate::store::automation::put(&mut *tx, tenant, &a, app.clock.now_ms()).await?;
    tx.commit().await?;
    anyhow::ensure!(
        !enabled || actions::automation::open_now(&a, None, app.clock.now_ms()),
        "the automation is not open now; the benchmark needs it open"
    );
    Ok(())
}

/// Automation and send jobs not finished yet.
async fn pending_bot_jobs(app: &crate::app::App) -> anyhow::Result<i64> {
    use sqlx::Row;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running') AND kind IN ($1, $2)")
        .bind(crate::domain::jobs::JobKind::Automation.as_str())
        .bind(crate::domain::jobs::JobKind::Send.as_str())
        .fetch_one(app.db.reader())
        .await?;
    Ok(row.try_get("n")?)
}

/// When the first business message to each WhatsApp number was queued (Unix ms).
async fn first_queued(app: &crate::app::App) -> anyhow::Result<HashMap<String, i64>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT c.wa_id AS wa_id, MIN(m.created_at) AS at FROM messages m JOIN tickets t ON t.id = m.ticket_id
         JOIN contacts c ON c.id = t.contact_id WHERE m.direction = 'out' AND c.wa_id IS NOT NULL GROUP BY c.wa_id",
    )
    .fetch_all(app.db.reader())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("wa_id")?, r.try_get("at")?))).collect()
}

/// Waits (at most `limit`) until no automation or send job is left; returns the seconds waited.
async fn drain(app: &crate::app::App, limit: Duration) -> anyhow::Result<(f64, i64)> {
    let started = Instant::now();
    loop {
        let left = pending_bot_jobs(app).await?;
        if left == 0 || started.elapsed() > limit {
            return Ok((started.elapsed().as_secs_f64(), left));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run(b: BotBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let mut settings = crate::config::Settings {
        data_dir: dir.clone(),
        database_url: b.database_url.clone().map(crate::config::Secret::new),
        log_level: "warn".into(),
        ..crate::config::Settings::default()
    };
    // The same override `atende serve` reads, so a run can try other worker counts.
    if let Some(n) = std::env::var("ATENDE_JOB_WORKERS").ok().and_then(|v| v.parse().ok()) {
        settings.job_workers = n;
    }
    let workers = settings.job_workers;
    let app = crate::app::App::build(settings).await?;
    let engine = app.db.backend.name();
    actions::bootstrap::first_run(&app).await?;
    let tenant = actions::tenants::find_by_slug(&app, actions::bootstrap::DEMO_SLUG).await?.id;
    let mut departments = Vec::new();
    for name in ["Vendas", "Suporte"] {
        let input = actions::departments::DepartmentInput {
            name: name.into(),
            colour: "#2563eb".into(),
            greeting: String::new(),
            sign_messages: false,
            distribution_mode: crate::domain::inbox::DistributionMode::Off,
        };
        let d = actions::departments::create_department(&app, &Actor::Operator, tenant, input).await?;
        departments.push((d.id, d.name));
    }
    let flow = serde_json::to_string(&crate::domain::flow::department_menu("Como podemos ajudar?", &departments))?;
    set_automation(&app, tenant, true, &flow).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    // Meta-like statuses for the bot's messages (sent, then delivered; nobody reads them).
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        access_token: TOKEN.into(),
        app_secret: SECRET.into(),
        phone_number_id: PHONE_NUMBER_ID.into(),
        status_delays_ms: (200, 800, u64::MAX),
        ..wa_sim::SimConfig::default()
    })
    .await?;
    let sim_url = sim.base_url();
    let input = actions::connections::CreateWhatsappCloud {
        name: "bench",
        phone_number_id: PHONE_NUMBER_ID,
        waba_id: "",
        access_token: TOKEN,
        app_secret: SECRET,
        graph_url: Some(&sim_url),
        api_version: None,
        // The highest send rate a connection may have (Meta's default of 80/s is below the
        // benchmark's 200 new conversations/s).
        rate_per_sec: Some(1000),
    };
    let conn = actions::connections::create_whatsapp_cloud(&app, &Actor::Operator, tenant, input).await?;
    let hook = format!("http://{addr}/hooks/whatsapp/{}", conn.connection.id);
    sim.set_webhook_url(hook.clone());
    let sim = Arc::new(sim);

    println!(
        "bot benchmark: {engine}, {} new conversations at {}/s, {workers} job workers, a menu of 2 departments, no greeting",
        b.conversations, b.rate
    );
    let cpu_before = super::cpu_secs("self");
    // Instants to the app's clock (Unix ms), to split the latency at the queued reply.
    let (anchor, anchor_ms) = (Instant::now(), app.clock.now_ms() as f64);
    let wall_ms = |i: Instant| anchor_ms + i.saturating_duration_since(anchor).as_secs_f64() * 1000.0;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(b.rate.max(1))));
    let mut sends = Vec::with_capacity(b.conversations);
    let first_send = Instant::now();
    for i in 0..b.conversations {
        ticker.tick().await;
        let sim = sim.clone();
        sends.push(tokio::spawn(async move {
            let phone = customer_phone(i);
            let sent = Instant::now();
            let d = sim.customer_sends(&phone, "Cliente", wa_sim::CustomerMessage::Text("oi".into())).await;
            (phone, sent, Instant::now(), d.map(|d| d.status))
        }));
    }
    let mut acked = Vec::with_capacity(b.conversations);
    let mut ack_ms = Vec::with_capacity(b.conversations);
    let mut last_send = first_send;
    for s in sends {
        let (phone, sent, at, status) = s.await?;
        let status = status.with_context(|| format!("delivering {phone}'s message"))?;
        anyhow::ensure!(status == 200, "the server answered {status} to {phone}'s message");
        last_send = last_send.max(sent);
        ack_ms.push((at - sent).as_secs_f64() * 1000.0);
        acked.push((phone, at));
    }
    let span = (last_send - first_send).as_secs_f64();
    let achieved = if span > 0.0 { (b.conversations as f64 - 1.0) / span } else { 0.0 };
    let last_ack = acked.iter().map(|(_, at)| *at).max().unwrap_or(last_send);
    let deadline = last_ack + Duration::from_secs(b.timeout_secs);
    // The first Graph call to each number (the simulator notes when it accepted it).
    let replies = loop {
        let mut first: HashMap<String, (Instant, String)> = HashMap::new();
        for m in sim.sent_messages() {
            first.entry(m.to).or_insert((m.received_at, m.message_type));
        }
        if acked.iter().all(|(p, _)| first.contains_key(p)) || Instant::now() > deadline {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let wall = first_send.elapsed().as_secs_f64();
    let cores = (super::cpu_secs("self") - cpu_before) / wall.max(1e-9);
    let queued = first_queued(&app).await?;
    let mut ms = Vec::with_capacity(acked.len());
    let (mut to_queue, mut to_graph) = (Vec::new(), Vec::new());
    let mut by_second: Vec<Vec<f64>> = Vec::new();
    let (mut missing, mut early, mut interactive) = (0usize, 0usize, 0usize);
    for (phone, at) in &acked {
        match replies.get(phone) {
            Some((received, kind)) => {
                if *received < *at {
                    early += 1; // the Graph call came before the client read the acknowledgement
                }
                interactive += usize::from(kind == "interactive");
                let latency = received.saturating_duration_since(*at).as_secs_f64() * 1000.0;
                ms.push(latency);
                let second = at.saturating_duration_since(first_send).as_secs() as usize;
                if by_second.len() <= second {
                    by_second.resize_with(second + 1, Vec::new);
                }
                by_second[second].push(latency);
                if let Some(q) = queued.get(phone) {
                    to_queue.push((*q as f64 - wall_ms(*at)).max(0.0));
                    to_graph.push((wall_ms(*received) - *q as f64).max(0.0));
                }
            }
            None => missing += 1,
        }
    }
    ms.sort_by(f64::total_cmp);
    to_queue.sort_by(f64::total_cmp);
    to_graph.sort_by(f64::total_cmp);
    let p50_by_second: Vec<String> = by_second
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            format!("{:.0}", at(v, 0.5))
        })
        .collect();
    ack_ms.sort_by(f64::total_cmp);
    let (p50, p90, p99, max) = (at(&ms, 0.50), at(&ms, 0.90), at(&ms, 0.99), at(&ms, 1.0));
    println!(
        "sent {} first messages in {span:.1} s: {achieved:.1} conversations/s (target {}); acknowledgement p50 / p99 {:.2} / {:.2} ms",
        acked.len(),
        b.rate,
        at(&ack_ms, 0.50),
        at(&ack_ms, 0.99)
    );
    println!(
        "bot reply latency (webhook acknowledged → Graph call), {} replies ({interactive} interactive): p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        ms.len()
    );
    println!(
        "  of which acknowledged → reply queued (automation job) p50 / p99 {:.1} / {:.1} ms, queued → Graph call (send job) p50 / p99 {:.1} / {:.1} ms (clock ms)",
        at(&to_queue, 0.5),
        at(&to_queue, 0.99),
        at(&to_graph, 0.5),
        at(&to_graph, 0.99)
    );
    println!("  p50 ms by second of sending: {}", p50_by_second.join(" "));
    println!(
        "no reply within {} s of the last acknowledgement: {missing}; replies before the acknowledgement was read: {early}; this process (server, job workers, simulator) used {cores:.2} cores",
        b.timeout_secs
    );
    let latency = json!({ "conversations": b.conversations, "rate": b.rate, "achieved_per_sec": achieved,
        "replies": ms.len(), "interactive": interactive, "missing": missing, "p50_ms": p50, "p90_ms": p90,
        "p99_ms": p99, "max_ms": max, "queue_p50_ms": at(&to_queue, 0.5), "queue_p99_ms": at(&to_queue, 0.99),
        "graph_p50_ms": at(&to_graph, 0.5), "graph_p99_ms": at(&to_graph, 0.99), "p50_ms_by_second": p50_by_second, "ack_p50_ms": at(&ack_ms, 0.50), "ack_p99_ms": at(&ack_ms, 0.99), "cores": cores });

    let mut steps = Vec::new();
    if missing == 0 && b.ingest_seconds > 0 {
        let (waited, left) = drain(&app, Duration::from_secs(60)).await?;
        anyhow::ensure!(left == 0, "{left} bot jobs still pending {waited:.0} s after the latency run");
        println!(
            "ingest comparison: {} s per step, concurrency {}, 1000 customers per step (new ones each step), automation off and on alternately",
            b.ingest_seconds, b.ingest_concurrency
        );
        let mut step = 0u64;
        for round in 0..b.ingest_rounds {
            for with_flow in [false, true] {
                set_automation(&app, tenant, with_flow, &flow).await?;
                step += 1;
                let mut cfg = wa_sim::LoadConfig::new(&hook, SECRET, PHONE_NUMBER_ID);
                cfg.customers = 1000;
                cfg.first_customer = 1_000_000 * step;
                cfg.rate_per_sec = 0;
                cfg.duration = Duration::from_secs(b.ingest_seconds);
                cfg.concurrency = b.ingest_concurrency;
                let graph_before = sim.sent_messages().len();
                let report = wa_sim::run_load(cfg).await?;
                let graph_calls = sim.sent_messages().len() - graph_before;
                let (drained, left) = drain(&app, Duration::from_secs(120)).await?;
                // The statuses of the last replies (sent, delivered) land before the next step.
                tokio::time::sleep(Duration::from_secs(2)).await;
                let errors: u64 = report.errors_by_status.values().sum();
                println!(
                    "round {} {:<12} {:>8.0} msg/s, acked {}, errors {errors}, ack p99 {:.2} ms; bot replies during the step {graph_calls}, bot jobs drained {drained:.1} s after it{}",
                    round + 1,
                    if with_flow { "with flow" } else { "without" },
                    report.achieved_msgs_per_sec,
                    report.messages_acknowledged,
                    report.latency.p99_ms,
                    if left > 0 { format!(" ({left} still pending)") } else { String::new() }
                );
                steps.push((with_flow, report.achieved_msgs_per_sec, drained, report));
            }
        }
        let mean = |flow: bool| {
            let v: Vec<f64> = steps.iter().filter(|s| s.0 == flow).map(|s| s.1).collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (with, without) = (mean(true), mean(false));
        println!(
            "ingest with a flow on every connection: {with:.0} msg/s, without: {without:.0} msg/s, ratio {:.1} %",
            with / without.max(1e-9) * 100.0
        );
    }
    let ingest: Vec<serde_json::Value> = steps
        .iter()
        .map(|(flow, rate, drained, report)| json!({ "with_flow": flow, "msgs_per_sec": rate, "drain_secs": drained, "report": report }))
        .collect();
    println!("{}", json!({ "engine": engine, "job_workers": workers, "latency": latency, "ingest": ingest }));
    let _ = stop.send(());
    let _ = server.await;
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    app.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        missing == 0,
        "{missing} of {} conversations got no bot reply within {} s",
        acked.len(),
        b.timeout_secs
    );
    Ok(())
}
