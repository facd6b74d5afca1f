//! The day tables (`report_days`, `report_day_hours`, migration 0029; `domain::reports::days`
//! has the rules): written in the same transaction as the hourly cells, and read for the whole
//! local days of a period.
//!
//! They always equal the hourly table folded in the zone named by `report_cursors.day_zone`:
//! every difference applied to `report_rollups` while a zone is set is folded into them in the
//! same transaction ([`add`]), and when no zone is set (the first refresh after the upgrade,
//! after a rebuild) or the company's zone changed, the refresh's last transaction derives them
//! from the hourly table under the cursor lock ([`build`]).

use std::collections::BTreeMap;

use chrono::Days;
use chrono_tz::Tz;
use sqlx::{Any, Executor, Row};

use super::Scope;
use crate::domain::reports::days::{self as rules, Chart, DayHourKey, DayKey, CHART_METRICS};
use crate::domain::reports::range::{local_midnight, Sums};
use crate::domain::reports::{Cell, Key, Metric};
use crate::domain::TenantId;

const HOUR_MS: i64 = 3_600_000;

/// The zone the day tables are in; None when they are not derived yet (or name a zone this
/// build does not know).
pub async fn zone<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Option<Tz>, sqlx::Error> {
    let name: Option<String> = sqlx::query("SELECT day_zone FROM report_cursors WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get::<Option<String>, _>(0))
        .transpose()?
        .flatten();
    Ok(name.and_then(|n| crate::domain::hours::parse_tz(&n)))
}

/// Folds a ticket's hourly difference into the day tables (inside the hourly cells' transaction).
pub async fn add(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    tz: Tz,
    delta: &[(Key, Cell)],
) -> Result<(), sqlx::Error> {
    let (days, charts) = rules::fold(tz, delta.iter().copied());
    for ((day, department, agent, metric, bucket), c) in days {
        sqlx::query(
            "INSERT INTO report_days (tenant_id, day, department_id, agent_id, metric, bucket, n, total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tenant_id, day, department_id, agent_id, metric, bucket)
             DO UPDATE SET n = report_days.n + excluded.n, total = report_days.total + excluded.total",
        )
        .bind(tenant.0)
        .bind(day)
        .bind(department)
        .bind(agent)
        .bind(metric.code())
        .bind(bucket)
        .bind(c.n)
        .bind(c.total)
        .execute(&mut **tx)
        .await?;
    }
    for ((day, hod, department, metric), n) in charts {
        sqlx::query(
            "INSERT INTO report_day_hours (tenant_id, day, hour_of_day, department_id, metric, n)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, day, hour_of_day, department_id, metric)
             DO UPDATE SET n = report_day_hours.n + excluded.n",
        )
        .bind(tenant.0)
        .bind(day)
        .bind(i64::from(hod))
        .bind(department)
        .bind(metric.code())
        .bind(n)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn chart_metric_list() -> String {
    CHART_METRICS.iter().map(|m| format!("'{}'", m.code())).collect::<Vec<_>>().join(", ")
}

/// Replaces the day tables with the hourly table folded in `tz` and records the zone, in `tx`
/// (which holds the cursor lock, so no difference is applied meanwhile). One statement per local
/// day for each table: the database does the summing.
pub async fn build(tx: &mut crate::store::Tx, tenant: TenantId, tz: Tz) -> Result<(), sqlx::Error> {
    for table in ["report_days", "report_day_hours"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1")).bind(tenant.0).execute(&mut **tx).await?;
    }
    let span = sqlx::query("SELECT MIN(hour), MAX(hour) FROM report_rollups WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(&mut **tx)
        .await?;
    let (first, last): (Option<i64>, Option<i64>) = (span.try_get(0)?, span.try_get(1)?);
    if let (Some((mut date, _)), Some((last, _))) =
        (first.and_then(|h| rules::local_slot(tz, h)), last.and_then(|h| rules::local_slot(tz, h)))
    {
        let list = chart_metric_list();
        while date <= last {
            let Some(next) = date.checked_add_days(Days::new(1)) else { break };
            let (from, to) = (local_midnight(tz, date), local_midnight(tz, next));
            let day = rules::day_code(date);
            sqlx::query(
                "INSERT INTO report_days (tenant_id, day, department_id, agent_id, metric, bucket, n, total)
                 SELECT tenant_id, $2, department_id, agent_id, metric, bucket, CAST(SUM(n) AS BIGINT), CAST(SUM(total) AS BIGINT)
                 FROM report_rollups WHERE tenant_id = $1 AND hour >= $3 AND hour < $4
                 GROUP BY tenant_id, department_id, agent_id, metric, bucket",
            )
            .bind(tenant.0)
            .bind(day)
            .bind(from)
            .bind(to)
            .execute(&mut **tx)
            .await?;
            // The local hour of each UTC hour of the day, as numbers in a CASE: a day has 23 to
            // 25 of them, and summer time makes the mapping irregular.
            let mut case = String::from("CASE hour");
            let mut h = from + (HOUR_MS - from.rem_euclid(HOUR_MS)) % HOUR_MS;
            while h < to {
                if let Some((_, hod)) = rules::local_slot(tz, h) {
                    case.push_str(&format!(" WHEN {h} THEN {hod}"));
                }
                h += HOUR_MS;
            }
            case.push_str(" ELSE 0 END");
            sqlx::query(&format!(
                "INSERT INTO report_day_hours (tenant_id, day, hour_of_day, department_id, metric, n)
                 SELECT tenant_id, $2, {case}, department_id, metric, CAST(SUM(n) AS BIGINT)
                 FROM report_rollups WHERE tenant_id = $1 AND hour >= $3 AND hour < $4 AND metric IN ({list})
                 GROUP BY tenant_id, {case}, department_id, metric"
            ))
            .bind(tenant.0)
            .bind(day)
            .bind(from)
            .bind(to)
            .execute(&mut **tx)
            .await?;
            date = next;
        }
    }
    sqlx::query("UPDATE report_cursors SET day_zone = $1 WHERE tenant_id = $2")
        .bind(tz.name())
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The day tables' rows that are not zero (tests compare them with the hourly table folded).
pub async fn cells<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
) -> Result<(BTreeMap<DayKey, Cell>, BTreeMap<DayHourKey, i64>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT day, department_id, agent_id, metric, bucket, n, total FROM report_days
         WHERE tenant_id = $1 AND (n <> 0 OR total <> 0)",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let mut days = BTreeMap::new();
    for r in &rows {
        let Some(metric) = Metric::parse(&r.try_get::<String, _>(3)?) else { continue };
        days.insert(
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, metric, r.try_get(4)?),
            Cell { n: r.try_get(5)?, total: r.try_get(6)? },
        );
    }
    let rows = sqlx::query(
        "SELECT day, hour_of_day, department_id, metric, n FROM report_day_hours WHERE tenant_id = $1 AND n <> 0",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let mut charts = BTreeMap::new();
    for r in &rows {
        let Some(metric) = Metric::parse(&r.try_get::<String, _>(3)?) else { continue };
        let hod = u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(u32::MAX);
        charts.insert((r.try_get(0)?, hod, r.try_get(2)?, metric), r.try_get(4)?);
    }
    Ok((days, charts))
}

/// `AND department_id = … AND agent_id = …` for the scope's filters (numbers only).
pub(super) fn filters(s: &Scope, with_agent: bool) -> String {
    let mut sql = String::new();
    if let Some(d) = s.department {
        sql.push_str(&format!(" AND department_id = {d}"));
    }
    if let (Some(a), true) = (s.agent, with_agent) {
        sql.push_str(&format!(" AND agent_id = {a}"));
    }
    sql
}

/// Adds the day cells of days [first, end) to `out` (keyed by agent when `by_agent`; else
/// under agent 0).
pub(super) async fn add_sums<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: &Scope,
    (first, end): (i64, i64),
    by_agent: bool,
    out: &mut BTreeMap<i64, Sums>,
) -> Result<(), sqlx::Error> {
    let (select, group) = if by_agent { ("agent_id", "agent_id, ") } else { ("0", "") };
    let sql = format!(
        "SELECT {select}, metric, bucket, CAST(SUM(n) AS BIGINT), CAST(SUM(total) AS BIGINT) FROM report_days
         WHERE tenant_id = $1 AND day >= $2 AND day < $3{} GROUP BY {group}metric, bucket",
        filters(s, true)
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(first).bind(end).fetch_all(ex).await?;
    for r in &rows {
        if let Some(m) = Metric::parse(&r.try_get::<String, _>(1)?) {
            let e = out.entry(r.try_get(0)?).or_default().entry((m, r.try_get(2)?)).or_default();
            e.0 += r.try_get::<i64, _>(3)?;
            e.1 += r.try_get::<i64, _>(4)?;
        }
    }
    Ok(())
}

/// Adds the chart cells of days [first, end) to `chart`.
pub(super) async fn add_chart<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: &Scope,
    (first, end): (i64, i64),
    chart: &mut Chart,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT day, hour_of_day, metric, CAST(SUM(n) AS BIGINT) FROM report_day_hours
         WHERE tenant_id = $1 AND day >= $2 AND day < $3{} GROUP BY day, hour_of_day, metric",
        filters(s, false)
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(first).bind(end).fetch_all(ex).await?;
    for r in &rows {
        let (Some(date), Some(metric)) = (rules::date_of(r.try_get(0)?), Metric::parse(&r.try_get::<String, _>(2)?))
        else {
            continue;
        };
        let hod = u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(u32::MAX);
        chart.add(date, hod, metric, r.try_get(3)?);
    }
    Ok(())
}
