//! The "Horários e regras" page: business hours per weekday in the company's time zone, the
//! optional holidays it closes on (Brazil's national ones always apply) and its own dates, the
//! closures of the next twelve months, the greeting and away messages, the chatbot's urgent
//! words and hand-off limit, each department's own hours, the keyword rules, and the timed
//! rules per department. The flow has its own page (`chatbot.rs`).

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::NoticeQuery;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions;
use crate::actions::timed_rules::TimedRule;
use crate::domain::hours::{self, Calendar, OptionalHoliday, WeekSchedule};
use crate::domain::inbox::Priority;
use crate::domain::keyword_rules::{KeywordRule, MatchMode};

const WEEKDAYS: [&str; 7] = ["hours.mon", "hours.tue", "hours.wed", "hours.thu", "hours.fri", "hours.sat", "hours.sun"];

pub struct DayRow {
    pub label: &'static str,
    pub field: String,
    pub value: String,
}

pub struct HolidayRow {
    pub code: &'static str,
    pub name: &'static str,
    pub checked: bool,
}

pub struct ClosureRow {
    pub date: String,
    pub name: String,
    pub range: String,
}

#[derive(Template)]
#[template(path = "automation.html")]
struct AutomationPage {
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
    enabled: bool,
    time_zone: String,
    days: Vec<DayRow>,
    holidays: Vec<HolidayRow>,
    greeting: String,
    away_message: String,
    urgent_words: String,
    handoff_after: i64,
    closures: Vec<ClosureRow>,
    open_now: bool,
    dates: String,
    rules: Vec<RuleRow>,
    departments: Vec<(i64, String)>,
    department_hours: Vec<DepartmentHoursRow>,
    keyword_rules: Vec<KeywordRow>,
    modes: Vec<(&'static str, &'static str)>,
    priorities: Vec<(&'static str, &'static str)>,
}

/// A department's own week on the page: one text per weekday, whether it has one, open now.
pub struct DepartmentHoursRow {
    pub id: i64,
    pub name: String,
    pub own: bool,
    pub open_now: bool,
    pub days: Vec<DayRow>,
    /// The form was refused: open it.
    pub expanded: bool,
}

/// One keyword rule on the page (the last row is blank, for a new rule).
pub struct KeywordRow {
    pub index: usize,
    pub id: i64,
    pub words: String,
    pub mode: &'static str,
    pub handoff: bool,
    pub department_id: i64,
    pub priority: &'static str,
    pub tag: String,
    pub reply: String,
}

impl KeywordRow {
    fn of(index: usize, r: &KeywordRule) -> KeywordRow {
        KeywordRow {
            index,
            id: r.id,
            words: r.words.clone(),
            mode: r.mode.as_str(),
            handoff: r.handoff,
            department_id: r.department_id.unwrap_or(0),
            priority: r.priority.map(Priority::as_str).unwrap_or(""),
            tag: r.tag.clone(),
            reply: r.reply.clone(),
        }
    }
}

/// One department's timed rules on the page (department 0: tickets without one).
pub struct RuleRow {
    pub department_id: i64,
    pub name: String,
    pub close_idle_minutes: i64,
    pub close_message: String,
    pub transfer_after_minutes: i64,
    pub transfer_to: i64,
    pub remind_after_minutes: i64,
}

/// What a refused form typed, shown again on the page; the rest is what is stored.
enum Typed {
    Nothing,
    Main(Box<Draft>),
    Dates(String),
    Rules(Vec<TimedRule>),
    /// A department's week (its id and the seven texts).
    DepartmentHours(i64, [String; 7]),
    Keywords(Vec<KeywordRule>),
}

async fn page(p: &Page, notice: Option<String>, error: Option<String>, typed: Typed) -> Response {
    let layout = p.layout("nav.automation", "/admin/automation");
    let (a, flow) = match actions::automation::get(&p.app, &p.actor(), p.tenant()).await {
        Ok(found) => found,
        Err(e) => return p.failure(&e),
    };
    let schedule: WeekSchedule = serde_json::from_str(&a.hours).unwrap_or_default();
    let calendar: Calendar =
        serde_json::from_str(&a.calendar).unwrap_or(Calendar { national: true, ..Calendar::default() });
    let now = p.app.clock.now_ms();
    let tz = hours::parse_tz(&a.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    let today = chrono::DateTime::from_timestamp_millis(now).map(|d| d.with_timezone(&tz).date_naive());
    let closures = today
        .map(|d| hours::closures_between(&calendar, d, 366))
        .unwrap_or_default()
        .into_iter()
        .map(|c| ClosureRow {
            date: c.date.format("%d/%m/%Y").to_string(),
            name: c.name,
            range: if c.range.start == 0 && c.range.end == 1440 { String::new() } else { c.range.to_string() },
        })
        .collect();
    let stored = Draft {
        enabled: a.enabled,
        time_zone: a.time_zone.clone(),
        days: std::array::from_fn(|i| schedule.format_day(i)),
        holidays: calendar.optional.clone(),
        greeting: a.greeting.clone(),
        away_message: a.away_message.clone(),
        flow: flow.as_deref().map(pretty).unwrap_or_default(),
        urgent_words: a.urgent_words.clone(),
        handoff_after: a.handoff_after,
        dates: hours::format_custom_dates(&calendar.custom),
        rules: Vec::new(),
    };
    let (mut typed_hours, mut typed_keywords) = (None, None);
    let draft = match typed {
        Typed::Nothing => stored,
        Typed::Main(d) => Draft { dates: stored.dates, ..*d },
        Typed::Dates(dates) => Draft { dates, ..stored },
        Typed::Rules(rules) => Draft { rules, ..stored },
        Typed::DepartmentHours(id, days) => {
            typed_hours = Some((id, days));
            stored
        }
        Typed::Keywords(rules) => {
            typed_keywords = Some(rules);
            stored
        }
    };
    let department_list = match actions::departments::list_departments(&p.app, &p.actor(), p.tenant()).await {
        Ok(list) => list,
        Err(e) => return p.failure(&e),
    };
    let stored_rules = match actions::timed_rules::list(&p.app, &p.actor(), p.tenant()).await {
        Ok(list) => list,
        Err(e) => return p.failure(&e),
    };
    let none = p.lang().t("auto.no_department").to_string();
    let rules = std::iter::once((0, none))
        .chain(department_list.iter().map(|d| (d.id, d.name.clone())))
        .map(|(id, name)| {
            let r = draft
                .rules
                .iter()
                .chain(stored_rules.iter())
                .find(|r| r.department_id == id)
                .cloned()
                .unwrap_or(TimedRule { department_id: id, ..TimedRule::default() });
            RuleRow {
                department_id: id,
                name,
                close_idle_minutes: r.close_idle_minutes,
                close_message: r.close_message,
                transfer_after_minutes: r.transfer_after_minutes,
                transfer_to: r.transfer_to.unwrap_or(0),
                remind_after_minutes: r.remind_after_minutes,
            }
        })
        .collect();
    let own_hours = match store_hours(p).await {
        Ok(list) => list,
        Err(e) => return p.failure(&e),
    };
    let department_hours = department_list
        .iter()
        .map(|d| {
            let json = own_hours.iter().find(|(id, _)| *id == d.id).map(|(_, h)| h.as_str()).unwrap_or("");
            let week: WeekSchedule = serde_json::from_str(json).unwrap_or_default();
            let typed = typed_hours.as_ref().filter(|(id, _)| *id == d.id).map(|(_, days)| days);
            DepartmentHoursRow {
                id: d.id,
                name: d.name.clone(),
                own: !week.is_empty(),
                open_now: actions::automation::open_now(&a, Some(json), now),
                days: WEEKDAYS
                    .iter()
                    .enumerate()
                    .map(|(i, label)| DayRow {
                        label,
                        field: format!("day{i}"),
                        value: typed.map(|days| days[i].clone()).unwrap_or_else(|| week.format_day(i)),
                    })
                    .collect(),
                expanded: typed.is_some(),
            }
        })
        .collect();
    let keyword_list = match typed_keywords {
        Some(list) => list,
        None => match actions::keyword_rules::list(&p.app, &p.actor(), p.tenant()).await {
            Ok(list) => list,
            Err(e) => return p.failure(&e),
        },
    };
    let blank = KeywordRule {
        id: 0,
        words: String::new(),
        mode: MatchMode::Word,
        handoff: false,
        department_id: None,
        priority: None,
        tag: String::new(),
        reply: String::new(),
    };
    let keyword_rules =
        keyword_list.iter().chain(std::iter::once(&blank)).enumerate().map(|(i, r)| KeywordRow::of(i, r)).collect();
    let days = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(i, label)| DayRow { label, field: format!("day{i}"), value: draft.days[i].clone() })
        .collect();
    let holidays = OptionalHoliday::ALL
        .iter()
        .map(|h| HolidayRow { code: h.as_str(), name: h.name_pt(), checked: draft.holidays.contains(h) })
        .collect();
    render(AutomationPage {
        layout,
        notice,
        error,
        enabled: draft.enabled,
        time_zone: draft.time_zone,
        days,
        holidays,
        greeting: draft.greeting,
        away_message: draft.away_message,
        urgent_words: draft.urgent_words,
        handoff_after: draft.handoff_after,
        closures,
        open_now: actions::automation::open_now(&a, None, now),
        dates: draft.dates,
        rules,
        departments: department_list.iter().map(|d| (d.id, d.name.clone())).collect(),
        department_hours,
        keyword_rules,
        modes: vec![
            ("word", "auto.kw_mode_word"),
            ("contains", "auto.kw_mode_contains"),
            ("exact", "auto.kw_mode_exact"),
        ],
        priorities: vec![
            ("", "auto.kw_priority_keep"),
            ("high", "inbox.priority.high"),
            ("urgent", "inbox.priority.urgent"),
        ],
    })
}

/// Every department's own week, as stored.
async fn store_hours(p: &Page) -> Result<Vec<(i64, String)>, actions::ActionError> {
    actions::departments::all_hours(&p.app, &p.actor(), p.tenant()).await
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

/// What the admin typed, shown again when it is refused.
struct Draft {
    enabled: bool,
    time_zone: String,
    days: [String; 7],
    holidays: Vec<OptionalHoliday>,
    greeting: String,
    away_message: String,
    flow: String,
    urgent_words: String,
    handoff_after: i64,
    dates: String,
    /// Rules as typed (a refused form shows them again); stored ones fill the rest.
    rules: Vec<TimedRule>,
}

pub async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    page(&p, notice, None, Typed::Nothing).await
}

/// The form arrives as pairs (checkboxes repeat `holiday`), read by hand.
pub async fn update(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut draft = Draft {
        enabled: value("enabled") == "1",
        time_zone: value("time_zone"),
        days: std::array::from_fn(|i| value(&format!("day{i}"))),
        holidays: fields
            .iter()
            .filter(|(k, _)| k == "holiday")
            .filter_map(|(_, v)| OptionalHoliday::parse(v))
            .collect(),
        greeting: value("greeting"),
        away_message: value("away_message"),
        flow: value("flow"),
        urgent_words: value("urgent_words"),
        handoff_after: value("handoff_after").trim().parse().unwrap_or(0),
        dates: String::new(),
        rules: Vec::new(),
    };
    // The chatbot's own page edits the flow: a form without it keeps the stored one.
    if !fields.iter().any(|(k, _)| k == "flow") {
        match actions::automation::get(&p.app, &p.actor(), p.tenant()).await {
            Ok((_, flow)) => draft.flow = flow.unwrap_or_default(),
            Err(e) => return p.failure(&e),
        }
    }
    let input = actions::automation::AutomationInput {
        enabled: draft.enabled,
        time_zone: draft.time_zone.clone(),
        days: draft.days.clone(),
        optional_holidays: draft.holidays.clone(),
        greeting: draft.greeting.clone(),
        away_message: draft.away_message.clone(),
        flow: draft.flow.clone(),
        urgent_words: draft.urgent_words.clone(),
        handoff_after: draft.handoff_after,
    };
    match actions::automation::save(&p.app, &p.actor(), p.tenant(), input).await {
        Ok(_) => Redirect::to("/admin/automation?saved=1").into_response(),
        Err(e) => {
            let mut message = error_message(p.lang(), &e);
            // Which node or which interval: the details name what to fix.
            if let actions::ActionError::Invalid { code: "invalid_flow" | "invalid_hours", message: detail } = &e {
                message = format!("{message} ({detail})");
            }
            (error_status(&e), page(&p, None, Some(message), Typed::Main(Box::new(draft))).await).into_response()
        }
    }
}

/// The company's own dates (a textarea, one per line).
pub async fn update_dates(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let text = fields.iter().find(|(k, _)| k == "dates").map(|(_, v)| v.clone()).unwrap_or_default();
    match actions::automation::save_dates(&p.app, &p.actor(), p.tenant(), &text).await {
        Ok(_) => Redirect::to("/admin/automation?saved=1#dates").into_response(),
        Err(e) => refused(&p, e, Typed::Dates(text)).await,
    }
}

/// The timed rules: per department `close_N`, `message_N`, `transfer_N`, `to_N`, `remind_N`.
pub async fn update_rules(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let value = |name: String| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.trim().to_string());
    let mut rules = Vec::new();
    for (k, v) in &fields {
        let Some(id) = k.strip_prefix("close_").and_then(|id| id.parse::<i64>().ok()) else { continue };
        let minutes =
            |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| s.parse::<i64>().unwrap_or(-1)).unwrap_or(0);
        let to = value(format!("to_{id}")).and_then(|s| s.parse::<i64>().ok()).filter(|d| *d != 0);
        rules.push(TimedRule {
            department_id: id,
            close_idle_minutes: minutes(Some(v.trim().to_string())),
            close_message: value(format!("message_{id}")).unwrap_or_default(),
            transfer_after_minutes: minutes(value(format!("transfer_{id}"))),
            transfer_to: to,
            remind_after_minutes: minutes(value(format!("remind_{id}"))),
        });
    }
    match actions::timed_rules::save(&p.app, &p.actor(), p.tenant(), rules.clone()).await {
        Ok(()) => Redirect::to("/admin/automation?saved=1#rules").into_response(),
        Err(e) => refused(&p, e, Typed::Rules(rules)).await,
    }
}

/// The page again with the error and what was typed in the refused form.
async fn refused(p: &Page, e: actions::ActionError, typed: Typed) -> Response {
    let mut message = error_message(p.lang(), &e);
    if let actions::ActionError::Invalid {
        code: "invalid_dates" | "invalid_keywords" | "invalid_keyword_rule" | "invalid_message",
        message: detail,
    } = &e
    {
        message = format!("{message} ({detail})");
    }
    (error_status(&e), page(p, None, Some(message), typed).await).into_response()
}

/// One department's own week (`day0`…`day6`; all empty: it follows the company's hours).
pub async fn update_department_hours(
    p: Page,
    Path(id): Path<i64>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let days: [String; 7] = std::array::from_fn(|i| value(&format!("day{i}")));
    match actions::automation::save_department_hours(&p.app, &p.actor(), p.tenant(), id, &days).await {
        Ok(_) => Redirect::to("/admin/automation?saved=1#department-hours").into_response(),
        Err(actions::ActionError::NotFound) => p.failure(&actions::ActionError::NotFound),
        Err(e) => {
            let mut message = error_message(p.lang(), &e);
            if let actions::ActionError::Invalid { code: "invalid_hours", message: detail } = &e {
                message = format!("{message} ({detail})");
            }
            (error_status(&e), page(&p, None, Some(message), Typed::DepartmentHours(id, days)).await).into_response()
        }
    }
}

/// The keyword rules, as rows `words_N`, `mode_N`, `handoff_N`, `department_N`, `priority_N`,
/// `tag_N`, `reply_N` (and `id_N` for a stored rule); a row without words is dropped (that is how
/// a rule is removed, and the blank row left blank adds nothing).
pub async fn update_keywords(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let value = |name: String| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut rules = Vec::new();
    for (k, words) in &fields {
        let Some(n) = k.strip_prefix("words_") else { continue };
        if words.trim().is_empty() {
            continue;
        }
        let Some(mode) = MatchMode::parse(value(format!("mode_{n}")).trim()) else {
            let e = actions::ActionError::invalid("invalid_keyword_rule", "choose how the words match");
            return refused(&p, e, Typed::Nothing).await;
        };
        rules.push(KeywordRule {
            id: value(format!("id_{n}")).trim().parse().unwrap_or(0),
            words: words.trim().to_string(),
            mode,
            handoff: value(format!("handoff_{n}")) == "1",
            department_id: value(format!("department_{n}")).trim().parse::<i64>().ok().filter(|d| *d != 0),
            priority: Priority::parse(value(format!("priority_{n}")).trim()),
            tag: value(format!("tag_{n}")).trim().to_string(),
            reply: value(format!("reply_{n}")).trim().to_string(),
        });
    }
    match actions::keyword_rules::save(&p.app, &p.actor(), p.tenant(), rules.clone()).await {
        Ok(()) => Redirect::to("/admin/automation?saved=1#keywords").into_response(),
        Err(e) => refused(&p, e, Typed::Keywords(rules)).await,
    }
}
