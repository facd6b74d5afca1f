//! Business hours ("Horários"): weekly intervals in a company's time zone, minus Brazil's
//! holidays and the company's own closures; whether it is open now and when it opens next.
//!
//! Intervals are wall-clock times of the company's zone. Each boundary of a local date maps to
//! one instant: an ambiguous local time (clocks going back) to its earliest instant, a local time
//! that does not exist (clocks going forward) to the first instant after the gap. A local date is
//! then the span of instants from its 00:00 to the next date's 00:00, so an interval ending at
//! 24:00 and the next day's starting at 00:00 meet exactly, and on a day when clocks go back an
//! interval "01:30–03:00" stays open through the repeated hour instead of opening twice.

mod holidays;

pub use holidays::{
    closures_between, closures_on, easter, format_custom_dates, national_holidays, optional_closure,
    parse_custom_dates, Calendar, Closure, CustomDate, OptionalHoliday, ALL_DAY, MAX_LISTED_DAYS,
};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// Minutes since local midnight, [start, end), 0 <= start < end <= 1440.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawInterval")]
pub struct Interval {
    pub start: u16,
    pub end: u16,
}

/// What JSON holds, checked before it becomes an `Interval`.
#[derive(serde::Deserialize)]
struct RawInterval {
    start: u16,
    end: u16,
}

impl TryFrom<RawInterval> for Interval {
    type Error = String;
    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        Interval::new(raw.start, raw.end).ok_or_else(|| format!("invalid interval {}..{}", raw.start, raw.end))
    }
}

/// Why a range of times was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bad {
    Format,
    OutOfDay,
    Backwards,
}

/// "8", "08:00", "8h", "08h30", "24:00" as minutes since midnight.
fn parse_clock(s: &str) -> Result<u16, Bad> {
    let (hours, minutes) = match s.find([':', 'h', 'H']) {
        // Only "8h" may leave the minutes out; "8:" is a typo.
        Some(i) if s[i + 1..].is_empty() && !s[i..].starts_with(':') => (&s[..i], "00"),
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, "00"),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&hours.len()) || minutes.len() != 2 || !digits(hours) || !digits(minutes) {
        return Err(Bad::Format);
    }
    let (h, m): (u16, u16) = (hours.parse().map_err(|_| Bad::Format)?, minutes.parse().map_err(|_| Bad::Format)?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(Bad::OutOfDay);
    }
    Ok(h * 60 + m)
}

fn parse_interval(s: &str) -> Result<Interval, Bad> {
    let s = s.trim();
    let (a, b) = match s.find(['-', '–', '—']) {
        Some(i) => {
            let dash = s[i..].chars().next().map_or(1, char::len_utf8);
            (&s[..i], &s[i + dash..])
        }
        // "8h às 12h", as people write it in Portuguese.
        None => match s.split_whitespace().collect::<Vec<_>>()[..] {
            [a, word, b] if ["às", "as", "a", "até"].iter().any(|w| w.eq_ignore_ascii_case(word)) => (a, b),
            _ => return Err(Bad::Format),
        },
    };
    let (start, end) = (parse_clock(a.trim())?, parse_clock(b.trim())?);
    if start >= end {
        return Err(if start == 1440 { Bad::OutOfDay } else { Bad::Backwards });
    }
    Ok(Interval { start, end })
}

impl Interval {
    pub fn new(start: u16, end: u16) -> Option<Interval> {
        (start < end && end <= 1440).then_some(Interval { start, end })
    }

    /// "08:00-12:00" (also "8:00 - 12:00", "08h00-12h00", "8h-12h", "8h às 12h", "13:30–18:00"
    /// with an en dash); "24:00" allowed as an end.
    pub fn parse(s: &str) -> Option<Interval> {
        parse_interval(s).ok()
    }
}

/// The interval cut to the day, or None when it holds no minute: fields are public, so a
/// hand-built interval may be backwards or run past midnight, and every rule here must bear it.
fn clipped(i: Interval) -> Option<Interval> {
    Interval::new(i.start, i.end.min(1440))
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, e) = (self.start, self.end);
        write!(f, "{:02}:{:02}–{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

/// Several intervals per weekday; index 0 = Monday … 6 = Sunday. Intervals of a day sorted,
/// non-overlapping (as `parse_day` makes them; the rules below still bear any order).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WeekSchedule {
    pub days: [Vec<Interval>; 7],
}

impl WeekSchedule {
    /// Mon–Fri 08:00–18:00, closed Sat/Sun (the demo's).
    pub fn weekdays_8_to_18() -> WeekSchedule {
        let mut s = WeekSchedule::default();
        for day in &mut s.days[..5] {
            day.push(Interval { start: 480, end: 1080 });
        }
        s
    }

    /// Every day 00:00–24:00.
    pub fn always_open() -> WeekSchedule {
        WeekSchedule { days: std::array::from_fn(|_| vec![ALL_DAY]) }
    }

    /// One day's text like "08:00-12:00, 13:30-18:00" (commas, semicolons or lines between
    /// intervals; empty = closed), sorted; Err(message) names the bad part. Overlaps are refused;
    /// intervals that only touch ("08:00-12:00, 12:00-14:00") are fine.
    pub fn parse_day(s: &str) -> Result<Vec<Interval>, String> {
        let mut day = Vec::new();
        for part in s.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            day.push(parse_interval(part).map_err(|bad| match bad {
                Bad::Format => format!("\"{part}\" is not a range of times such as 08:00-12:00"),
                Bad::OutOfDay => format!("\"{part}\": times go from 00:00 to 24:00"),
                Bad::Backwards => format!("\"{part}\": the end must come after the start (split a night at 24:00)"),
            })?);
        }
        day.sort_by_key(|i| (i.start, i.end));
        if let Some(w) = day.windows(2).find(|w| w[1].start < w[0].end) {
            return Err(format!("\"{}\" and \"{}\" overlap", w[0], w[1]));
        }
        Ok(day)
    }

    /// "08:00–12:00, 13:30–18:00", or "" when closed (or `weekday` > 6).
    pub fn format_day(&self, weekday: usize) -> String {
        let day = self.days.get(weekday).map_or(&[][..], Vec::as_slice);
        day.iter().map(Interval::to_string).collect::<Vec<_>>().join(", ")
    }

    /// No interval on any day. Such a schedule is never open (`is_open` false, `next_opening`
    /// None); a caller for whom "no hours set" means "always open" checks this first.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Whether any day holds a minute (empty or backwards intervals hold none).
    fn has_hours(&self) -> bool {
        self.days.iter().flatten().any(|i| clipped(*i).is_some())
    }
}

const DAY_MS: i64 = 86_400_000;
/// How far `next_opening` looks.
const SEARCH_DAYS: i64 = 400;

/// The wall-clock time of an instant; None outside chrono's years.
fn local_of(tz: Tz, at_ms: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp_millis(at_ms)?.naive_utc();
    // By hand, because `DateTime::naive_local` panics at the ends of chrono's range.
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// The wall-clock time of an instant in `tz` (dates shown to people); None outside chrono's
/// years.
pub fn wall_clock(tz: Tz, at_ms: i64) -> Option<NaiveDateTime> {
    local_of(tz, at_ms)
}

/// Minutes `tz` is ahead of UTC at the instant `at_ms` (negative west of Greenwich; summer time
/// counted), e.g. -180 for São Paulo.
pub fn offset_minutes(tz: Tz, at_ms: i64) -> i64 {
    match DateTime::from_timestamp_millis(at_ms) {
        Some(utc) => i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()) / 60,
        None => 0,
    }
}

/// The instant (Unix ms) at which `minute` of local `date` begins (1440 = the next date's 00:00):
/// the earliest of two when clocks go back, the end of the gap when they jump over it.
fn resolve(tz: Tz, date: NaiveDate, minute: u16) -> Option<i64> {
    let (date, minute) = if minute >= 1440 { (date.succ_opt()?, 0) } else { (date, minute) };
    let local = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => Some(t.timestamp_millis()),
        None => chrono_tz::GapInfo::new(&local, &tz)?.end.map(|t| t.timestamp_millis()),
    }
}

/// The open minutes of a local date: the weekday's intervals merged, less its closures.
fn open_minutes(schedule: &WeekSchedule, calendar: &Calendar, date: NaiveDate) -> Vec<(u16, u16)> {
    let weekday = date.weekday().num_days_from_monday() as usize;
    let mut day: Vec<Interval> = schedule.days.get(weekday).into_iter().flatten().filter_map(|i| clipped(*i)).collect();
    day.sort_by_key(|i| i.start);
    let mut open: Vec<(u16, u16)> = Vec::new();
    for i in day {
        match open.last_mut() {
            Some(last) if i.start <= last.1 => last.1 = last.1.max(i.end),
            _ => open.push((i.start, i.end)),
        }
    }
    if open.is_empty() {
        return open;
    }
    for cut in closures_on(calendar, date) {
        let (cs, ce) = (cut.range.start, cut.range.end);
        open = open
            .into_iter()
            .flat_map(|(s, e)| {
                if ce <= s || cs >= e {
                    return vec![(s, e)];
                }
                [(s, cs), (ce, e)].into_iter().filter(|(a, b)| a < b).collect()
            })
            .collect();
    }
    open
}

/// The open spans of a local date as instants [start, end), sorted, inside the date's own span.
fn day_spans(schedule: &WeekSchedule, calendar: &Calendar, tz: Tz, date: NaiveDate) -> Vec<(i64, i64)> {
    let open = open_minutes(schedule, calendar, date);
    let (Some(first), Some(last)) = (resolve(tz, date, 0), resolve(tz, date, 1440)) else { return Vec::new() };
    let mut spans = Vec::new();
    let mut floor = first;
    for (s, e) in open {
        let (Some(a), Some(b)) = (resolve(tz, date, s), resolve(tz, date, e)) else { continue };
        // Clamped so that spans never overlap each other or another date's, whatever a zone's
        // history does; is_open and next_opening then agree by construction.
        let a = a.max(floor).min(last);
        let b = b.max(a).min(last);
        if a < b {
            spans.push((a, b));
            floor = b;
        }
    }
    spans
}

/// The local date whose span holds the instant (its wall-clock date, except in an hour that
/// repeats across midnight, which belongs to the date before).
fn span_date(tz: Tz, at_ms: i64) -> Option<NaiveDate> {
    let date = local_of(tz, at_ms)?.date();
    if at_ms < resolve(tz, date, 0)? {
        date.pred_opt()
    } else if at_ms >= resolve(tz, date, 1440)? {
        date.succ_opt()
    } else {
        Some(date)
    }
}

/// The week that rules a department: its own when it has one with any interval, else the
/// company's (a department "follows the company" until it sets hours of its own). The company's
/// calendar applies to every department.
pub fn schedule_for<'a>(company: &'a WeekSchedule, department: Option<&'a WeekSchedule>) -> &'a WeekSchedule {
    department.filter(|d| !d.is_empty()).unwrap_or(company)
}

/// Open at the instant `at_ms` (Unix ms, UTC) in time zone `tz`, for a department with
/// `department`'s own week (None, or an empty week: the company's, see [`schedule_for`]): the
/// local time falls in one of the weekday's intervals and in no closure of that local date.
/// False for instants chrono cannot represent.
pub fn is_open(
    company: &WeekSchedule,
    department: Option<&WeekSchedule>,
    calendar: &Calendar,
    tz: Tz,
    at_ms: i64,
) -> bool {
    let schedule = schedule_for(company, department);
    if !schedule.has_hours() {
        return false;
    }
    span_date(tz, at_ms)
        .is_some_and(|date| day_spans(schedule, calendar, tz, date).iter().any(|&(s, e)| s <= at_ms && at_ms < e))
}

/// The first instant >= at_ms that is open (Unix ms) for the department (as [`is_open`] reads
/// `company` and `department`), at most 400 days after `at_ms`; None when never open in that
/// span (or `at_ms` is outside chrono's years). If already open, returns at_ms.
pub fn next_opening(
    company: &WeekSchedule,
    department: Option<&WeekSchedule>,
    calendar: &Calendar,
    tz: Tz,
    at_ms: i64,
) -> Option<i64> {
    let schedule = schedule_for(company, department);
    if !schedule.has_hours() {
        return None;
    }
    let limit = at_ms.saturating_add(SEARCH_DAYS * DAY_MS);
    let mut date = span_date(tz, at_ms)?;
    // Dates last about a day, so 400 days end well within this many; the bound is only a guard.
    for _ in 0..SEARCH_DAYS + 10 {
        if let Some(&(s, _)) = day_spans(schedule, calendar, tz, date).iter().find(|&&(_, e)| e > at_ms) {
            let opening = s.max(at_ms);
            return (opening <= limit).then_some(opening);
        }
        date = date.succ_opt()?;
        if resolve(tz, date, 0)? > limit {
            return None;
        }
    }
    None
}

/// Open time (ms) between two instants for the department (as [`is_open`] reads `company` and
/// `department`): the length of `[from, to)` that falls inside open spans, holidays and closures
/// left out. Looks at most 400 local dates past `from` (longer spans count only those); 0 when
/// `to <= from` or the week has no hours.
pub fn open_ms_between(
    company: &WeekSchedule,
    department: Option<&WeekSchedule>,
    calendar: &Calendar,
    tz: Tz,
    from: i64,
    to: i64,
) -> i64 {
    let schedule = schedule_for(company, department);
    if to <= from || !schedule.has_hours() {
        return 0;
    }
    let Some(mut date) = span_date(tz, from) else { return 0 };
    let mut total = 0;
    for _ in 0..SEARCH_DAYS {
        let Some(day_start) = resolve(tz, date, 0) else { break };
        if day_start >= to {
            break;
        }
        for (s, e) in day_spans(schedule, calendar, tz, date) {
            let (a, b) = (s.max(from), e.min(to));
            if a < b {
                total += b - a;
            }
        }
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    total
}

/// The instant at which `amount` ms of open time have passed since `from` (the inverse of
/// [`open_ms_between`]: `open_ms_between(from, add_open_ms(from, amount)) == amount`). The
/// answer is always an open instant or the end of an open span (an amount used up exactly as a
/// span closes ends there, not at the next opening). `amount <= 0` gives the first open instant
/// at or after `from`. None when the week has no hours or the open time is not reached within
/// 400 local dates of `from`.
pub fn add_open_ms(
    company: &WeekSchedule,
    department: Option<&WeekSchedule>,
    calendar: &Calendar,
    tz: Tz,
    from: i64,
    amount: i64,
) -> Option<i64> {
    let schedule = schedule_for(company, department);
    if !schedule.has_hours() {
        return None;
    }
    if amount <= 0 {
        return next_opening(company, department, calendar, tz, from);
    }
    let mut left = amount;
    let mut date = span_date(tz, from)?;
    for _ in 0..SEARCH_DAYS {
        for (s, e) in day_spans(schedule, calendar, tz, date) {
            let a = s.max(from);
            if a >= e {
                continue;
            }
            if e - a >= left {
                return Some(a + left);
            }
            left -= e - a;
        }
        date = date.succ_opt()?;
    }
    None
}

/// A time-zone name (IANA, e.g. "America/Sao_Paulo") parsed; None when unknown.
pub fn parse_tz(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

#[cfg(test)]
mod tests;
