//! `bench campaign`: seeds the `bench inbox` data, gives every contact marketing consent, and
//! sends a campaign (a template: the contacts are outside the 24-hour window) to all of them
//! through the WhatsApp simulator limited to `--sim-rate` per second (130429 beyond it), at the
//! connection's and the campaign's pace of that rate. Prints the rate the simulator saw (mean
//! and the busiest second), the 130429 answers, and the inbox list's p99 before and while it
//! sends, with the machine's load.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::actions::campaigns::{self, CampaignInput};
use crate::actions::inbox::list_tickets;
use crate::actions::Actor;
use crate::domain::templates::ParamSource;
use crate::store::inbox::{Filter, Tab};

pub struct CampaignBench {
    pub database_url: Option<String>,
    pub recipients: i64,
    pub sim_rate: u32,
    pub inbox_samples: usize,
}

fn p99(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms.get(((ms.len() as f64 * 0.99).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

/// Inbox list reads as `bench inbox` does them (an agent's waiting and own tabs, the
/// supervisor's all), `n` of them spread over `spread`.
async fn inbox_p99(
    app: &crate::app::App,
    actors: &[Actor],
    tenant: crate::domain::TenantId,
    n: usize,
    spread: Duration,
) -> anyhow::Result<f64> {
    let pause = spread / (n.max(1) as u32);
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let tab = [Tab::Waiting, Tab::Mine, Tab::All][i % 3];
        let actor = &actors[i % actors.len()];
        let t = Instant::now();
        list_tickets(app, actor, tenant, tab, &Filter::default(), None, 50)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(pause).await;
    }
    Ok(p99(ms))
}

pub async fn run(b: CampaignBench) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("atende-bench-{}", crate::crypto::random_token(6)));
    let settings = crate::config::Settings {
        data_dir: dir.clone(),
        database_url: b.database_url.clone().map(crate::config::Secret::new),
        job_workers: 4,
        demo: false,
        log_level: "warn".into(),
        allow_private_networks: true,
        ..crate::config::Settings::default()
    };
    let app = crate::app::App::build(settings).await?;
    crate::actions::bootstrap::first_run(&app).await?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "campaign benchmark: {}, {} recipients, simulator limited to {}/s; load average before: {}",
        app.db.backend.name(),
        b.recipients,
        b.sim_rate,
        load.trim()
    );
    let plan = crate::store::seed::Plan {
        tickets: b.recipients,
        messages: b.recipients * 2,
        contacts: b.recipients,
        departments: 5,
        agents: 20,
        now: app.clock.now_ms(),
    };
    let started = Instant::now();
    let s = crate::store::seed::seed(&app.db, &plan).await?;
    let consented = crate::store::seed::marketing_consent_all(&app.db, s.tenant).await?;
    println!("seeded in {:.1} s ({consented} contacts with marketing consent)", started.elapsed().as_secs_f64());

    // The simulator: its template list, its rate limit; no webhooks (statuses are not timed here).
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        rate_per_sec: Some(b.sim_rate),
        status_delays_ms: (u64::MAX, u64::MAX, u64::MAX),
        ..wa_sim::SimConfig::default()
    })
    .await?;
    let waba = wa_sim::SimConfig::default().waba_id;
    let input = crate::actions::connections::CreateWhatsappCloud {
        name: "Campanhas",
        phone_number_id: sim.phone_number_id(),
        waba_id: &waba,
        access_token: "sim-access-token",
        app_secret: "sim-app-secret",
        graph_url: Some(&sim.base_url()),
        api_version: None,
        rate_per_sec: Some(i64::from(b.sim_rate)),
    };
    let op = Actor::Operator;
    let conn = crate::actions::connections::create_whatsapp_cloud(&app, &op, s.tenant, input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .connection
        .id;
    crate::actions::templates::sync_now(&app, &op, s.tenant, conn).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let template = crate::actions::templates::list(&app, &op, s.tenant, Some(conn))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .find(|t| t.template.name == "promocao_mensal")
        .context("the simulator's marketing template")?;
    let mapping: crate::domain::templates::Mapping =
        [("1".to_string(), ParamSource::Field("nome".into())), ("2".to_string(), ParamSource::Text("10%".into()))]
            .into();
    crate::actions::templates::set_mapping(&app, &op, s.tenant, template.template.id, mapping)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let mut actors = Vec::new();
    for id in s.agents.iter().take(3).chain([&s.supervisor]) {
        let user =
            crate::store::users::get(app.db.reader(), s.tenant, crate::domain::UserId(*id)).await?.context("user")?;
        actors.push(Actor::User(user));
    }
    let samples = b.inbox_samples;
    let before = inbox_p99(&app, &actors, s.tenant, samples, Duration::from_secs(10)).await?;

    let shutdown = tokio::sync::watch::channel(false);
    let workers = crate::jobs::spawn(app.clone(), 4, shutdown.1.clone());
    let input = CampaignInput {
        name: "Benchmark".into(),
        connection_id: Some(conn),
        template_id: Some(template.template.id),
        all_contacts: true,
        rate_per_minute: Some(i64::from(b.sim_rate) * 60),
        spacing_pct: Some(0),
        ..Default::default()
    };
    let c = campaigns::create(&app, &op, s.tenant, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let c = campaigns::command(&app, &op, s.tenant, c.id, "start").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("campaign started: {} recipients ({} excluded)", c.total, c.excluded);
    let started = Instant::now();
    // The inbox while it sends: the same reads, spread over a minute (or less for small runs).
    let expected = Duration::from_secs_f64(c.total as f64 / f64::from(b.sim_rate));
    let during = inbox_p99(&app, &actors, s.tenant, samples, expected.min(Duration::from_secs(60))).await?;
    loop {
        let counts = campaigns::counts(&app, &op, s.tenant, c.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let open: i64 = counts.iter().filter(|(k, _)| matches!(*k, "queued" | "sending")).map(|(_, n)| n).sum();
        if open == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < expected * 2 + Duration::from_secs(120),
            "the campaign stalled: {counts:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = shutdown.0.send(true);
    for w in workers {
        let _ = w.await;
    }

    let sent = sim.sent_messages();
    let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
    let first = sent.iter().map(|m| m.received_at).min();
    let last = sent.iter().map(|m| m.received_at).max();
    for m in &sent {
        if let Some(f) = first {
            *per_second.entry(m.received_at.duration_since(f).as_secs()).or_default() += 1;
        }
    }
    let span = match (first, last) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => 0.0,
    };
    let rate = if span > 0.0 { (sent.len() as f64 - 1.0) / span } else { 0.0 };
    // The busiest whole second (the last one is partial).
    let full: Vec<u64> = per_second.values().copied().collect();
    let busiest = full.iter().take(full.len().saturating_sub(1)).max().copied().unwrap_or(0);
    let counts = campaigns::counts(&app, &op, s.tenant, c.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let throttled =
        crate::store::campaign_recipients::count_with_error(app.db.reader(), s.tenant, c.id, 130429).await?;
    println!("sent {} in {elapsed:.1} s; the simulator saw {rate:.2} msg/s on average ({:+.2} % of {}), busiest second {busiest}",
        sent.len(), (rate / f64::from(b.sim_rate) - 1.0) * 100.0, b.sim_rate);
    println!("recipients answered 130429 (throughput limit): {throttled}");
    println!("recipient states: {counts:?}");
    println!(
        "inbox list p99: {before:.2} ms before, {during:.2} ms while sending ({:+.1} %)",
        (during / before.max(1e-9) - 1.0) * 100.0
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    sim.shutdown().await;
    app.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
