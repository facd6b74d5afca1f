//! `atende bench inbox`, HTTP part: the real server on the seeded database, logged-in cookie
//! clients asking for what the inbox page asks for (list fragments per tab, the full page,
//! opening a ticket), at a fixed concurrency, with server time taken from the request
//! middleware's own clock (`metrics`); then the mixed list load at half of what it saturates,
//! in rounds of three phases: lists only; lists while new customers write through the webhook;
//! the same plus background work: round-robin distribution of those new tickets, and the
//! companies' timed rules run by the real `automation.timed` job draining a backlog.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::app::App;
use crate::domain::{TenantId, UserId};
use crate::store::seed::Seeded;

pub struct HttpPlan {
    /// Seconds per request kind.
    pub seconds: u64,
    /// Seconds of the saturating mixed list run (which sets the pace of the phases).
    pub mixed_seconds: u64,
    pub concurrency: usize,
    /// New customers (so new waiting tickets) per second in the inbound and background phases.
    pub new_tickets_per_sec: u64,
}

/// Who a client is: an agent (index into the seeded agents) or the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Agent,
    Supervisor,
}

/// What a client asks for.
#[derive(Clone, Copy, Debug)]
enum Ask {
    List(Who, &'static str),
    Page(Who, &'static str),
    Open(Who),
    Messages(Who),
    /// Agent "Em espera", agent "Meus", supervisor "Todos" in turn (the throughput figure).
    Mixed,
}

impl Ask {
    fn name(self) -> String {
        let who = |w: Who| if w == Who::Agent { "agent" } else { "supervisor" };
        match self {
            Ask::List(w, tab) => format!("GET /inbox?tab={tab}&part=list ({})", who(w)),
            Ask::Page(w, tab) => format!("GET /inbox?tab={tab} page ({})", who(w)),
            Ask::Open(w) => format!("GET /inbox/{{id}} page ({})", who(w)),
            Ask::Messages(w) => format!("GET /inbox/{{id}}?part=messages ({})", who(w)),
            Ask::Mixed => "mixed list fragments".into(),
        }
    }
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64, usize) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    (at(0.50), at(0.95), at(0.99), ms.len())
}

struct Fixture {
    base: String,
    /// One cookie per agent, then the supervisor's.
    agent_cookies: Vec<String>,
    supervisor_cookie: String,
    /// Tickets each agent may open (same index as the agents), and the supervisor's.
    agent_tickets: Vec<Vec<i64>>,
    supervisor_tickets: Vec<i64>,
}

#[derive(Default)]
struct Outcome {
    requests: usize,
    errors: usize,
    seconds: f64,
    client_ms: Vec<f64>,
    server_ms: Vec<f64>,
}

/// A phase of a round as "server p95/p99 (client p99)".
fn round_figures(o: &Outcome) -> String {
    let (_, s95, s99, _) = percentiles(o.server_ms.clone());
    let (_, _, c99, _) = percentiles(o.client_ms.clone());
    format!("{s95:.1}/{s99:.1} ({c99:.1})")
}

/// Rounds of the three phases, and each phase's length. Many short rounds: a slow spell of the
/// machine then spoils one round's phase, not a whole side of the comparison.
const ROUNDS: usize = 10;
const PHASE_SECONDS: u64 = 2;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn server_p99(o: &Outcome) -> f64 {
    percentiles(o.server_ms.clone()).2
}

impl Outcome {
    fn absorb(&mut self, o: Outcome) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.seconds += o.seconds;
        self.client_ms.extend(o.client_ms);
        self.server_ms.extend(o.server_ms);
    }
}

/// `concurrency` clients doing `ask` until the deadline; each client keeps its connection.
/// Runs `concurrency` clients for `seconds`: back to back (`pace` `None`, the saturating
/// closed loop), or together at `pace` requests/s, each latency counted from the moment its
/// request was due so a stall is not hidden by the client waiting it out.
async fn load(
    app: &App,
    f: &Arc<Fixture>,
    ask: Ask,
    concurrency: usize,
    seconds: u64,
    pace: Option<f64>,
) -> anyhow::Result<Outcome> {
    app.metrics.take_samples();
    app.metrics.set_sampling(true);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().no_proxy().tcp_nodelay(true).pool_max_idle_per_host(1).build()?;
            let (mut ms, mut errors) = (Vec::new(), 0usize);
            let mut i = c;
            let mut ticks = pace.map(|rate| {
                let every = Duration::from_secs_f64(concurrency as f64 / rate.max(1.0));
                let mut t = tokio::time::interval_at(
                    tokio::time::Instant::now() + every.mul_f64(c as f64 / concurrency as f64),
                    every,
                );
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            while Instant::now() < deadline {
                let due = match ticks.as_mut() {
                    Some(t) => t.tick().await.into_std(),
                    None => Instant::now(),
                };
                let agent = i % f.agent_cookies.len();
                let (who, path) = match ask {
                    Ask::List(w, tab) => (w, format!("/inbox?tab={tab}&part=list")),
                    Ask::Page(w, tab) => (w, format!("/inbox?tab={tab}")),
                    Ask::Open(w) | Ask::Messages(w) => {
                        let list = if w == Who::Agent { &f.agent_tickets[agent] } else { &f.supervisor_tickets };
                        let Some(id) = list.get((i / f.agent_cookies.len()) % list.len().max(1)) else {
                            anyhow::bail!("no ticket to open");
                        };
                        let part = if matches!(ask, Ask::Messages(_)) { "?part=messages" } else { "" };
                        (w, format!("/inbox/{id}{part}"))
                    }
                    Ask::Mixed => match i % 3 {
                        0 => (Who::Agent, "/inbox?tab=waiting&part=list".to_string()),
                        1 => (Who::Agent, "/inbox?tab=mine&part=list".to_string()),
                        _ => (Who::Supervisor, "/inbox?tab=all&part=list".to_string()),
                    },
                };
                let cookie = if who == Who::Agent { &f.agent_cookies[agent] } else { &f.supervisor_cookie };
                let ok = match http.get(format!("{}{path}", f.base)).header("cookie", cookie).send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok_and(|b| b.len() > 20),
                    Err(_) => false,
                };
                ms.push(due.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
                i += 1;
            }
            anyhow::Ok((ms, errors))
        }));
    }
    let (mut client_ms, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (ms, e) = t.await??;
        client_ms.extend(ms);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    app.metrics.set_sampling(false);
    let server_ms = app
        .metrics
        .take_samples()
        .into_iter()
        .filter(|(route, _)| route.starts_with("/inbox"))
        .map(|(_, ms)| ms)
        .collect();
    Ok(Outcome { requests: client_ms.len(), errors, seconds, client_ms, server_ms })
}

fn print_header() {
    println!(
        "{:<44} {:>8} {:>7} {:>6} {:>22} {:>22}",
        "request (HTTP)", "n", "req/s", "errors", "server p50/p95/p99 ms", "client p50/p95/p99 ms"
    );
}

fn report(name: &str, o: Outcome) -> (serde_json::Value, f64) {
    let rps = o.requests as f64 / o.seconds.max(1e-9);
    let (s50, s95, s99, _) = percentiles(o.server_ms);
    let (c50, c95, c99, n) = percentiles(o.client_ms);
    println!(
        "{name:<44} {n:>8} {rps:>7.0} {:>6} {:>22} {:>22}",
        o.errors,
        format!("{s50:.2} / {s95:.2} / {s99:.2}"),
        format!("{c50:.2} / {c95:.2} / {c99:.2}")
    );
    let v = json!({ "request": name, "n": n, "requests_per_sec": rps, "errors": o.errors,
        "server_ms": { "p50": s50, "p95": s95, "p99": s99 }, "client_ms": { "p50": c50, "p95": c95, "p99": c99 } });
    (v, s99)
}

pub(crate) async fn session(app: &App, tenant: TenantId, user: i64) -> anyhow::Result<String> {
    let token = crate::crypto::random_token(32);
    let now = app.clock.now_ms();
    let hash = crate::crypto::sha256_hex(&token);
    crate::store::sessions::insert(
        app.db.writer(),
        tenant,
        UserId(user),
        &hash,
        &Default::default(),
        now,
        now + 86_400_000,
    )
    .await?;
    Ok(format!("{}={token}", crate::http::cookies::SESSION))
}

/// The inbound side: a WhatsApp connection whose customers land in a department, with every
/// agent online. Returns the connection's webhook path.
async fn prepare_background(app: &Arc<App>, s: &Seeded) -> anyhow::Result<String> {
    use crate::actions::Actor;
    let tenant = s.tenant;
    let input = crate::actions::connections::CreateWhatsappCloud {
        name: "bench-inbound",
        phone_number_id: BENCH_PHONE_ID,
        waba_id: "",
        access_token: "bench",
        app_secret: BENCH_SECRET,
        graph_url: Some("http://127.0.0.1:9"),
        api_version: None,
        rate_per_sec: None,
    };
    let conn = crate::actions::connections::create_whatsapp_cloud(app, &Actor::Operator, tenant, input)
        .await
        .map_err(anyhow::Error::from)?
        .connection
        .id;
    let department = *s.departments.first().context("a department")?;
    crate::actions::departments::set_connection_department(app, &Actor::Operator, tenant, conn, Some(department))
        .await
        .map_err(anyhow::Error::from)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    for a in &s.agents {
        crate::store::users::touch_presence(&mut tx, tenant, UserId(*a), now).await?;
    }
    tx.commit().await?;
    Ok(format!("/hooks/whatsapp/{conn}"))
}

const BENCH_SECRET: &str = "bench-inbox-secret";
const BENCH_PHONE_ID: &str = "100000000000043";

/// Switches automatic distribution (round-robin) on or off in every department of the tenant.
async fn set_distribution(app: &App, tenant: TenantId, on: bool) -> anyhow::Result<()> {
    sqlx::query("UPDATE departments SET distribution_mode = $1 WHERE tenant_id = $2")
        .bind(if on { "round_robin" } else { "off" })
        .bind(tenant.0)
        .execute(app.db.writer())
        .await?;
    Ok(())
}

/// Customers writing for `seconds`: a stream of new people through the signed webhook at
/// `rate`, each opening a new waiting ticket (handed to an online agent in the ingest
/// transaction when distribution is on).
fn start_inbound(
    webhook: &str,
    rate: u64,
    seconds: u64,
    first_customer: u64,
) -> tokio::task::JoinHandle<anyhow::Result<wa_sim::LoadReport>> {
    let mut cfg = wa_sim::LoadConfig::new(webhook, BENCH_SECRET, BENCH_PHONE_ID);
    cfg.customers = 1_000_000;
    cfg.first_customer = first_customer;
    cfg.rate_per_sec = rate;
    cfg.duration = Duration::from_secs(seconds);
    cfg.concurrency = 4;
    cfg.messages_per_delivery = 1;
    tokio::spawn(async move { wa_sim::run_load(cfg).await })
}

/// The timed rules, on (every department) or off: tickets idle for a day close, tickets waiting
/// over an hour move to the next department, agents are reminded of customers waiting half an
/// hour. The seeded inbox holds a backlog of each, so the `automation.timed` job works every pass
/// to its budget and schedules the next a second later: a drain, the hard case.
async fn set_timed_rules(app: &App, s: &Seeded, on: bool) -> anyhow::Result<()> {
    use crate::actions::timed_rules::TimedRule;
    let d = &s.departments;
    let rules = if on {
        (0..d.len())
            .map(|i| TimedRule {
                department_id: d[i],
                close_idle_minutes: 1440,
                close_message: String::new(),
                transfer_after_minutes: 60,
                transfer_to: Some(d[(i + 1) % d.len()]),
                remind_after_minutes: 30,
            })
            .collect()
    } else {
        Vec::new()
    };
    crate::actions::timed_rules::save(app, &crate::actions::Actor::Operator, s.tenant, rules)
        .await
        .map_err(anyhow::Error::from)?;
    if on {
        crate::jobs::timed_rules::schedule_now(app).await?;
    }
    Ok(())
}

/// What the timed rules did so far: tickets closed, transferred, agents reminded.
async fn timed_rule_counts(app: &App, tenant: TenantId) -> anyhow::Result<[i64; 3]> {
    let mut counts = [0; 3];
    for (i, kind) in ["closed", "transferred", "reminded"].into_iter().enumerate() {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM ticket_events WHERE tenant_id = $1 AND kind = $2 AND actor_user_id IS NULL",
        )
        .bind(tenant.0)
        .bind(kind)
        .fetch_one(app.db.reader())
        .await?;
        counts[i] = sqlx::Row::try_get(&row, 0)?;
    }
    Ok(counts)
}

/// Runs the HTTP part on an app whose database `s` seeded; `visible` are (agent index or
/// `None` for the supervisor, ticket) pairs seen in their lists.
pub async fn run(
    app: &Arc<App>,
    s: &Seeded,
    visible: &[(Option<usize>, i64)],
    plan: &HttpPlan,
) -> anyhow::Result<serde_json::Value> {
    let tenant = s.tenant;
    let mut agent_cookies = Vec::new();
    for a in &s.agents {
        agent_cookies.push(session(app, tenant, *a).await?);
    }
    let supervisor_cookie = session(app, tenant, s.supervisor).await?;
    let mut agent_tickets = vec![Vec::new(); s.agents.len()];
    let mut supervisor_tickets = Vec::new();
    for (who, id) in visible {
        match who {
            Some(a) => agent_tickets[*a].push(*id),
            None => supervisor_tickets.push(*id),
        }
    }
    anyhow::ensure!(agent_tickets.iter().all(|t| !t.is_empty()), "every agent needs a ticket to open");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let f =
        Arc::new(Fixture { base: base.clone(), agent_cookies, supervisor_cookie, agent_tickets, supervisor_tickets });
    println!(
        "HTTP: {} concurrent cookie clients, {} s per request kind; server time from the request middleware",
        plan.concurrency, plan.seconds
    );
    print_header();
    let asks = [
        Ask::List(Who::Agent, "waiting"),
        Ask::List(Who::Agent, "mine"),
        Ask::List(Who::Agent, "closed"),
        Ask::List(Who::Supervisor, "waiting"),
        Ask::List(Who::Supervisor, "all"),
        Ask::List(Who::Supervisor, "closed"),
        Ask::Page(Who::Agent, "waiting"),
        Ask::Open(Who::Agent),
        Ask::Open(Who::Supervisor),
        Ask::Messages(Who::Agent),
    ];
    let mut rows = Vec::new();
    for ask in asks {
        let o = load(app, &f, ask, plan.concurrency, plan.seconds, None).await?;
        rows.push(report(&ask.name(), o).0);
    }
    println!(
        "mixed list load ({} s saturating), then {ROUNDS} rounds at half that rate, {PHASE_SECONDS} s each of: lists only; \
         lists + {} new customers/s; the same + background work (distribution, the timed rules job: auto-close, \
         auto-transfer, reminders, {} tickets a pass); server p95/p99 (client p99) ms:",
        plan.mixed_seconds,
        plan.new_tickets_per_sec,
        crate::actions::timed_rules::PASS_BUDGET
    );
    let saturated = load(app, &f, Ask::Mixed, plan.concurrency, plan.mixed_seconds, None).await?;
    // Half of what the saturating loop reached: a busy but not overloaded server, where the
    // p99 shows whether other work stalls requests rather than merely sharing the CPU.
    let pace = saturated.requests as f64 / saturated.seconds / 2.0;
    let (saturated_row, _) = report("mixed list fragments, saturating", saturated);
    let webhook = format!("{base}{}", prepare_background(app, s).await?);
    // The three phases alternate, so a drift of the machine (another process, the page cache
    // warming, the WAL growing) falls on all of them alike; each phase is judged by the median of
    // its rounds' p99 (a slow spell spoils one round) and, beside it, by its pooled samples. The
    // inbound phase and the background phase get the same customers' traffic, so their
    // difference is the background work alone.
    let (mut lists, mut inbound, mut busy) = (Outcome::default(), Outcome::default(), Outcome::default());
    let (mut lists_p99s, mut inbound_p99s, mut busy_p99s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut acknowledged, mut ack_p99) = (0u64, 0f64);
    let rules_before = timed_rule_counts(app, tenant).await?;
    let rate = plan.new_tickets_per_sec;
    for round in 0..ROUNDS as u64 {
        let l = load(app, &f, Ask::Mixed, plan.concurrency, PHASE_SECONDS, Some(pace)).await?;
        // Each phase's customers are new people, so every message opens a new ticket.
        let writers = start_inbound(&webhook, rate, PHASE_SECONDS, (2 * round) * 1_000_000);
        let i = load(app, &f, Ask::Mixed, plan.concurrency, PHASE_SECONDS, Some(pace)).await?;
        let mut reports = vec![writers.await??];
        set_distribution(app, tenant, true).await?;
        let writers = start_inbound(&webhook, rate, PHASE_SECONDS, (2 * round + 1) * 1_000_000);
        set_timed_rules(app, s, true).await?;
        let b = load(app, &f, Ask::Mixed, plan.concurrency, PHASE_SECONDS, Some(pace)).await?;
        reports.push(writers.await??);
        set_timed_rules(app, s, false).await?;
        set_distribution(app, tenant, false).await?;
        println!("  round {round}: {} | {} | {}", round_figures(&l), round_figures(&i), round_figures(&b));
        for r in reports {
            acknowledged += r.messages_acknowledged;
            ack_p99 = ack_p99.max(r.latency.p99_ms);
        }
        lists_p99s.push(server_p99(&l));
        inbound_p99s.push(server_p99(&i));
        busy_p99s.push(server_p99(&b));
        lists.absorb(l);
        inbound.absorb(i);
        busy.absorb(b);
    }
    println!("pooled rounds:");
    let (lists_row, lists_pooled) = report(&format!("mixed at {pace:.0} req/s, lists only"), lists);
    let (inbound_row, inbound_pooled) = report(&format!("  + {rate} new customers/s"), inbound);
    let (busy_row, busy_pooled) = report("  + distribution, timed rules job", busy);
    let (lists_p99, inbound_p99, busy_p99) = (median(lists_p99s), median(inbound_p99s), median(busy_p99s));
    println!(
        "median of the rounds' server p99: lists only {lists_p99:.2} ms, + customers {inbound_p99:.2} ms, + background work {busy_p99:.2} ms"
    );
    let assigned: i64 = sqlx::query(
        "SELECT COUNT(*) FROM ticket_events WHERE tenant_id = $1 AND kind = 'assigned' AND actor_user_id IS NULL",
    )
    .bind(tenant.0)
    .fetch_one(app.db.reader())
    .await
    .map(|r| sqlx::Row::try_get(&r, 0))??;
    let inbound_change = (inbound_p99 / lists_p99.max(1e-9) - 1.0) * 100.0;
    let change = (busy_p99 / inbound_p99.max(1e-9) - 1.0) * 100.0;
    let pooled_change = (busy_pooled / inbound_pooled.max(1e-9) - 1.0) * 100.0;
    let pooled_inbound_change = (inbound_pooled / lists_pooled.max(1e-9) - 1.0) * 100.0;
    let rules_after = timed_rule_counts(app, tenant).await?;
    let [closed, transferred, reminded] = [0, 1, 2].map(|i| rules_after[i] - rules_before[i]);
    let writing_seconds = (2 * ROUNDS as u64 * PHASE_SECONDS) as f64;
    println!(
        "inbound: {acknowledged} messages acknowledged ({:.1}/s of {rate} offered, worst phase's p99 ack {ack_p99:.1} ms); \
         background: {assigned} tickets auto-assigned; timed rules: {closed} closed, {transferred} transferred, {reminded} reminders",
        acknowledged as f64 / writing_seconds,
    );
    println!(
        "server p99 change (median of rounds; pooled): customers writing {inbound_change:+.1} % ({pooled_inbound_change:+.1} %) against lists only; \
         background work {change:+.1} % ({pooled_change:+.1} %) against customers writing"
    );
    let _ = stop.send(());
    server.await??;
    Ok(json!({ "requests": rows, "mixed_saturating": saturated_row, "paced_lists": lists_row,
        "paced_inbound": inbound_row, "paced_background": busy_row,
        "median_round_p99_ms": { "lists": lists_p99, "inbound": inbound_p99, "background": busy_p99 },
        "inbound_p99_change_percent": inbound_change, "background_p99_change_percent": change,
        "pooled_inbound_p99_change_percent": pooled_inbound_change, "pooled_background_p99_change_percent": pooled_change,
        "inbound": { "acknowledged": acknowledged, "ack_p99_ms": ack_p99 },
        "background": { "auto_assigned": assigned, "auto_closed": closed, "auto_transferred": transferred,
            "reminders": reminded } }))
}
