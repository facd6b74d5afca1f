//! `bench reports`: seeds tickets and messages (`store::seed`, as `bench inbox` does) plus their
//! history, builds the roll-ups from scratch, then times the Painel's reads in-process — the
//! 30-day figures, the live block, the agent report, and a refresh after new history — and
//! prints p50/p95 with the machine's load.

use std::time::Instant;

use anyhow::Context;

use crate::actions::reports::{self, RangeQuery};
use crate::actions::Actor;
use crate::domain::reports::range::Period;

pub struct ReportsBench {
    pub database_url: Option<String>,
    pub tickets: i64,
    pub messages: i64,
    pub contacts: i64,
    pub samples: usize,
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    (at(0.50), at(0.95))
}

pub async fn run(b: ReportsBench) -> anyhow::Result<()> {
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
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "reports benchmark: {}, {} tickets, {} messages; load average before: {}",
        app.db.backend.name(),
        b.tickets,
        b.messages,
        load.trim()
    );
    let plan = crate::store::seed::Plan {
        tickets: b.tickets,
        messages: b.messages,
        contacts: b.contacts,
        departments: 5,
        agents: 20,
        now: app.clock.now_ms(),
    };
    let started = Instant::now();
    let s = crate::store::seed::seed(&app.db, &plan).await?;
    crate::store::reports::seed_history(&app.db, s.tenant).await?;
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    let supervisor = Actor::User(
        crate::store::users::get(app.db.reader(), s.tenant, crate::domain::UserId(s.supervisor))
            .await?
            .context("supervisor")?,
    );
    let started = Instant::now();
    let walked = crate::store::reports::rebuild(&app.db, s.tenant, app.clock.now_ms()).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "roll-ups built from scratch: {walked} tickets in {secs:.1} s ({:.0} tickets/s)",
        walked as f64 / secs.max(1e-9)
    );
    let rows = crate::store::reports::rollup_cells(app.db.reader(), s.tenant).await?.len();
    println!("roll-up rows: {rows}");

    println!("{:<40} {:>7} {:>9} {:>9}", "read (in-process, refresh included)", "n", "p50 ms", "p95 ms");
    let q30 = RangeQuery { period: Period::Days30, department: None, agent: None };
    let q30d = RangeQuery { period: Period::Days30, department: Some(s.departments[0]), agent: None };
    for (name, which) in
        [("30-day figures", 0), ("30-day figures, one department", 1), ("live block", 2), ("30-day agent report", 3)]
    {
        let mut ms = Vec::with_capacity(b.samples);
        for _ in 0..b.samples {
            let t = Instant::now();
            match which {
                0 => drop(reports::range(&app, &supervisor, s.tenant, &q30).await?),
                1 => drop(reports::range(&app, &supervisor, s.tenant, &q30d).await?),
                2 => drop(reports::now(&app, &supervisor, s.tenant).await?),
                _ => drop(reports::agents(&app, &supervisor, s.tenant, &q30).await?),
            }
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p95) = percentiles(ms);
        println!("{name:<40} {:>7} {p50:>9.2} {p95:>9.2}", b.samples);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    app.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
