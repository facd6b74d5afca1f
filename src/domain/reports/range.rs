//! Figures of a period from summed roll-up cells: counts, averages, p90 from the histogram,
//! rates, and the period's bounds in the company's time zone.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;

use super::{Metric, Outcome, BUCKET_BOUNDS_S};

/// A duration figure: how many, the mean, and the p90 as its histogram bucket's upper bound
/// (None when the 90th percentile falls in the open-ended last bucket).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Duration {
    pub count: i64,
    /// Mean in seconds (None when count is 0).
    pub avg_s: Option<i64>,
    /// The 90th percentile is at most this many seconds.
    pub p90_max_s: Option<i64>,
}

/// A time figure in wall-clock and in business hours.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TimeFigure {
    pub wall: Duration,
    pub business: Duration,
}

/// The period's figures (docs/REPORTS.md defines each).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Tickets created.
    pub new_tickets: i64,
    /// Episodes opened again.
    pub reopened: i64,
    /// Episodes closed (all outcomes).
    pub closed: i64,
    /// Closed after a person answered.
    pub resolved_by_people: i64,
    /// Closed by the chatbot alone.
    pub resolved_by_bot: i64,
    /// Handed to people and closed with no human reply.
    pub closed_unanswered: i64,
    /// reopened / closed, 0–1 (None without closes).
    pub reopen_rate: Option<f64>,
    /// resolved_by_bot / closed.
    pub bot_share: Option<f64>,
    pub wait: TimeFigure,
    pub first_response: TimeFigure,
    pub resolution: TimeFigure,
    /// CSAT answers per rating 1–5.
    pub ratings: [i64; 5],
    pub rating_avg: Option<f64>,
    /// Answers / episodes resolved by people.
    pub rating_response_rate: Option<f64>,
    pub messages_in: i64,
    pub messages_out_people: i64,
    pub messages_out_bot: i64,
}

/// Summed cells of a period: (metric, bucket) → (n, total ms).
pub type Sums = BTreeMap<(Metric, i64), (i64, i64)>;

fn duration(sums: &Sums, metric: Metric) -> Duration {
    let rows: Vec<(i64, i64, i64)> =
        sums.iter().filter(|((m, _), _)| *m == metric).map(|((_, b), (n, t))| (*b, *n, *t)).collect();
    let count: i64 = rows.iter().map(|r| r.1).sum();
    if count <= 0 {
        return Duration::default();
    }
    let total: i64 = rows.iter().map(|r| r.2).sum();
    // The smallest bucket where the running count reaches 90 % (rounded up).
    let target = (count * 9 + 9) / 10;
    let mut running = 0;
    let mut p90 = None;
    for (b, n, _) in &rows {
        running += n;
        if running >= target {
            p90 = BUCKET_BOUNDS_S.get(*b as usize).copied();
            break;
        }
    }
    Duration { count, avg_s: Some(total / count / 1000), p90_max_s: p90 }
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn n(sums: &Sums, metric: Metric, bucket: Option<i64>) -> i64 {
    sums.iter().filter(|((m, b), _)| *m == metric && bucket.is_none_or(|x| x == *b)).map(|(_, (n, _))| n).sum()
}

pub fn summarize(sums: &Sums) -> Summary {
    let closed = n(sums, Metric::Closed, None);
    let people = n(sums, Metric::Closed, Some(Outcome::Human as i64));
    let bot = n(sums, Metric::Closed, Some(Outcome::BotOnly as i64));
    let reopened = n(sums, Metric::Reopened, None);
    let mut ratings = [0; 5];
    for (i, r) in ratings.iter_mut().enumerate() {
        *r = n(sums, Metric::Rating, Some(i as i64 + 1));
    }
    let answers: i64 = ratings.iter().sum();
    let weighted: i64 = ratings.iter().enumerate().map(|(i, r)| (i as i64 + 1) * r).sum();
    Summary {
        new_tickets: n(sums, Metric::New, None),
        reopened,
        closed,
        resolved_by_people: people,
        resolved_by_bot: bot,
        closed_unanswered: n(sums, Metric::Closed, Some(Outcome::Unanswered as i64)),
        reopen_rate: ratio(reopened, closed),
        bot_share: ratio(bot, closed),
        wait: TimeFigure { wall: duration(sums, Metric::Wait), business: duration(sums, Metric::WaitBusiness) },
        first_response: TimeFigure {
            wall: duration(sums, Metric::FirstResponse),
            business: duration(sums, Metric::FirstResponseBusiness),
        },
        resolution: TimeFigure {
            wall: duration(sums, Metric::Resolution),
            business: duration(sums, Metric::ResolutionBusiness),
        },
        ratings,
        rating_avg: ratio(weighted, answers),
        rating_response_rate: ratio(answers, people),
        messages_in: n(sums, Metric::MessagesIn, None),
        messages_out_people: n(sums, Metric::MessagesOut, Some(0)),
        messages_out_bot: n(sums, Metric::MessagesOut, Some(1)),
    }
}

/// A named period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Today,
    Days7,
    Days30,
    /// Local dates, both inclusive.
    Custom(NaiveDate, NaiveDate),
}

/// The most days a custom period may cover.
pub const MAX_DAYS: i64 = 366;

impl Period {
    /// "today", "7d", "30d", or a custom range from two `aaaa-mm-dd` dates.
    pub fn parse(name: &str, from: Option<&str>, to: Option<&str>) -> Result<Period, &'static str> {
        match name {
            "" | "today" => Ok(Period::Today),
            "7d" => Ok(Period::Days7),
            "30d" => Ok(Period::Days30),
            "custom" => {
                let date = |s: Option<&str>| s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok());
                let (Some(a), Some(b)) = (date(from), date(to)) else { return Err("invalid_date") };
                if b < a || (b - a).num_days() >= MAX_DAYS {
                    return Err("invalid_range");
                }
                Ok(Period::Custom(a, b))
            }
            _ => Err("invalid_period"),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Days7 => "7d",
            Period::Days30 => "30d",
            Period::Custom(..) => "custom",
        }
    }

    /// The local dates covered (inclusive), given today's local date.
    pub fn dates(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let back = |d: u64| today.checked_sub_days(Days::new(d)).unwrap_or(today);
        match self {
            Period::Today => (today, today),
            Period::Days7 => (back(6), today),
            Period::Days30 => (back(29), today),
            Period::Custom(a, b) => (a, b),
        }
    }

    /// [from, to) in Unix ms for the company's zone, `now` being the current instant.
    pub fn bounds(self, tz: Tz, now: i64) -> (i64, i64) {
        let today = super::hours::wall_clock(tz, now).map(|d| d.date()).unwrap_or_default();
        let (a, b) = self.dates(today);
        (local_midnight(tz, a), local_midnight(tz, b.succ_opt().unwrap_or(b)))
    }
}

/// The first instant of a local date (the earliest when ambiguous; after a gap when skipped).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> i64 {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.timestamp_millis(),
        None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map_or_else(|| naive.and_utc().timestamp_millis(), |t| t.timestamp_millis()),
    }
}

/// dd/mm/aaaa of an instant in the zone (CSV and pages).
pub fn date_br(tz: Tz, at: i64) -> String {
    super::hours::wall_clock(tz, at).map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default()
}

/// dd/mm/aaaa hh:mm of an instant in the zone.
pub fn datetime_br(tz: Tz, at: i64) -> String {
    super::hours::wall_clock(tz, at).map(|d| d.format("%d/%m/%Y %H:%M").to_string()).unwrap_or_default()
}

/// The local weekday-free day label of a date for charts ("03/12").
pub fn day_label(date: NaiveDate) -> String {
    format!("{:02}/{:02}", date.day(), date.month())
}
