//! Tasks ("Tarefas") as pure rules: the statuses, the limits of a task's fields, which
//! reminder is due at an instant, and the local day and week windows of the list's filters.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

/// The longest title.
pub const TITLE_MAX: usize = 200;
/// The longest description.
pub const DESCRIPTION_MAX: usize = 5000;
/// The longest comment.
pub const COMMENT_MAX: usize = 4000;
/// The earliest a reminder may come before the due time: a week.
pub const REMIND_BEFORE_MAX: i64 = 7 * 24 * 60;
/// A reminder found later than this after its moment is dropped (recorded, never shown): after
/// an outage, nobody gets yesterday's reminders in a burst.
pub const STALE_MS: i64 = 12 * 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// A task's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// "A fazer".
    Todo,
    /// "Em andamento".
    Doing,
    /// "Concluída".
    Done,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [TaskStatus::Todo, TaskStatus::Doing, TaskStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::Doing => "doing",
            TaskStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// Which reminder of a task is due at `now`, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminder {
    /// `remind_before_minutes` ahead of the due time.
    Before,
    /// At the due time.
    Due,
}

impl Reminder {
    pub fn as_str(self) -> &'static str {
        match self {
            Reminder::Before => "before",
            Reminder::Due => "due",
        }
    }
}

/// The reminder due now for a task not done: the due-time one once the due time came (which
/// also settles an early one never sent), else the early one inside its window.
pub fn reminder_due(
    due_at: i64,
    remind_before_minutes: i64,
    early_sent: bool,
    due_sent: bool,
    now: i64,
) -> Option<Reminder> {
    if now >= due_at {
        return (!due_sent).then_some(Reminder::Due);
    }
    let early_at = due_at - remind_before_minutes * MINUTE_MS;
    (remind_before_minutes > 0 && !early_sent && now >= early_at).then_some(Reminder::Before)
}

/// Whether a task is overdue: not done and its due time passed.
pub fn is_overdue(status: &str, due_at: i64, now: i64) -> bool {
    status != TaskStatus::Done.as_str() && due_at < now
}

/// The local day containing `now` in `tz`, as [start, end) in Unix ms.
pub fn day_window(tz: Tz, now: i64) -> Option<(i64, i64)> {
    let local = super::schedules::local_of(tz, now)?;
    let start = local.date().and_time(NaiveTime::MIN);
    window(tz, start, start + Duration::days(1))
}

/// The local week (Monday to Sunday) containing `now` in `tz`, as [start, end) in Unix ms.
pub fn week_window(tz: Tz, now: i64) -> Option<(i64, i64)> {
    let local = super::schedules::local_of(tz, now)?;
    let monday = local.date() - Duration::days(i64::from(local.weekday().num_days_from_monday()));
    let start = monday.and_time(NaiveTime::MIN);
    window(tz, start, start + Duration::days(7))
}

fn window(tz: Tz, start: NaiveDateTime, end: NaiveDateTime) -> Option<(i64, i64)> {
    Some((super::schedules::resolve_local(tz, start)?, super::schedules::resolve_local(tz, end)?))
}

/// A due date and time typed in the company's zone ("2026-12-24T09:30"): its instant, for
/// years 2000–2100 only (a typo such as year 20266 is refused, not stored).
pub fn parse_due(tz: Tz, s: &str) -> Option<i64> {
    let local = super::schedules::parse_local(s)?;
    if !(2000..=2100).contains(&local.year()) {
        return None;
    }
    super::schedules::resolve_local(tz, local)
}

/// An instant as the forms write it in `tz`: "2026-12-24T09:30".
pub fn format_due(tz: Tz, at: i64) -> String {
    super::schedules::local_of(tz, at).map(super::schedules::format_local).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    #[test]
    fn statuses_read_back() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("closed"), None);
    }

    #[test]
    fn each_reminder_comes_once_in_its_window() {
        let due = 1_000 * M;
        assert_eq!(reminder_due(due, 15, false, false, due - 16 * M), None);
        assert_eq!(reminder_due(due, 15, false, false, due - 15 * M), Some(Reminder::Before));
        assert_eq!(reminder_due(due, 15, true, false, due - M), None);
        assert_eq!(reminder_due(due, 15, true, false, due), Some(Reminder::Due));
        assert_eq!(reminder_due(due, 15, true, true, due + M), None);
        // No early reminder asked for: only the due-time one.
        assert_eq!(reminder_due(due, 0, false, false, due - M), None);
        assert_eq!(reminder_due(due, 0, false, false, due), Some(Reminder::Due));
        // Found late: the due-time one alone.
        assert_eq!(reminder_due(due, 60, false, false, due + M), Some(Reminder::Due));
    }

    #[test]
    fn days_and_weeks_are_local() {
        let tz = chrono_tz::America::Sao_Paulo;
        // 2026-12-09 (a Wednesday) 01:00 UTC is 2026-12-08 22:00 in São Paulo (UTC−3).
        let now = parse_due(chrono_tz::UTC, "2026-12-09T01:00").unwrap();
        let (start, end) = day_window(tz, now).unwrap();
        assert_eq!(format_due(tz, start), "2026-12-08T00:00");
        assert_eq!(end - start, 24 * 60 * M);
        let (monday, next) = week_window(tz, now).unwrap();
        assert_eq!(format_due(tz, monday), "2026-12-07T00:00");
        assert_eq!(format_due(tz, next), "2026-12-14T00:00");
    }

    #[test]
    fn due_times_parse_in_the_zone_and_refuse_odd_years() {
        let tz = chrono_tz::America::Sao_Paulo;
        let at = parse_due(tz, "2026-12-24T09:30").unwrap();
        assert_eq!(format_due(tz, at), "2026-12-24T09:30");
        assert_eq!(parse_due(tz, "1999-12-24T09:30"), None);
        assert_eq!(parse_due(tz, "amanhã"), None);
        assert!(is_overdue("todo", at, at + 1));
        assert!(!is_overdue("done", at, at + 1));
    }
}
