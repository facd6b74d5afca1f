//! Report metrics computed from one ticket's history (docs/REPORTS.md has the definitions).
//!
//! A ticket's timeline (its `ticket_events` and messages, oldest first) is walked once and
//! turned into *cells*: `(hour, department, agent, metric, bucket) → (count, total ms)`. The
//! store keeps the sum of every ticket's cells per hour × department × agent (the roll-up) and
//! each ticket's last cells, so a changed ticket is re-walked and only the difference applied;
//! [`apply_delta`] is that difference, and the property test checks that roll-ups built this
//! way equal a full recomputation.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::hours::{self, Calendar, WeekSchedule};

pub mod alerts;
pub mod days;
pub mod range;

const HOUR_MS: i64 = 3_600_000;

/// What happened to a ticket, as reports read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// The ticket was created (into a department, maybe none).
    Created { department: Option<i64> },
    /// A closed ticket was opened again by a customer message or by a person.
    Reopened,
    /// The chatbot took the ticket (people are not on it until a hand-off).
    BotStarted,
    /// The chatbot handed the ticket to people (maybe into a department).
    Handoff { department: Option<i64> },
    /// A person took the ticket or it was given to one (captured, assigned, distributed).
    Assigned { agent: i64 },
    /// Moved to another department and/or person (`agent` None: back to the queue).
    Transferred { department: Option<i64>, agent: Option<i64> },
    /// Closed by a person (`by_bot` false) or by the chatbot.
    Closed { by_bot: bool },
    /// The customer's CSAT answer, 1–5.
    Rated { rating: i64 },
    /// A customer message.
    Inbound,
    /// A public message written by a person.
    HumanReply { agent: i64 },
    /// A message sent by automation (greeting, away message, chatbot).
    BotMessage,
}

/// One moment of a ticket's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    pub at: i64,
    pub item: Item,
}

/// What a cell counts. Stored by [`Metric::code`]; never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Tickets created (the ticket's first episode).
    New,
    /// Episodes opened again after a close.
    Reopened,
    /// Queue wait: human phase start → first assignment (bucket = histogram bucket).
    Wait,
    WaitBusiness,
    /// First human reply after the human phase started.
    FirstResponse,
    FirstResponseBusiness,
    /// Human phase start → close, for episodes a person answered.
    Resolution,
    ResolutionBusiness,
    /// Closed episodes; bucket = [`Outcome`].
    Closed,
    /// CSAT answers; bucket = the rating 1–5.
    Rating,
    /// Customer messages.
    MessagesIn,
    /// Outgoing messages; bucket 0 people, 1 automation.
    MessagesOut,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::New,
        Metric::Reopened,
        Metric::Wait,
        Metric::WaitBusiness,
        Metric::FirstResponse,
        Metric::FirstResponseBusiness,
        Metric::Resolution,
        Metric::ResolutionBusiness,
        Metric::Closed,
        Metric::Rating,
        Metric::MessagesIn,
        Metric::MessagesOut,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Metric::New => "new",
            Metric::Reopened => "reopened",
            Metric::Wait => "wait",
            Metric::WaitBusiness => "wait_bh",
            Metric::FirstResponse => "frt",
            Metric::FirstResponseBusiness => "frt_bh",
            Metric::Resolution => "resolution",
            Metric::ResolutionBusiness => "resolution_bh",
            Metric::Closed => "closed",
            Metric::Rating => "rating",
            Metric::MessagesIn => "msg_in",
            Metric::MessagesOut => "msg_out",
        }
    }

    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// How a closed episode ended (the bucket of [`Metric::Closed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A person replied in the episode.
    Human = 0,
    /// The chatbot alone: never handed to people.
    BotOnly = 1,
    /// Handed to people (maybe assigned) and closed with no human reply.
    Unanswered = 2,
}

/// Upper bounds (seconds) of the time histogram's buckets; the last bucket is open-ended.
pub const BUCKET_BOUNDS_S: [i64; 14] =
    [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800, 604_800];

/// The histogram bucket of a duration in ms.
pub fn bucket_of(ms: i64) -> i64 {
    let s = ms.max(0) / 1000;
    BUCKET_BOUNDS_S.iter().position(|&b| s < b).unwrap_or(BUCKET_BOUNDS_S.len()) as i64
}

/// Where a cell is counted: the UTC hour and the department and agent at that moment
/// (0 = none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub hour: i64,
    pub department: i64,
    pub agent: i64,
    pub metric: Metric,
    pub bucket: i64,
}

/// A count and a sum of durations (ms; 0 for plain counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub n: i64,
    pub total: i64,
}

pub type Cells = BTreeMap<Key, Cell>;

/// Business hours: the company's week, calendar and zone, and each department's own week.
#[derive(Clone, Debug, Default)]
pub struct BusinessClock {
    /// None: no hours set anywhere — then every minute is a business minute.
    pub company: Option<WeekSchedule>,
    pub departments: BTreeMap<i64, WeekSchedule>,
    pub calendar: Calendar,
    pub tz: Option<Tz>,
}

impl BusinessClock {
    /// Open ms in [from, to) for the department (its own week, else the company's).
    pub fn open_ms(&self, department: Option<i64>, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let own = department.and_then(|d| self.departments.get(&d)).filter(|w| !w.is_empty());
        let Some(company) = self.company.as_ref().or(own) else { return to - from };
        let tz = self.tz.unwrap_or(chrono_tz::America::Sao_Paulo);
        hours::open_ms_between(company, own, &self.calendar, tz, from, to)
    }
}

fn hour_of(at: i64) -> i64 {
    at - at.rem_euclid(HOUR_MS)
}

#[derive(Default)]
struct Episode {
    /// When people's clock started (None while the chatbot has it).
    human_start: Option<i64>,
    waited: bool,
    /// The person who replied first.
    responder: Option<i64>,
}

/// The cells of one ticket's timeline (sorted by time; ties keep their order).
pub fn cells(timeline: &[Timed], clock: &BusinessClock) -> Cells {
    let mut out = Cells::new();
    let mut department: Option<i64> = None;
    let mut agent: Option<i64> = None;
    let mut episode: Option<Episode> = None;
    // Who is credited with a rating: the responder of the last episode.
    let mut last_responder: Option<i64> = None;
    let mut add = |at: i64, department: Option<i64>, agent: Option<i64>, metric: Metric, bucket: i64, ms: i64| {
        let key =
            Key { hour: hour_of(at), department: department.unwrap_or(0), agent: agent.unwrap_or(0), metric, bucket };
        let c = out.entry(key).or_default();
        c.n += 1;
        c.total += ms;
    };
    for t in timeline {
        let at = t.at;
        match &t.item {
            Item::Created { department: d } => {
                department = *d;
                agent = None;
                episode = Some(Episode { human_start: Some(at), ..Episode::default() });
                add(at, department, None, Metric::New, 0, 0);
            }
            Item::Reopened => {
                agent = None;
                episode = Some(Episode { human_start: Some(at), ..Episode::default() });
                add(at, department, None, Metric::Reopened, 0, 0);
            }
            Item::BotStarted => {
                if let Some(e) = episode.as_mut().filter(|e| e.responder.is_none() && !e.waited) {
                    e.human_start = None;
                }
            }
            Item::Handoff { department: d } => {
                department = d.or(department);
                if let Some(e) = episode.as_mut() {
                    if e.human_start.is_none() {
                        e.human_start = Some(at);
                    }
                }
            }
            Item::Assigned { agent: a } => {
                agent = Some(*a);
                if let Some(e) = episode.as_mut().filter(|e| !e.waited) {
                    let start = *e.human_start.get_or_insert(at);
                    e.waited = true;
                    let wall = (at - start).max(0);
                    add(at, department, agent, Metric::Wait, bucket_of(wall), wall);
                    let bh = clock.open_ms(department, start, at);
                    add(at, department, agent, Metric::WaitBusiness, bucket_of(bh), bh);
                }
            }
            Item::Transferred { department: d, agent: a } => {
                department = d.or(department);
                agent = *a;
            }
            Item::HumanReply { agent: a } => {
                add(at, department, Some(*a), Metric::MessagesOut, 0, 0);
                if agent.is_none() {
                    agent = Some(*a);
                }
                if let Some(e) = episode.as_mut().filter(|e| e.responder.is_none()) {
                    let start = *e.human_start.get_or_insert(at);
                    let wall = (at - start).max(0);
                    let bh = clock.open_ms(department, start, at);
                    if !e.waited {
                        // Replied without taking the ticket first: the wait ended with the reply.
                        e.waited = true;
                        add(at, department, Some(*a), Metric::Wait, bucket_of(wall), wall);
                        add(at, department, Some(*a), Metric::WaitBusiness, bucket_of(bh), bh);
                    }
                    e.responder = Some(*a);
                    add(at, department, Some(*a), Metric::FirstResponse, bucket_of(wall), wall);
                    add(at, department, Some(*a), Metric::FirstResponseBusiness, bucket_of(bh), bh);
                }
            }
            Item::BotMessage => add(at, department, None, Metric::MessagesOut, 1, 0),
            Item::Inbound => add(at, department, agent, Metric::MessagesIn, 0, 0),
            Item::Closed { .. } => {
                let Some(e) = episode.take() else { continue };
                match (e.responder, e.human_start) {
                    (Some(r), Some(start)) => {
                        let credited = agent.or(Some(r));
                        let wall = (at - start).max(0);
                        let bh = clock.open_ms(department, start, at);
                        add(at, department, credited, Metric::Closed, Outcome::Human as i64, 0);
                        add(at, department, credited, Metric::Resolution, bucket_of(wall), wall);
                        add(at, department, credited, Metric::ResolutionBusiness, bucket_of(bh), bh);
                        last_responder = Some(r);
                    }
                    (_, None) => {
                        add(at, department, None, Metric::Closed, Outcome::BotOnly as i64, 0);
                        last_responder = None;
                    }
                    (None, Some(_)) => {
                        add(at, department, agent, Metric::Closed, Outcome::Unanswered as i64, 0);
                        last_responder = None;
                    }
                }
            }
            Item::Rated { rating } => {
                if (1..=5).contains(rating) {
                    add(at, department, last_responder.or(agent), Metric::Rating, *rating, 0);
                }
            }
        }
    }
    out
}

/// Applies to `rollup` the change from a ticket's `old` cells to its `new` ones; cells that
/// reach zero are removed, so a roll-up equals the sum of the current cells.
pub fn apply_delta(rollup: &mut Cells, old: &Cells, new: &Cells) {
    for (key, delta) in delta(old, new) {
        let c = rollup.entry(key).or_default();
        c.n += delta.n;
        c.total += delta.total;
        if *c == Cell::default() {
            rollup.remove(&key);
        }
    }
}

/// `new − old`, cell by cell, leaving out cells that did not change.
pub fn delta(old: &Cells, new: &Cells) -> Vec<(Key, Cell)> {
    let mut out = Vec::new();
    for (k, n) in new {
        let o = old.get(k).copied().unwrap_or_default();
        if o != *n {
            out.push((*k, Cell { n: n.n - o.n, total: n.total - o.total }));
        }
    }
    for (k, o) in old {
        if !new.contains_key(k) {
            out.push((*k, Cell { n: -o.n, total: -o.total }));
        }
    }
    out
}

/// Cells as stored text: `hour,department,agent,metric,bucket,n,total` lines.
pub fn encode(cells: &Cells) -> String {
    let mut s = String::with_capacity(cells.len() * 40);
    for (k, c) in cells {
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            k.hour,
            k.department,
            k.agent,
            k.metric.code(),
            k.bucket,
            c.n,
            c.total
        ));
    }
    s
}

/// [`encode`] read back; unreadable lines are skipped (they were written by `encode`).
pub fn decode(text: &str) -> Cells {
    let mut out = Cells::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let [h, d, a, m, b, n, t] = f[..] else { continue };
        let (Ok(hour), Ok(department), Ok(agent), Some(metric), Ok(bucket), Ok(n), Ok(total)) =
            (h.parse(), d.parse(), a.parse(), Metric::parse(m), b.parse(), n.parse(), t.parse())
        else {
            continue;
        };
        out.insert(Key { hour, department, agent, metric, bucket }, Cell { n, total });
    }
    out
}

#[cfg(test)]
mod tests;
