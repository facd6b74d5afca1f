//! Scheduled messages ("agendamentos"): when a schedule's occurrences fall. Pure arithmetic on
//! a rule written in local wall-clock time of the company's time zone.
//!
//! Every occurrence is computed from the rule's local date and time, never by adding 24 hours
//! to the previous one, so "every day at 09:00" stays at 09:00 across summer-time changes. A
//! local time that happens twice (clocks going back) maps to its earlier instant; one that does
//! not exist (clocks jumping forward) to the first instant after the gap. A monthly rule on a
//! day the month lacks (31 in April) falls on the month's last day.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;

/// How a schedule repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// One message, at the start.
    Once,
    /// Every day at the start's time.
    Daily,
    /// On the chosen weekdays (bit 0 = Monday … bit 6 = Sunday) at the start's time.
    Weekly { weekdays: u8 },
    /// On this day of every month (1–31; the last day in shorter months) at the start's time.
    Monthly { day: u8 },
}

impl Recurrence {
    /// The name stored and shown in the API: `once`, `daily`, `weekly`, `monthly`.
    pub fn kind(self) -> &'static str {
        match self {
            Recurrence::Once => "once",
            Recurrence::Daily => "daily",
            Recurrence::Weekly { .. } => "weekly",
            Recurrence::Monthly { .. } => "monthly",
        }
    }

    /// From the stored columns; None for an unknown kind or a rule that could never fire.
    pub fn from_parts(kind: &str, weekdays: u8, month_day: u8) -> Option<Recurrence> {
        match kind {
            "once" => Some(Recurrence::Once),
            "daily" => Some(Recurrence::Daily),
            "weekly" if weekdays & 0x7f != 0 => Some(Recurrence::Weekly { weekdays: weekdays & 0x7f }),
            "monthly" if (1..=31).contains(&month_day) => Some(Recurrence::Monthly { day: month_day }),
            _ => None,
        }
    }
}

/// A schedule's rule: the first local date and time, how it repeats, and when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Local wall-clock date and time of the first occurrence (seconds ignored).
    pub start: NaiveDateTime,
    pub recurrence: Recurrence,
    /// The last local date an occurrence may fall on (inclusive).
    pub until: Option<NaiveDate>,
    /// At most this many occurrences in all.
    pub count: Option<u32>,
}

/// Longest look-ahead, in days, for the next matching date (a guard; rules match far sooner).
const SEARCH_DAYS: i64 = 800;

/// The instant (Unix ms) of a local date and time in `tz`: the earlier of two when clocks go
/// back, the end of the gap when they jump over it; None outside chrono's years.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => Some(t.timestamp_millis()),
        None => chrono_tz::GapInfo::new(&local, &tz)?.end.map(|t| t.timestamp_millis()),
    }
}

/// The local wall-clock time of an instant in `tz`.
pub fn local_of(tz: Tz, at_ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(at_ms).map(|utc| utc.with_timezone(&tz).naive_local())
}

/// The days of a month (28–31).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    match (NaiveDate::from_ymd_opt(ny, nm, 1), NaiveDate::from_ymd_opt(year, month, 1)) {
        (Some(next), Some(first)) => (next - first).num_days() as u32,
        _ => 30,
    }
}

/// Whether a local date carries an occurrence of the recurrence (dates before the start aside).
pub fn matches(recurrence: Recurrence, start: NaiveDate, date: NaiveDate) -> bool {
    match recurrence {
        Recurrence::Once => date == start,
        Recurrence::Daily => true,
        Recurrence::Weekly { weekdays } => weekdays & (1 << date.weekday().num_days_from_monday()) != 0,
        Recurrence::Monthly { day } => date.day() == u32::from(day).min(days_in_month(date.year(), date.month())),
    }
}

fn time_of(rule: &Rule) -> NaiveTime {
    let t = rule.start.time();
    NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(t)
}

/// The first occurrence strictly after `after_ms` (Unix ms), given that `done` occurrences have
/// already been handled; None when the rule has ended (its count, its end date, a one-off done)
/// or nothing matches within the look-ahead.
pub fn next_after(rule: &Rule, tz: Tz, after_ms: i64, done: u32) -> Option<i64> {
    if rule.count.is_some_and(|c| done >= c) {
        return None;
    }
    let time = time_of(rule);
    let start_date = rule.start.date();
    // A day before the instant's local date: an occurrence there can still be later in UTC
    // only by a gap's length, and starting early never skips one.
    let from = local_of(tz, after_ms)?.date().pred_opt()?.max(start_date);
    let mut date = from;
    for _ in 0..SEARCH_DAYS {
        if rule.until.is_some_and(|u| date > u) {
            return None;
        }
        if rule.recurrence == Recurrence::Once && date > start_date {
            return None;
        }
        if matches(rule.recurrence, start_date, date) {
            let at = resolve_local(tz, date.and_time(time))?;
            if at > after_ms {
                return Some(at);
            }
        }
        date = date.succ_opt()?;
    }
    None
}

/// The first occurrence of the rule at all (the start if it matches, else the next match).
pub fn first(rule: &Rule, tz: Tz) -> Option<i64> {
    let day_before = rule.start.date().pred_opt()?.and_time(time_of(rule));
    let before = resolve_local(tz, day_before)?.checked_sub(Duration::days(1).num_milliseconds())?;
    next_after(rule, tz, before, 0)
}

/// Parses "2026-12-24T09:30" or "2026-12-24 09:30" (seconds allowed) as a local date and time.
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// Formats a local date and time as the forms and the API write it: "2026-12-24T09:30".
pub fn format_local(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// Weekday bits from names or numbers ("mon,wed" / "seg,qua" / "1,3", Monday = 1).
pub fn parse_weekdays(items: &[String]) -> Option<u8> {
    const NAMES: [[&str; 3]; 7] = [
        ["mon", "seg", "1"],
        ["tue", "ter", "2"],
        ["wed", "qua", "3"],
        ["thu", "qui", "4"],
        ["fri", "sex", "5"],
        ["sat", "sab", "6"],
        ["sun", "dom", "7"],
    ];
    let mut bits = 0u8;
    for item in items {
        let low = item.trim().to_lowercase().replace('á', "a");
        let key: String = low.chars().take(3).collect();
        let i = NAMES.iter().position(|n| n.contains(&key.as_str()))?;
        bits |= 1 << i;
    }
    Some(bits)
}

/// The weekday keys of a bit set, Monday first ("mon", "tue", …).
pub fn weekday_keys(bits: u8) -> Vec<&'static str> {
    const KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    (0..7).filter(|i| bits & (1 << i) != 0).map(|i| KEYS[i]).collect()
}

#[cfg(test)]
mod tests;
