//! Reports and the Painel (supervisors and admins): the live "now" block, a period's figures
//! from the roll-ups (brought up to date first), the agent report, and the alert settings.
//! The ticket report, its CSV export and transcripts are in [`export`].

pub mod export;
pub mod watch;

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::jobs::JobKind;
use crate::domain::reports::alerts;
use crate::domain::reports::range::{self, Period, Summary};
use crate::domain::reports::Metric;
use crate::domain::{hours, inbox, TenantId};
use crate::store;
use crate::store::reports::live::AlertSettings;
use crate::store::reports::Scope;

/// Reads refresh first, every time: a refresh with nothing new is one indexed query, and a
/// figure read right after an action must include it.
const REFRESH_INTERVAL_MS: i64 = 0;

/// The company's zone (automation settings; São Paulo when unset or unknown).
pub async fn time_zone(app: &App, tenant: TenantId) -> ActionResult<Tz> {
    let a = store::automation::get(app.db.reader(), tenant).await?;
    Ok(hours::parse_tz(&a.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo))
}

/// Brings the company's roll-ups up to date (reads call it; tests and the bench too).
pub async fn refresh(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<usize> {
    actor.require_supervisor_of(tenant)?;
    Ok(store::reports::refresh(&app.db, tenant, app.clock.now_ms(), 0).await?)
}

/// Drops and recomputes the roll-ups (the `reports.rebuild` job's body).
pub async fn rebuild(app: &App, tenant: TenantId) -> anyhow::Result<usize> {
    store::reports::rebuild(&app.db, tenant, app.clock.now_ms()).await
}

/// How long a rebuild waits, so that a few saves in a row cost one rebuild.
const REBUILD_AFTER_MS: i64 = 30_000;

/// Queues a rebuild of the company's roll-ups in `tx` (its business hours, holidays or time zone
/// changed: past figures in business hours follow the new hours). Saves within the same 30 s
/// share one rebuild, which runs at the end of that window.
pub(crate) async fn queue_rebuild(tx: &mut store::Tx, tenant: TenantId, now: i64) -> anyhow::Result<()> {
    let window = now.div_euclid(REBUILD_AFTER_MS);
    let key = format!("{}:{window}", JobKind::ReportsRebuild.as_str());
    let payload = serde_json::json!({});
    let job = store::jobs::NewJob {
        tenant_id: tenant,
        kind: JobKind::ReportsRebuild.as_str(),
        payload: &payload,
        run_at: (window + 1) * REBUILD_AFTER_MS,
        max_attempts: 5,
        dedupe_key: Some(&key),
    };
    store::jobs::enqueue(&mut **tx, job, now).await?;
    Ok(())
}

/// The zone to read whole local days from the day tables in: the company's, when the day tables
/// are in it (after a zone change they are not until the next refresh derives them again).
async fn day_tables(app: &App, tenant: TenantId, tz: Tz) -> ActionResult<Option<Tz>> {
    Ok(store::reports::days::zone(app.db.reader(), tenant).await?.filter(|z| *z == tz))
}

/// What a period read asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeQuery {
    pub period: Period,
    pub department: Option<i64>,
    pub agent: Option<i64>,
}

impl RangeQuery {
    /// From the page's or API's parameters; a bad period is a 422.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        department: Option<i64>,
        agent: Option<i64>,
    ) -> ActionResult<RangeQuery> {
        let period = Period::parse(period.unwrap_or("today"), from, to).map_err(|code| {
            ActionError::invalid(
                code,
                "period: today, 7d, 30d or custom with from/to dates (aaaa-mm-dd, up to 366 days)",
            )
        })?;
        Ok(RangeQuery { period, department: department.filter(|d| *d > 0), agent: agent.filter(|a| *a > 0) })
    }
}

/// One point of a chart: its label and values.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Point {
    pub label: String,
    pub start: i64,
    pub values: Vec<i64>,
}

/// A period's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RangeReport {
    pub period: &'static str,
    pub from: i64,
    pub to: i64,
    pub from_date: String,
    pub to_date: String,
    pub summary: Summary,
    /// Messages in / out per hour of the day (00–23, local time), summed over the period.
    pub messages_by_hour: Vec<Point>,
    /// New tickets and closed episodes per day (per hour for a single day).
    pub volume: Vec<Point>,
}

/// The period's figures for the filters.
pub async fn range(app: &App, actor: &Actor, tenant: TenantId, q: &RangeQuery) -> ActionResult<RangeReport> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    store::reports::refresh(&app.db, tenant, now, REFRESH_INTERVAL_MS).await?;
    let tz = time_zone(app, tenant).await?;
    let (from, to) = q.period.bounds(tz, now);
    let scope = Scope { from, to, department: q.department, agent: q.agent, days: day_tables(app, tenant, tz).await? };
    let sums = store::reports::sums(app.db.reader(), tenant, &scope).await?;
    let chart = store::reports::chart(app.db.reader(), tenant, &scope, tz).await?;
    let messages_by_hour = chart
        .by_hour
        .iter()
        .enumerate()
        .map(|(h, v)| Point { label: format!("{h:02}h"), start: h as i64, values: vec![v[0], v[1]] })
        .collect();
    let (first, last) = q.period.dates(hours::wall_clock(tz, now).map(|d| d.date()).unwrap_or_default());
    let volume = if first == last {
        (0..24)
            .map(|h| Point {
                label: format!("{h:02}h"),
                start: from + h as i64 * 3_600_000,
                values: vec![chart.by_hour[h][2], chart.by_hour[h][3]],
            })
            .collect()
    } else {
        let mut points = Vec::new();
        let mut d = first;
        while d <= last {
            let v = chart.by_day.get(&d).copied().unwrap_or_default();
            points.push(Point { label: range::day_label(d), start: range::local_midnight(tz, d), values: v.to_vec() });
            d = match d.succ_opt() {
                Some(n) => n,
                None => break,
            };
        }
        points
    };
    Ok(RangeReport {
        period: q.period.code(),
        from,
        to,
        from_date: range::date_br(tz, from),
        to_date: range::date_br(tz, to - 1),
        summary: range::summarize(&sums),
        messages_by_hour,
        volume,
    })
}

/// One person's line in the agent report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AgentLine {
    pub agent_id: i64,
    pub name: String,
    pub summary: Summary,
    /// Time with the app open and not away, in seconds (presence heartbeats; docs/REPORTS.md).
    pub online_s: i64,
}

/// Per person: episodes they answered and closed, their first-response and resolution times,
/// ratings credited to them, and episodes assigned to them that closed unanswered.
pub async fn agents(app: &App, actor: &Actor, tenant: TenantId, q: &RangeQuery) -> ActionResult<Vec<AgentLine>> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    store::reports::refresh(&app.db, tenant, now, REFRESH_INTERVAL_MS).await?;
    let tz = time_zone(app, tenant).await?;
    let (from, to) = q.period.bounds(tz, now);
    let scope = Scope { from, to, department: q.department, agent: q.agent, days: day_tables(app, tenant, tz).await? };
    let mut by_agent = store::reports::sums_by_agent(app.db.reader(), tenant, &scope).await?;
    let mut online = store::reports::live::online_seconds(app.db.reader(), tenant, from, to).await?;
    // A department filter narrows people to its members; a person filter to that person.
    let members = match q.department {
        Some(d) => Some(
            store::departments::members(app.db.reader(), tenant, d)
                .await?
                .into_iter()
                .map(|m| m.user_id)
                .collect::<Vec<i64>>(),
        ),
        None => None,
    };
    online.retain(|id, _| q.agent.is_none_or(|a| a == *id) && members.as_ref().is_none_or(|m| m.contains(id)));
    for id in online.keys() {
        by_agent.entry(*id).or_default();
    }
    let names: BTreeMap<i64, String> =
        store::users::list(app.db.reader(), tenant).await?.into_iter().map(|u| (u.id.0, u.name)).collect();
    Ok(by_agent
        .into_iter()
        .filter(|(id, _)| *id != 0)
        .map(|(id, sums)| AgentLine {
            agent_id: id,
            name: names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            summary: range::summarize(&sums),
            online_s: online.get(&id).copied().unwrap_or(0),
        })
        .collect())
}

/// Live tickets of one department.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DepartmentNow {
    pub department_id: Option<i64>,
    pub name: String,
    pub waiting: i64,
    /// Seconds the longest-waiting ticket has waited.
    pub longest_wait_s: Option<i64>,
    pub in_service: i64,
    pub with_bot: i64,
    pub closed_today: i64,
    pub online: i64,
    pub away: i64,
    pub offline: i64,
}

/// A person's live status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PersonNow {
    pub id: i64,
    pub name: String,
    /// online, away or offline.
    pub status: &'static str,
    pub open_tickets: i64,
    pub departments: Vec<String>,
}

pub use crate::domain::reports::alerts::Alert;

#[derive(Clone, Debug, serde::Serialize)]
pub struct NowReport {
    pub at: i64,
    pub totals: DepartmentNow,
    pub departments: Vec<DepartmentNow>,
    pub people: Vec<PersonNow>,
    pub alerts: Vec<Alert>,
    /// Customer messages per minute this hour, and the mean of the previous 24 hours.
    pub messages_per_minute: f64,
    pub messages_per_minute_mean: f64,
}

/// Customer messages per minute this hour so far, and the mean of the previous 24 full hours.
async fn message_rate(db: &sqlx::AnyPool, tenant: TenantId, now: i64) -> Result<(f64, f64), sqlx::Error> {
    let hour = now - now.rem_euclid(3_600_000);
    let past: i64 = store::reports::sums_by_department(db, tenant, hour - 24 * 3_600_000, hour, Metric::MessagesIn)
        .await?
        .values()
        .sum();
    let current: i64 = store::reports::sums_by_department(db, tenant, hour, hour + 3_600_000, Metric::MessagesIn)
        .await?
        .values()
        .sum();
    let minutes_now = ((now - hour) as f64 / 60_000.0).max(1.0);
    Ok((current as f64 / minutes_now, past as f64 / (24.0 * 60.0)))
}

/// The alerts that hold for a company now (the Painel shows them; [`watch`] sends their changes).
pub(super) async fn current_alerts(
    app: &App,
    tenant: TenantId,
    now: i64,
    longest_wait_s: i64,
) -> ActionResult<Vec<Alert>> {
    let rate = message_rate(app.db.reader(), tenant, now).await?;
    alerts_at(app, tenant, now, longest_wait_s, rate).await
}

/// [`current_alerts`] with the message rate already read (the "now" block shows it too).
async fn alerts_at(
    app: &App,
    tenant: TenantId,
    now: i64,
    longest_wait_s: i64,
    (rate, mean): (f64, f64),
) -> ActionResult<Vec<Alert>> {
    let db = app.db.reader();
    let settings = store::reports::live::alert_settings(db, tenant).await?;
    Ok(alerts::evaluate(&alerts::Inputs {
        longest_wait_s,
        dead_webhooks: store::reports::live::dead_webhooks(db, tenant).await?,
        rate,
        mean,
        into_hour_ms: now.rem_euclid(3_600_000),
        wait_alert_minutes: settings.wait_alert_minutes,
        band_low_pct: settings.band_low_pct,
        band_high_pct: settings.band_high_pct,
    }))
}

/// The "now" block.
pub async fn now(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<NowReport> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    store::reports::refresh(&app.db, tenant, now, REFRESH_INTERVAL_MS).await?;
    let db = app.db.reader();
    let tz = time_zone(app, tenant).await?;
    let departments = store::departments::list(db, tenant).await?;
    let name_of = |id: i64| departments.iter().find(|d| d.id == id).map(|d| d.name.clone());
    let mut rows: BTreeMap<Option<i64>, DepartmentNow> = BTreeMap::new();
    for d in &departments {
        rows.insert(
            Some(d.id),
            DepartmentNow { department_id: Some(d.id), name: d.name.clone(), ..Default::default() },
        );
    }
    for c in store::reports::live::state_counts(db, tenant).await? {
        let row = rows.entry(c.department_id).or_insert_with(|| DepartmentNow {
            department_id: c.department_id,
            name: c.department_id.and_then(name_of).unwrap_or_default(),
            ..Default::default()
        });
        match c.status.as_str() {
            "waiting" => {
                row.waiting += c.count;
                row.longest_wait_s = c.oldest_queued_at.map(|q| (now - q).max(0) / 1000);
            }
            "open" => row.in_service += c.count,
            "bot" => row.with_bot += c.count,
            _ => {}
        }
    }
    let (today, _) = Period::Today.bounds(tz, now);
    let closed = store::reports::sums_by_department(db, tenant, today, now + 3_600_000, Metric::Closed).await?;
    for (d, n) in closed {
        let key = (d != 0).then_some(d);
        let row = rows.entry(key).or_insert_with(|| DepartmentNow {
            department_id: key,
            name: key.and_then(name_of).unwrap_or_default(),
            ..Default::default()
        });
        row.closed_today += n;
    }
    let people = store::reports::live::people(db, tenant).await?;
    let mut people_now = Vec::with_capacity(people.len());
    for p in &people {
        let status = if p.last_seen_at.is_none_or(|s| s < now - inbox::ONLINE_WINDOW_MS) {
            "offline"
        } else if p.away {
            "away"
        } else {
            "online"
        };
        for d in &p.departments {
            if let Some(row) = rows.get_mut(&Some(*d)) {
                match status {
                    "online" => row.online += 1,
                    "away" => row.away += 1,
                    _ => row.offline += 1,
                }
            }
        }
        people_now.push(PersonNow {
            id: p.id,
            name: p.name.clone(),
            status,
            open_tickets: p.open_tickets,
            departments: p.departments.iter().filter_map(|d| name_of(*d)).collect(),
        });
    }
    let mut totals = DepartmentNow::default();
    for r in rows.values() {
        totals.waiting += r.waiting;
        totals.in_service += r.in_service;
        totals.with_bot += r.with_bot;
        totals.closed_today += r.closed_today;
        totals.longest_wait_s = totals.longest_wait_s.max(r.longest_wait_s);
    }
    for p in &people_now {
        match p.status {
            "online" => totals.online += 1,
            "away" => totals.away += 1,
            _ => totals.offline += 1,
        }
    }
    let (rate, mean) = message_rate(db, tenant, now).await?;
    let alerts = alerts_at(app, tenant, now, totals.longest_wait_s.unwrap_or(0), (rate, mean)).await?;
    Ok(NowReport {
        at: now,
        totals,
        departments: rows.into_values().collect(),
        people: people_now,
        alerts,
        messages_per_minute: (rate * 10.0).round() / 10.0,
        messages_per_minute_mean: (mean * 10.0).round() / 10.0,
    })
}

pub async fn alert_settings(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<AlertSettings> {
    actor.require_supervisor_of(tenant)?;
    Ok(store::reports::live::alert_settings(app.db.reader(), tenant).await?)
}

/// Saves the alert settings (admins): minutes 0–1440, band percentages 0–1000 with low < high.
pub async fn save_alert_settings(app: &App, actor: &Actor, tenant: TenantId, s: AlertSettings) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    if !(0..=1440).contains(&s.wait_alert_minutes) {
        return Err(ActionError::invalid("invalid_wait_alert", "wait alert: 0 to 1440 minutes"));
    }
    if !(0..=1000).contains(&s.band_low_pct)
        || !(0..=1000).contains(&s.band_high_pct)
        || (s.band_high_pct > 0 && s.band_low_pct >= s.band_high_pct)
    {
        return Err(ActionError::invalid("invalid_band", "band: 0–1000 %, the low bound below the high one"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::reports::live::save_alert_settings(&mut *tx, tenant, &s, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "reports.alerts_updated",
        "report_settings",
        &serde_json::to_value(s).unwrap_or_default(),
        now,
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}
