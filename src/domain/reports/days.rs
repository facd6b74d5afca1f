//! Day roll-ups (migration 0029): the hourly cells summed per local day of the company's zone
//! (`report_days`) and, for the charts, per local day × local hour of day × department
//! (`report_day_hours`), so a 30-day read touches O(days) rows instead of one row per hour ×
//! department × agent × metric × bucket.
//!
//! A local day D holds exactly the UTC hours H with `local_midnight(D) <= H <
//! local_midnight(D + 1)`, the same cut [`super::range::Period::bounds`] makes. A read of [from,
//! to) is split ([`split`]) into the whole local days inside it, read from the day tables, and
//! the hours at either edge, read from the hourly table: together exactly the hours the hourly
//! table alone would have summed, so the figures are identical by construction.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;

use super::range::local_midnight;
use super::{Cell, Cells, Metric};
use crate::domain::hours::wall_clock;

/// What the charts count per local hour of day; the only metrics `report_day_hours` keeps.
pub const CHART_METRICS: [Metric; 4] = [Metric::MessagesIn, Metric::MessagesOut, Metric::New, Metric::Closed];

/// A local date as stored: yyyymmdd (readable in SQL, and ordered like the dates).
pub fn day_code(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
}

/// [`day_code`] read back.
pub fn date_of(code: i64) -> Option<NaiveDate> {
    let (y, m, d) = (code / 10_000, (code / 100) % 100, code % 100);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// The local day an hour cell (its UTC start) counts in, and that hour's local hour of day;
/// None outside chrono's years.
pub fn local_slot(tz: Tz, hour: i64) -> Option<(NaiveDate, u32)> {
    let wall = wall_clock(tz, hour)?;
    let mut date = wall.date();
    // The wall-clock date and the midnight cut can only disagree when a summer-time change
    // crosses midnight; the cut wins, because periods are cut there.
    if hour < local_midnight(tz, date) {
        date = date.pred_opt()?;
    } else if let Some(next) = date.succ_opt() {
        if hour >= local_midnight(tz, next) {
            date = next;
        }
    }
    Some((date, wall.hour()))
}

/// A read of [from, to) split for the tables: `days` = the whole local days [first, end) (end
/// exclusive), and `edges` = the UTC ranges left over at either side, for the hourly table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub days: Option<(NaiveDate, NaiveDate)>,
    pub edges: Vec<(i64, i64)>,
}

impl Split {
    /// Everything from the hourly table.
    pub fn hours(from: i64, to: i64) -> Split {
        Split { days: None, edges: if from < to { vec![(from, to)] } else { Vec::new() } }
    }
}

/// Splits [from, to) at the zone's local midnights (see the module's docs).
pub fn split(tz: Tz, from: i64, to: i64) -> Split {
    let whole = || -> Option<(NaiveDate, NaiveDate)> {
        let mut first = wall_clock(tz, from)?.date();
        while local_midnight(tz, first) < from {
            first = first.succ_opt()?;
        }
        let mut end = wall_clock(tz, to)?.date();
        while local_midnight(tz, end) > to {
            end = end.pred_opt()?;
        }
        (first < end).then_some((first, end))
    };
    let Some((first, end)) = whole() else { return Split::hours(from, to) };
    let (a, b) = (local_midnight(tz, first), local_midnight(tz, end));
    let edges = [(from, a), (b, to)].into_iter().filter(|(x, y)| x < y).collect();
    Split { days: Some((first, end)), edges }
}

/// A day cell's place: (day code, department, agent, metric, bucket).
pub type DayKey = (i64, i64, i64, Metric, i64);
/// A chart cell's place: (day code, local hour of day, department, metric).
pub type DayHourKey = (i64, u32, i64, Metric);

/// Hourly cells (or their difference) folded into day cells and chart cells in `tz`; cells that
/// sum to zero are left out.
pub fn fold(
    tz: Tz,
    cells: impl IntoIterator<Item = (super::Key, Cell)>,
) -> (BTreeMap<DayKey, Cell>, BTreeMap<DayHourKey, i64>) {
    let mut days: BTreeMap<DayKey, Cell> = BTreeMap::new();
    let mut charts: BTreeMap<DayHourKey, i64> = BTreeMap::new();
    // Tickets' cells repeat the same few hours: each hour's slot is worked out once.
    let mut slots: BTreeMap<i64, Option<(NaiveDate, u32)>> = BTreeMap::new();
    for (k, c) in cells {
        let Some((date, hod)) = *slots.entry(k.hour).or_insert_with(|| local_slot(tz, k.hour)) else { continue };
        let day = day_code(date);
        let d = days.entry((day, k.department, k.agent, k.metric, k.bucket)).or_default();
        d.n += c.n;
        d.total += c.total;
        if CHART_METRICS.contains(&k.metric) {
            *charts.entry((day, hod, k.department, k.metric)).or_default() += c.n;
        }
    }
    days.retain(|_, c| *c != Cell::default());
    charts.retain(|_, n| *n != 0);
    (days, charts)
}

/// [`fold`] over a whole set of hourly cells (tests compare it with the stored day tables).
pub fn fold_cells(tz: Tz, cells: &Cells) -> (BTreeMap<DayKey, Cell>, BTreeMap<DayHourKey, i64>) {
    fold(tz, cells.iter().map(|(k, c)| (*k, *c)))
}

/// The Painel's charts of a period, in the company's zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chart {
    /// Per local hour of day 0–23: [`CHART_METRICS`] in order (in, out, new, closed).
    pub by_hour: [[i64; 4]; 24],
    /// Per local day: new tickets and closed episodes.
    pub by_day: BTreeMap<NaiveDate, [i64; 2]>,
}

impl Chart {
    /// Counts `n` of `metric` in a local day and hour of day.
    pub fn add(&mut self, date: NaiveDate, hour_of_day: u32, metric: Metric, n: i64) {
        let Some(i) = CHART_METRICS.iter().position(|m| *m == metric) else { return };
        if let Some(slot) = self.by_hour.get_mut(hour_of_day as usize) {
            slot[i] += n;
        }
        if i >= 2 {
            self.by_day.entry(date).or_default()[i - 2] += n;
        }
    }

    /// Counts an hourly cell (its UTC hour) in the zone.
    pub fn add_hour(&mut self, tz: Tz, hour: i64, metric: Metric, n: i64) {
        if let Some((date, hod)) = local_slot(tz, hour) {
            self.add(date, hod, metric, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const HOUR: i64 = 3_600_000;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32) -> i64 {
        tz.with_ymd_and_hms(y, m, d, h, 0, 0).earliest().map(|t| t.timestamp_millis()).unwrap_or_default()
    }

    /// Every hour of [from, to) is read exactly once: from a whole day or from an edge.
    fn covers_once(tz: Tz, from: i64, to: i64) {
        let s = split(tz, from, to);
        let mut h = from - from.rem_euclid(HOUR);
        while h < to + HOUR {
            let in_range = h >= from && h < to;
            let by_day = s.days.is_some_and(|(a, b)| local_slot(tz, h).is_some_and(|(d, _)| d >= a && d < b));
            let by_edge = s.edges.iter().filter(|(x, y)| h >= *x && h < *y).count();
            assert_eq!(usize::from(by_day) + by_edge, usize::from(in_range), "{tz} hour {h} of [{from}, {to})");
            h += HOUR;
        }
    }

    #[test]
    fn a_period_of_whole_days_reads_only_days_and_a_partial_one_its_edges_by_the_hour() {
        let sp = chrono_tz::America::Sao_Paulo;
        let (from, to) = (at(sp, 2026, 11, 7, 0), at(sp, 2026, 12, 7, 0));
        let s = split(sp, from, to);
        let first = NaiveDate::from_ymd_opt(2026, 11, 7).unwrap_or_default();
        assert_eq!(s.days, Some((first, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default())));
        assert!(s.edges.is_empty());
        // Midnight to a quarter past ten: no whole day, all by the hour.
        let partial = split(sp, from, from + 10 * HOUR + 900_000);
        assert_eq!(partial, Split::hours(from, from + 10 * HOUR + 900_000));
        // Mid-day to mid-day three days later: two whole days and two edges.
        let s = split(sp, from + 5 * HOUR, from + 3 * 24 * HOUR + 5 * HOUR);
        assert_eq!(
            s.edges,
            vec![(from + 5 * HOUR, from + 24 * HOUR), (from + 3 * 24 * HOUR, from + 3 * 24 * HOUR + 5 * HOUR)]
        );
        assert_eq!(split(sp, i64::MIN, i64::MAX), Split::hours(i64::MIN, i64::MAX));
    }

    #[test]
    fn every_hour_is_read_once_across_summer_time_and_half_hour_zones() {
        // São Paulo had summer time starting at midnight (2018-11-04) and ending at midnight
        // (2019-02-17); Kolkata is UTC+5:30; Lord Howe changes by half an hour.
        for tz in [chrono_tz::America::Sao_Paulo, chrono_tz::Asia::Kolkata, chrono_tz::Australia::Lord_Howe] {
            for (y, m, d) in [(2018, 11, 2), (2019, 2, 15), (2026, 4, 3), (2026, 10, 2)] {
                let base = at(tz, y, m, d, 0);
                for (a, b) in [(0, 5 * 24), (3, 4 * 24 + 7), (1, 2), (0, 24), (13, 13 + 48)] {
                    covers_once(tz, base + a * HOUR, base + b * HOUR);
                    covers_once(tz, base + a * HOUR + 1_800_000, base + b * HOUR - 1_800_000);
                }
            }
        }
    }

    #[test]
    fn day_codes_read_back_and_keep_date_order() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default();
        assert_eq!(day_code(d), 20_261_206);
        assert_eq!(date_of(20_261_206), Some(d));
        assert!(day_code(d) < day_code(d.succ_opt().unwrap_or_default()));
        assert_eq!(date_of(20_261_399), None);
    }

    #[test]
    fn folding_sums_a_days_hours_and_charts_per_local_hour() {
        use super::super::Key;
        let sp = chrono_tz::America::Sao_Paulo;
        let key = |hour, metric, bucket| Key { hour, department: 2, agent: 5, metric, bucket };
        let nine = at(sp, 2026, 12, 6, 9);
        let cells = [
            (key(nine, Metric::MessagesIn, 0), Cell { n: 3, total: 0 }),
            (key(nine + HOUR, Metric::MessagesIn, 0), Cell { n: 2, total: 0 }),
            (key(nine, Metric::Wait, 4), Cell { n: 1, total: 400_000 }),
            (key(nine, Metric::Closed, 0), Cell { n: 1, total: 0 }),
            (key(nine, Metric::Closed, 0), Cell { n: -1, total: 0 }),
        ];
        let (days, charts) = fold(sp, cells);
        assert_eq!(days.get(&(20_261_206, 2, 5, Metric::MessagesIn, 0)), Some(&Cell { n: 5, total: 0 }));
        assert_eq!(days.get(&(20_261_206, 2, 5, Metric::Wait, 4)), Some(&Cell { n: 1, total: 400_000 }));
        assert_eq!(days.len(), 2, "cells that cancel out are left out: {days:?}");
        assert_eq!(charts.get(&(20_261_206, 9, 2, Metric::MessagesIn)), Some(&3));
        assert_eq!(charts.get(&(20_261_206, 10, 2, Metric::MessagesIn)), Some(&2));
        assert_eq!(charts.len(), 2, "no chart cell for wait times: {charts:?}");
    }
}
