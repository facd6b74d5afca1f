//! `bench presence`: many people connected to the live stream at once — each with its own
//! session and `/events` stream over real HTTP, each sending a presence update (the user menu's
//! status post) every 30 s — while a group chat of 50 of them talks. Prints the server's
//! resident memory before and with the streams open, and how long a group message takes to reach
//! every member's stream (p50/p99/max), with the machine's load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::actions::Actor;
use crate::domain::UserId;

pub struct PresenceBench {
    pub database_url: Option<String>,
    pub agents: usize,
    pub group: usize,
    pub messages: usize,
    pub seconds: u64,
}

/// The process's resident set size in MB (Linux), or 0 where it cannot be read.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

/// When each member's stream saw each message: message id → arrivals.
type Arrivals = Arc<Mutex<HashMap<i64, Vec<Instant>>>>;

/// Reads one person's stream until the end, noting when each chat message arrives.
async fn follow(http: reqwest::Client, url: String, cookie: String, arrivals: Option<Arrivals>) -> anyhow::Result<()> {
    let mut res = http.get(url).header("cookie", cookie).send().await?.error_for_status()?;
    let mut pending = String::new();
    while let Some(chunk) = res.chunk().await? {
        let Some(arrivals) = &arrivals else { continue };
        pending.push_str(&String::from_utf8_lossy(&chunk));
        // Events end with a blank line; keep a partial one for the next chunk.
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if !event.contains("event: chat.message") {
                continue;
            }
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("{}");
            let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
            if let Some(id) = v.get("message_id").and_then(|m| m.as_i64()) {
                if let Ok(mut map) = arrivals.lock() {
                    map.entry(id).or_default().push(Instant::now());
                }
            }
        }
    }
    Ok(())
}

pub async fn run(b: PresenceBench) -> anyhow::Result<()> {
    anyhow::ensure!(b.group >= 2 && b.group <= b.agents, "the group needs 2 to {} people", b.agents);
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let settings = crate::config::Settings {
        data_dir: dir.clone(),
        database_url: b.database_url.clone().map(crate::config::Secret::new),
        job_workers: 1,
        demo: false,
        log_level: "warn".into(),
        ..crate::config::Settings::default()
    };
    let app = crate::app::App::build(settings).await?;
    crate::actions::bootstrap::first_run(&app).await?;
    let plan = crate::store::seed::Plan {
        tickets: 10,
        messages: 10,
        contacts: 10,
        departments: 5,
        agents: b.agents as i64,
        now: app.clock.now_ms(),
    };
    let s = crate::store::seed::seed(&app.db, &plan).await?;
    let mut cookies = Vec::with_capacity(s.agents.len());
    for a in &s.agents {
        cookies.push(crate::bench_http::session(&app, s.tenant, *a).await?);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "presence benchmark: {}, {} people on the live stream, a group chat of {}, {} messages; load average before: {}",
        app.db.backend.name(),
        b.agents,
        b.group,
        b.messages,
        load.trim()
    );
    let rss_before = rss_mb();

    // The group: the first person creates it with the next group − 1.
    let owner = crate::store::users::get(app.db.reader(), s.tenant, UserId(s.agents[0])).await?.context("owner")?;
    let owner = Actor::User(owner);
    let members: Vec<UserId> = s.agents[1..b.group].iter().map(|a| UserId(*a)).collect();
    let group = crate::actions::chat::create_group(&app, &owner, s.tenant, "Bench", &members)
        .await
        .map_err(|e| anyhow::anyhow!("creating the group: {e}"))?;

    // Everyone's stream; the group's members note their arrivals.
    let arrivals: Arrivals = Arc::default();
    let http = reqwest::Client::builder().pool_max_idle_per_host(b.agents + 16).build()?;
    let opened = Instant::now();
    let mut streams = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let noting = (i < b.group).then(|| arrivals.clone());
        streams.push(tokio::spawn(follow(http.clone(), format!("{base}/events"), cookie.clone(), noting)));
    }
    // Presence updates: each person posts "online" every 30 s, spread evenly.
    let csrf = crate::crypto::random_token(32);
    let updates = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut beats = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let (http, cookie, csrf, base) = (http.clone(), cookie.clone(), csrf.clone(), base.clone());
        let (updates, failures) = (updates.clone(), failures.clone());
        let offset = Duration::from_millis((30_000 * i / b.agents.max(1)) as u64);
        beats.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut every = tokio::time::interval(Duration::from_secs(30));
            loop {
                every.tick().await;
                let form = [("csrf", csrf.as_str()), ("status", "online"), ("back", "/")];
                let cookies = format!("{cookie}; {}={csrf}", crate::http::cookies::CSRF);
                let sent =
                    http.post(format!("{base}/account/status")).header("cookie", cookies).form(&form).send().await;
                match sent {
                    Ok(r) if r.status().is_redirection() || r.status().is_success() => {
                        updates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // Let the streams open and the first round of updates pass.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_open = rss_mb();
    println!(
        "{} streams opened in {:.1} s; server RSS {:.1} MB before, {:.1} MB with them open (in-process: server and clients)",
        b.agents,
        opened.elapsed().as_secs_f64(),
        rss_before,
        rss_open
    );

    // The group talks: one message every `seconds / messages`, each timed to every member.
    let gap = Duration::from_millis((b.seconds * 1000 / b.messages.max(1) as u64).max(50));
    let mut sent = Vec::new();
    let mut peak = rss_open;
    for i in 0..b.messages {
        let at = Instant::now();
        let id = crate::actions::chat::send(&app, &owner, s.tenant, group, &format!("mensagem {i}"), None)
            .await
            .map_err(|e| anyhow::anyhow!("sending: {e}"))?;
        sent.push((id, at));
        tokio::time::sleep(gap).await;
        peak = peak.max(rss_mb());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut latencies = Vec::new();
    let mut missing = 0usize;
    {
        let map = arrivals.lock().map_err(|_| anyhow::anyhow!("arrivals lock"))?;
        for (id, at) in &sent {
            let seen = map.get(id).map(Vec::as_slice).unwrap_or(&[]);
            missing += b.group.saturating_sub(seen.len());
            latencies.extend(seen.iter().map(|t| t.duration_since(*at).as_secs_f64() * 1000.0));
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "group message to every member's stream: {} deliveries, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, missing {}",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        missing
    );
    println!(
        "presence updates: {} ok, {} failed; peak RSS {:.1} MB; load average after: {}",
        updates.load(std::sync::atomic::Ordering::Relaxed),
        failures.load(std::sync::atomic::Ordering::Relaxed),
        peak,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    for t in beats.into_iter().chain(streams) {
        t.abort();
    }
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
