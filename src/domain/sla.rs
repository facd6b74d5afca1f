//! Service levels (SLA): a ticket's urgency and complexity, the company's matrix of targets
//! (first response and resolution, in business-hours minutes), and the clock that counts open
//! time from the ticket's start, paused while the ticket waits on the customer.
//!
//! A deadline is the instant at which the target's open time has passed, not counting the open
//! time spent paused: `due = add_open(start, target + paused)`. Pausing at P and resuming at R adds
//! `open(P, R)` to `paused`, so the open time left at R equals the open time left at P — pausing
//! never shortens (nor lengthens) what remains.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::domain::hours::{self, Calendar, WeekSchedule};
use crate::domain::reports::BusinessClock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Simple,
    Moderate,
    Complex,
}

impl Urgency {
    pub const ALL: [Urgency; 4] = [Urgency::Low, Urgency::Medium, Urgency::High, Urgency::Critical];
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Medium => "medium",
            Urgency::High => "high",
            Urgency::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

impl Complexity {
    pub const ALL: [Complexity; 3] = [Complexity::Simple, Complexity::Moderate, Complexity::Complex];
    pub fn as_str(self) -> &'static str {
        match self {
            Complexity::Simple => "simple",
            Complexity::Moderate => "moderate",
            Complexity::Complex => "complex",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One cell of the matrix: targets in business-hours minutes (None: no target of that kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub first_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
}

/// The longest target accepted: 90 days of open time.
pub const MAX_TARGET_MINUTES: i64 = 90 * 24 * 60;

/// A policy: the matrix urgency × complexity → targets. A ticket not yet classified counts as
/// medium × moderate (so first responses are timed from the first message, before pre-analysis).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matrix(pub BTreeMap<(Urgency, Complexity), Target>);

/// The JSON form of one cell (a list of cells, every pair at most once).
#[derive(Serialize, Deserialize)]
struct Cell {
    urgency: Urgency,
    complexity: Complexity,
    #[serde(flatten)]
    target: Target,
}

pub const UNCLASSIFIED: (Urgency, Complexity) = (Urgency::Medium, Complexity::Moderate);

impl Matrix {
    /// The house default (the support process of 24–72 h): resolution by urgency and
    /// complexity, first response by urgency.
    pub fn default_support() -> Matrix {
        let hours = |h: i64| Some(h * 60);
        let mut m = BTreeMap::new();
        for u in Urgency::ALL {
            let first = match u {
                Urgency::Critical => Some(30),
                Urgency::High => hours(1),
                Urgency::Medium => hours(4),
                Urgency::Low => hours(8),
            };
            for c in Complexity::ALL {
                let resolution = match (u, c) {
                    (Urgency::Critical, Complexity::Simple) => hours(4),
                    (Urgency::Critical, Complexity::Moderate) => hours(8),
                    (Urgency::Critical, Complexity::Complex) | (Urgency::High, _) => hours(24),
                    (Urgency::Medium, Complexity::Simple) => hours(24),
                    (Urgency::Medium, Complexity::Moderate) | (Urgency::Low, Complexity::Simple) => hours(48),
                    (Urgency::Medium, Complexity::Complex) | (Urgency::Low, _) => hours(72),
                };
                m.insert((u, c), Target { first_response_minutes: first, resolution_minutes: resolution });
            }
        }
        Matrix(m)
    }

    pub fn target(&self, urgency: Option<Urgency>, complexity: Option<Complexity>) -> Target {
        let key = (urgency.unwrap_or(UNCLASSIFIED.0), complexity.unwrap_or(UNCLASSIFIED.1));
        self.0.get(&key).copied().unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        let cells: Vec<Cell> =
            self.0.iter().map(|(&(urgency, complexity), &target)| Cell { urgency, complexity, target }).collect();
        serde_json::to_string(&cells).unwrap_or_else(|_| "[]".into())
    }

    /// Parses and checks a matrix: each pair once, targets 1..=[`MAX_TARGET_MINUTES`].
    pub fn parse(json: &str) -> Result<Matrix, String> {
        let cells: Vec<Cell> = serde_json::from_str(json).map_err(|e| format!("not a list of cells: {e}"))?;
        Matrix::from_cells(cells.into_iter().map(|c| ((c.urgency, c.complexity), c.target)))
    }

    pub fn from_cells(cells: impl IntoIterator<Item = ((Urgency, Complexity), Target)>) -> Result<Matrix, String> {
        let mut m = BTreeMap::new();
        for (key, target) in cells {
            for minutes in [target.first_response_minutes, target.resolution_minutes].into_iter().flatten() {
                if !(1..=MAX_TARGET_MINUTES).contains(&minutes) {
                    return Err(format!("a target must be 1 to {MAX_TARGET_MINUTES} minutes (got {minutes})"));
                }
            }
            if m.insert(key, target).is_some() {
                return Err(format!("{} × {} is given twice", key.0.as_str(), key.1.as_str()));
            }
        }
        Ok(Matrix(m))
    }
}

/// The business hours a clock counts in.
pub struct Hours<'a> {
    pub company: &'a WeekSchedule,
    pub department: Option<&'a WeekSchedule>,
    pub calendar: &'a Calendar,
    pub tz: chrono_tz::Tz,
}

impl<'a> Hours<'a> {
    /// A department's hours from the company's business clock; a company with no hours counts
    /// every minute (as the reports do).
    pub fn of(clock: &'a BusinessClock, department: Option<i64>) -> Hours<'a> {
        static ALWAYS: LazyLock<WeekSchedule> = LazyLock::new(WeekSchedule::always_open);
        static NO_HOLIDAYS: LazyLock<Calendar> =
            LazyLock::new(|| Calendar { national: false, optional: Vec::new(), custom: Vec::new() });
        let own = department.and_then(|d| clock.departments.get(&d)).filter(|w| !w.is_empty());
        let tz = clock.tz.unwrap_or(chrono_tz::America::Sao_Paulo);
        match clock.company.as_ref().or(own) {
            Some(company) => Hours { company, department: own, calendar: &clock.calendar, tz },
            None => Hours { company: &ALWAYS, department: None, calendar: &NO_HOLIDAYS, tz },
        }
    }

    fn add(&self, from: i64, ms: i64) -> Option<i64> {
        hours::add_open_ms(self.company, self.department, self.calendar, self.tz, from, ms)
    }
    pub fn open_between(&self, from: i64, to: i64) -> i64 {
        hours::open_ms_between(self.company, self.department, self.calendar, self.tz, from, to)
    }
}

/// Share of a target at which the near-breach warning goes (80 %).
pub const WARN_PERMILLE: i64 = 800;

/// A deadline and its warning instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub warn_at: i64,
    pub due_at: i64,
}

/// The deadline of a `minutes` target started at `start`, with `paused_ms` of open time spent
/// paused. None without hours to count in (a week with no hours never reaches a target).
pub fn deadline(h: &Hours<'_>, start: i64, minutes: i64, paused_ms: i64) -> Option<Deadline> {
    let target = minutes.saturating_mul(60_000);
    let due_at = h.add(start, target.saturating_add(paused_ms))?;
    let warn_at = h.add(start, (target / 1000 * WARN_PERMILLE).saturating_add(paused_ms))?;
    Some(Deadline { warn_at, due_at })
}

/// Open time left before `due` at `now` (negative: late by that much open time).
pub fn remaining_ms(h: &Hours<'_>, now: i64, due: i64) -> i64 {
    if now <= due {
        h.open_between(now, due)
    } else {
        -h.open_between(due, now)
    }
}

/// Where a ticket stands against one target, for the inbox's badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    OnTrack,
    Warning,
    Breached,
    Paused,
    Met,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::OnTrack => "on_track",
            Level::Warning => "warning",
            Level::Breached => "breached",
            Level::Paused => "paused",
            Level::Met => "met",
        }
    }
}

/// The level of a target at `now`: met when it was done (`done_at`) by its due time, else by
/// where `now` falls; paused when the clock is stopped.
pub fn level(d: Deadline, now: i64, done_at: Option<i64>, paused: bool) -> Level {
    match done_at {
        Some(t) if t <= d.due_at => Level::Met,
        Some(_) => Level::Breached,
        None if now >= d.due_at => Level::Breached,
        None if paused => Level::Paused,
        None if now >= d.warn_at => Level::Warning,
        None => Level::OnTrack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::Sao_Paulo as SP;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        SP.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().timestamp_millis()
    }

    fn nine_to_five() -> WeekSchedule {
        let mut w = WeekSchedule::default();
        for day in &mut w.days[..5] {
            day.push(hours::Interval::new(9 * 60, 17 * 60).unwrap());
        }
        w
    }

    #[test]
    fn the_matrix_round_trips_and_refuses_bad_cells() {
        let m = Matrix::default_support();
        assert_eq!(m.0.len(), 12);
        assert_eq!(Matrix::parse(&m.to_json()).unwrap(), m);
        let t = m.target(Some(Urgency::Critical), Some(Complexity::Simple));
        assert_eq!(t.resolution_minutes, Some(240));
        assert_eq!(m.target(None, None), m.target(Some(Urgency::Medium), Some(Complexity::Moderate)));
        let twice = r#"[{"urgency":"low","complexity":"simple","resolution_minutes":60},
                        {"urgency":"low","complexity":"simple","resolution_minutes":90}]"#;
        assert!(Matrix::parse(twice).unwrap_err().contains("twice"));
        let zero = r#"[{"urgency":"low","complexity":"simple","resolution_minutes":0}]"#;
        assert!(Matrix::parse(zero).is_err());
        assert!(Matrix::parse(r#"[{"urgency":"urgentissimo","complexity":"simple"}]"#).is_err());
    }

    #[test]
    fn a_deadline_counts_business_hours_and_warns_at_80_percent() {
        let week = nine_to_five();
        let cal = Calendar::brazil();
        let h = Hours { company: &week, department: None, calendar: &cal, tz: SP };
        // Friday 16:30 + 1 h → Monday 09:30; 80 % (48 min) → Monday 09:18.
        let d = deadline(&h, at(2026, 12, 4, 16, 30), 60, 0).unwrap();
        assert_eq!(d.due_at, at(2026, 12, 7, 9, 30));
        assert_eq!(d.warn_at, at(2026, 12, 7, 9, 18));
        assert_eq!(level(d, at(2026, 12, 5, 12, 0), None, false), Level::OnTrack);
        assert_eq!(level(d, at(2026, 12, 7, 9, 20), None, false), Level::Warning);
        assert_eq!(level(d, at(2026, 12, 7, 9, 30), None, false), Level::Breached);
        assert_eq!(level(d, at(2026, 12, 7, 9, 30), Some(at(2026, 12, 7, 9, 29)), false), Level::Met);
        assert_eq!(remaining_ms(&h, at(2026, 12, 7, 9, 0), d.due_at), 30 * 60_000);
        assert_eq!(remaining_ms(&h, at(2026, 12, 7, 10, 0), d.due_at), -30 * 60_000);
    }

    /// xorshift: deterministic, so a failure repeats.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn deadlines_fall_in_business_hours_and_pausing_never_shortens_what_is_left() {
        let week = nine_to_five();
        let mut cal = Calendar::brazil();
        cal.custom = hours::parse_custom_dates("24/12/2026 12:00-17:00").unwrap();
        let h = Hours { company: &week, department: None, calendar: &cal, tz: SP };
        let base = at(2026, 11, 1, 0, 0);
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3_000 {
            let start = base + (rng(&mut s) % (60 * 86_400_000)) as i64;
            let minutes = 1 + (rng(&mut s) % (72 * 60)) as i64;
            let d = deadline(&h, start, minutes, 0).unwrap();
            // Inside business hours (the last counted minute is open), after the start.
            assert!(d.due_at > start && d.warn_at <= d.due_at);
            assert!(hours::is_open(&week, None, &cal, SP, d.due_at - 1));
            assert_eq!(h.open_between(start, d.due_at), minutes * 60_000);
            // Pause at some instant before the deadline, resume later.
            let pause = start + (rng(&mut s) % ((d.due_at - start) as u64)) as i64;
            let resume = pause + (rng(&mut s) % (5 * 86_400_000)) as i64;
            let left_at_pause = remaining_ms(&h, pause, d.due_at);
            let paused_ms = h.open_between(pause, resume);
            let after = deadline(&h, start, minutes, paused_ms).unwrap();
            assert!(after.due_at >= d.due_at, "a pause never brings the deadline closer");
            assert_eq!(remaining_ms(&h, resume, after.due_at), left_at_pause, "the time left is kept");
        }
    }
}
