//! Report roll-ups: each ticket's timeline read from `ticket_events` and `messages`, walked by
//! `domain::reports::cells`, and the difference to its last cells added to `report_rollups`
//! (hour × department × agent) in one transaction. Reads sum the roll-ups of a period.
//!
//! Refresh finds the tickets with history newer than the company's cursor (less a margin, for
//! transactions that committed late), skips those whose last event and message ids did not
//! change, and re-walks the others. Nothing is lost if it stops half-way: it works from rows
//! that are already durable, and a ticket's cells and its roll-up difference commit together.

pub mod days;
pub mod live;
pub mod tickets;

use std::collections::BTreeMap;

use chrono_tz::Tz;
use sqlx::{Any, Executor, Row};

use super::{Backend, Db};
use crate::domain::hours::{Calendar, WeekSchedule};
use crate::domain::reports::days::{Chart, Split, CHART_METRICS};
use crate::domain::reports::range::Sums;
use crate::domain::reports::{self, BusinessClock, Cell, Cells, Item, Key, Metric, Timed};
use crate::domain::TenantId;

/// History written up to this long before the cursor is looked at again: a transaction that
/// stamped its rows earlier but committed after the last refresh is still found.
pub const OVERLAP_MS: i64 = 120_000;
/// Tickets re-walked per transaction.
const BATCH: usize = 200;

/// One ticket's timeline, oldest first (events before messages at the same instant).
pub async fn timeline(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    ticket: i64,
) -> Result<Vec<Timed>, sqlx::Error> {
    let events = sqlx::query(
        "SELECT kind, to_department_id, to_user_id, actor_user_id, data, created_at FROM ticket_events
         WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(ticket)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<(i64, u8, Item)> = Vec::with_capacity(events.len() + 16);
    for r in &events {
        let kind: String = r.try_get(0)?;
        let department: Option<i64> = r.try_get(1)?;
        let to_user: Option<i64> = r.try_get(2)?;
        let actor: Option<i64> = r.try_get(3)?;
        let data: String = r.try_get(4)?;
        let at: i64 = r.try_get(5)?;
        let json = || serde_json::from_str::<serde_json::Value>(&data).unwrap_or_default();
        let item = match kind.as_str() {
            "created" => {
                out.push((at, 0, Item::Created { department }));
                if json().get("bot").and_then(|b| b.as_bool()) == Some(true) {
                    out.push((at, 0, Item::BotStarted));
                }
                continue;
            }
            "reopened" => Item::Reopened,
            "handoff" => Item::Handoff { department },
            "captured" | "assigned" => match to_user.or(actor) {
                Some(agent) => Item::Assigned { agent },
                None => continue,
            },
            "transferred" => Item::Transferred { department, agent: to_user },
            "closed" => Item::Closed { by_bot: json().get("by").and_then(|b| b.as_str()) == Some("bot") },
            "csat" => match json().get("rating").and_then(|r| r.as_i64()) {
                Some(rating) => Item::Rated { rating },
                None => continue,
            },
            _ => continue,
        };
        out.push((at, 0, item));
    }
    let messages = sqlx::query(
        "SELECT direction, sender_user_id, origin, status, created_at FROM messages
         WHERE tenant_id = $1 AND ticket_id = $2 AND direction IN ('in', 'out') AND kind <> 'reaction' ORDER BY id",
    )
    .bind(tenant.0)
    .bind(ticket)
    .fetch_all(&mut *conn)
    .await?;
    for r in &messages {
        let direction: String = r.try_get(0)?;
        let sender: Option<i64> = r.try_get(1)?;
        let origin: Option<String> = r.try_get(2)?;
        let status: String = r.try_get(3)?;
        let at: i64 = r.try_get(4)?;
        let item = match (direction.as_str(), sender, origin.as_deref()) {
            ("in", ..) => Item::Inbound,
            (_, Some(agent), o) if o != Some("bot") && status != "failed" => Item::HumanReply { agent },
            // Automation, and API messages sent with no person behind them.
            _ => Item::BotMessage,
        };
        out.push((at, 1, item));
    }
    // Stable: each source stays in id order; events first at the same instant.
    out.sort_by_key(|(at, source, _)| (*at, *source));
    Ok(out.into_iter().map(|(at, _, item)| Timed { at, item }).collect())
}

/// The company's business clock: its week, calendar and zone, and departments' own weeks.
pub async fn clock<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
) -> Result<BusinessClock, sqlx::Error> {
    let a = super::automation::get(ex, tenant).await?;
    let company = serde_json::from_str::<WeekSchedule>(&a.hours).ok();
    let calendar: Calendar = serde_json::from_str(&a.calendar).unwrap_or_else(|_| Calendar::brazil());
    let mut departments = BTreeMap::new();
    for (id, hours) in super::departments::all_hours(ex, tenant).await? {
        if let Ok(week) = serde_json::from_str::<WeekSchedule>(&hours) {
            departments.insert(id, week);
        }
    }
    Ok(BusinessClock { company, departments, calendar, tz: crate::domain::hours::parse_tz(&a.time_zone) })
}

/// Tickets whose history may have changed since `since`, with their current version.
async fn candidates(db: &Db, tenant: TenantId, since: i64) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.id,
             (SELECT MAX(e.id) FROM ticket_events e WHERE e.tenant_id = $1 AND e.ticket_id = c.id),
             (SELECT MAX(m.id) FROM messages m WHERE m.tenant_id = $1 AND m.ticket_id = c.id),
             r.version
         FROM (SELECT t.id FROM tickets t WHERE t.tenant_id = $1 AND t.last_message_at >= $2
               UNION SELECT e.ticket_id FROM ticket_events e WHERE e.tenant_id = $1 AND e.created_at >= $2) c
         LEFT JOIN report_ticket_cells r ON r.tenant_id = $1 AND r.ticket_id = c.id
         ORDER BY c.id",
    )
    .bind(tenant.0)
    .bind(since)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let e: Option<i64> = r.try_get(1)?;
            let m: Option<i64> = r.try_get(2)?;
            Ok((r.try_get(0)?, format!("{}:{}", e.unwrap_or(0), m.unwrap_or(0)), r.try_get(3)?))
        })
        .filter(|row: &Result<(i64, String, Option<String>), sqlx::Error>| {
            row.as_ref().map_or(true, |(_, version, stored)| stored.as_deref() != Some(version.as_str()))
        })
        .collect()
}

/// Adds `delta` cells to the roll-ups.
async fn add_cells(tx: &mut super::Tx, tenant: TenantId, delta: &[(Key, Cell)]) -> Result<(), sqlx::Error> {
    for (k, c) in delta {
        sqlx::query(
            "INSERT INTO report_rollups (tenant_id, hour, department_id, agent_id, metric, bucket, n, total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tenant_id, hour, department_id, agent_id, metric, bucket)
             DO UPDATE SET n = report_rollups.n + excluded.n, total = report_rollups.total + excluded.total",
        )
        .bind(tenant.0)
        .bind(k.hour)
        .bind(k.department)
        .bind(k.agent)
        .bind(k.metric.code())
        .bind(k.bucket)
        .bind(c.n)
        .bind(c.total)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Re-walks one ticket and applies the difference (inside `tx`), to the day tables too when
/// they are derived (`days`: their zone).
async fn refresh_ticket(
    tx: &mut super::Tx,
    tenant: TenantId,
    ticket: i64,
    version: &str,
    clock: &BusinessClock,
    days: Option<Tz>,
) -> Result<(), sqlx::Error> {
    let old = sqlx::query("SELECT cells FROM report_ticket_cells WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?
        .map(|s| reports::decode(&s))
        .unwrap_or_default();
    let timeline = timeline(tx, tenant, ticket).await?;
    let new = reports::cells(&timeline, clock);
    let delta = reports::delta(&old, &new);
    add_cells(tx, tenant, &delta).await?;
    if let Some(tz) = days {
        days::add(tx, tenant, tz, &delta).await?;
    }
    sqlx::query(
        "INSERT INTO report_ticket_cells (tenant_id, ticket_id, version, cells) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET version = excluded.version, cells = excluded.cells",
    )
    .bind(tenant.0)
    .bind(ticket)
    .bind(version)
    .bind(reports::encode(&new))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Brings a company's roll-ups up to date; returns how many tickets were re-walked. Skipped
/// when refreshed less than `min_interval_ms` ago.
pub async fn refresh(db: &Db, tenant: TenantId, now: i64, min_interval_ms: i64) -> anyhow::Result<usize> {
    let cursor: Option<i64> = sqlx::query("SELECT refreshed_at FROM report_cursors WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(db.reader())
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    if cursor.is_some_and(|c| now - c < min_interval_ms && now >= c) {
        return Ok(0);
    }
    let since = cursor.map_or(i64::MIN, |c| c - OVERLAP_MS);
    let clock = clock(db.reader(), tenant).await?;
    let todo = candidates(db, tenant, since).await?;
    let mut done = 0;
    for chunk in todo.chunks(BATCH) {
        let mut tx = db.begin().await?;
        lock_cursor(&mut tx, db.backend, tenant).await?;
        // Read under the lock: a derivation of the day tables may have committed meanwhile.
        let days = days::zone(&mut *tx, tenant).await?;
        for (ticket, version, _) in chunk {
            // Re-read under the lock: another refresh may have done this ticket meanwhile.
            let stored: Option<String> =
                sqlx::query("SELECT version FROM report_ticket_cells WHERE tenant_id = $1 AND ticket_id = $2")
                    .bind(tenant.0)
                    .bind(*ticket)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
            if stored.as_deref() == Some(version.as_str()) {
                continue;
            }
            refresh_ticket(&mut tx, tenant, *ticket, version, &clock, days).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    let mut tx = db.begin().await?;
    lock_cursor(&mut tx, db.backend, tenant).await?;
    sqlx::query("UPDATE report_cursors SET refreshed_at = $1 WHERE tenant_id = $2")
        .bind(now)
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    // Not derived yet (the upgrade, a rebuild) or in another zone than the company's now: derive
    // them again from the hourly table, which the lock keeps still.
    let zone = clock.tz.unwrap_or(chrono_tz::America::Sao_Paulo);
    if days::zone(&mut *tx, tenant).await? != Some(zone) {
        days::build(&mut tx, tenant, zone).await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// Makes sure the cursor row exists and holds it for the transaction (PostgreSQL; SQLite has
/// one writer at a time anyway), so two refreshes never add the same difference twice.
async fn lock_cursor(tx: &mut super::Tx, backend: Backend, tenant: TenantId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO report_cursors (tenant_id, refreshed_at) VALUES ($1, 0) ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant.0)
    .execute(&mut **tx)
    .await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT refreshed_at FROM report_cursors WHERE tenant_id = $1 FOR UPDATE")
            .bind(tenant.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Drops a company's roll-ups and recomputes them from every ticket (after business hours
/// change, or to check the incremental path: tests compare both).
pub async fn rebuild(db: &Db, tenant: TenantId, now: i64) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    lock_cursor(&mut tx, db.backend, tenant).await?;
    // The day tables go too; the refresh below derives them again (their zone is in the cursor).
    for table in ["report_rollups", "report_ticket_cells", "report_days", "report_day_hours"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1")).bind(tenant.0).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM report_cursors WHERE tenant_id = $1").bind(tenant.0).execute(&mut *tx).await?;
    tx.commit().await?;
    refresh(db, tenant, now, 0).await
}

/// The roll-up rows of a company that are not zero (tests compare them).
pub async fn rollup_cells<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Cells, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT hour, department_id, agent_id, metric, bucket, n, total FROM report_rollups
         WHERE tenant_id = $1 AND (n <> 0 OR total <> 0)",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let mut out = Cells::new();
    for r in &rows {
        let code: String = r.try_get(3)?;
        let Some(metric) = Metric::parse(&code) else { continue };
        out.insert(
            Key { hour: r.try_get(0)?, department: r.try_get(1)?, agent: r.try_get(2)?, metric, bucket: r.try_get(4)? },
            Cell { n: r.try_get(5)?, total: r.try_get(6)? },
        );
    }
    Ok(out)
}

/// Which roll-ups a read covers: [from, to) and optionally one department / one agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope {
    pub from: i64,
    pub to: i64,
    pub department: Option<i64>,
    pub agent: Option<i64>,
    /// The whole local days of this zone are read from the day tables (the caller checked they
    /// are in it, [`days::zone`]); None: everything from the hourly table.
    pub days: Option<Tz>,
}

impl Scope {
    fn split(&self) -> Split {
        match self.days {
            Some(tz) => reports::days::split(tz, self.from, self.to),
            None => Split::hours(self.from, self.to),
        }
    }
}

/// The split's whole days as stored day codes.
fn day_codes(split: &Split) -> Option<(i64, i64)> {
    split.days.map(|(a, b)| (reports::days::day_code(a), reports::days::day_code(b)))
}

fn scope_sql(s: &Scope) -> String {
    format!("tenant_id = $1 AND hour >= $2 AND hour < $3{}", days::filters(s, true))
}

/// The period's cells summed (per agent when `by_agent`, else all under 0): whole days from the
/// day tables, the edges from the hourly table.
async fn summed<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    s: &Scope,
    by_agent: bool,
) -> Result<BTreeMap<i64, Sums>, sqlx::Error> {
    let split = s.split();
    let mut out: BTreeMap<i64, Sums> = BTreeMap::new();
    if let Some(codes) = day_codes(&split) {
        days::add_sums(ex, tenant, s, codes, by_agent, &mut out).await?;
    }
    let (select, group) = if by_agent { ("agent_id", "agent_id, ") } else { ("0", "") };
    let sql = format!(
        "SELECT {select}, metric, bucket, CAST(SUM(n) AS BIGINT), CAST(SUM(total) AS BIGINT) FROM report_rollups WHERE {}
         GROUP BY {group}metric, bucket",
        scope_sql(s)
    );
    for (from, to) in &split.edges {
        let rows = sqlx::query(&sql).bind(tenant.0).bind(*from).bind(*to).fetch_all(ex).await?;
        for r in &rows {
            if let Some(m) = Metric::parse(&r.try_get::<String, _>(1)?) {
                let e = out.entry(r.try_get(0)?).or_default().entry((m, r.try_get(2)?)).or_default();
                e.0 += r.try_get::<i64, _>(3)?;
                e.1 += r.try_get::<i64, _>(4)?;
            }
        }
    }
    Ok(out)
}

/// The period's cells summed by metric and bucket.
pub async fn sums<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    s: &Scope,
) -> Result<Sums, sqlx::Error> {
    Ok(summed(ex, tenant, s, false).await?.remove(&0).unwrap_or_default())
}

/// The period's cells summed per agent (agent 0: none), by metric and bucket.
pub async fn sums_by_agent<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    s: &Scope,
) -> Result<BTreeMap<i64, Sums>, sqlx::Error> {
    summed(ex, tenant, s, true).await
}

/// The period's charts in `tz` (the company's zone). `report_day_hours` has no agent, so a
/// person filter reads the charts from the hourly table.
pub async fn chart<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    s: &Scope,
    tz: Tz,
) -> Result<Chart, sqlx::Error> {
    let s = Scope { days: s.days.filter(|z| *z == tz && s.agent.is_none()), ..*s };
    let split = s.split();
    let mut chart = Chart::default();
    if let Some(codes) = day_codes(&split) {
        days::add_chart(ex, tenant, &s, codes, &mut chart).await?;
    }
    let list = CHART_METRICS.iter().map(|m| format!("'{}'", m.code())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT hour, metric, CAST(SUM(n) AS BIGINT) FROM report_rollups WHERE {} AND metric IN ({list})
         GROUP BY hour, metric",
        scope_sql(&s)
    );
    for (from, to) in &split.edges {
        let rows = sqlx::query(&sql).bind(tenant.0).bind(*from).bind(*to).fetch_all(ex).await?;
        for r in &rows {
            if let Some(m) = Metric::parse(&r.try_get::<String, _>(1)?) {
                chart.add_hour(tz, r.try_get(0)?, m, r.try_get(2)?);
            }
        }
    }
    Ok(chart)
}

/// One metric's count in [from, to) per department (0: none).
pub async fn sums_by_department<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    from: i64,
    to: i64,
    metric: Metric,
) -> Result<BTreeMap<i64, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT department_id, CAST(SUM(n) AS BIGINT) FROM report_rollups
         WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 AND metric = $4 GROUP BY department_id",
    )
    .bind(tenant.0)
    .bind(from)
    .bind(to)
    .bind(metric.code())
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Bench data only (`atende bench reports`): the history `store::seed` leaves out, derived
/// from each seeded ticket's columns — created (into its department), assigned to its agent a
/// second before its first reply, closed at `closed_at` — in one statement per kind.
pub async fn seed_history(db: &Db, tenant: TenantId) -> anyhow::Result<()> {
    let statements = [
        "INSERT INTO ticket_events (tenant_id, ticket_id, kind, to_department_id, data, created_at)
         SELECT tenant_id, id, 'created', department_id, '{}', created_at FROM tickets WHERE tenant_id = $1",
        "INSERT INTO ticket_events (tenant_id, ticket_id, kind, to_user_id, data, created_at)
         SELECT tenant_id, id, 'assigned', assignee_id, '{}', first_agent_reply_at - 1000 FROM tickets
         WHERE tenant_id = $1 AND assignee_id IS NOT NULL AND first_agent_reply_at IS NOT NULL",
        "INSERT INTO ticket_events (tenant_id, ticket_id, kind, data, created_at)
         SELECT tenant_id, id, 'closed', '{}', closed_at FROM tickets WHERE tenant_id = $1 AND closed_at IS NOT NULL",
    ];
    for sql in statements {
        let mut tx = db.begin().await?;
        sqlx::query(sql).bind(tenant.0).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}
