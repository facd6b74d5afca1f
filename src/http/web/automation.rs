//! The Automação page: business hours per weekday in the company's time zone, the optional
//! holidays it closes on (Brazil's national ones always apply), the greeting and away
//! messages, and the chatbot's flow (a department menu built from the form, or the flow's
//! JSON), with the closures of the next twelve months.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::NoticeQuery;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions;
use crate::domain::hours::{self, Calendar, OptionalHoliday, WeekSchedule};

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
    flow: String,
    urgent_words: String,
    handoff_after: i64,
    closures: Vec<ClosureRow>,
    open_now: bool,
}

async fn page(p: &Page, notice: Option<String>, error: Option<String>, draft: Option<Draft>) -> Response {
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
    let draft = draft.unwrap_or_else(|| Draft {
        enabled: a.enabled,
        time_zone: a.time_zone.clone(),
        days: std::array::from_fn(|i| schedule.format_day(i)),
        holidays: calendar.optional.clone(),
        greeting: a.greeting.clone(),
        away_message: a.away_message.clone(),
        flow: flow.as_deref().map(pretty).unwrap_or_default(),
        urgent_words: a.urgent_words.clone(),
        handoff_after: a.handoff_after,
    });
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
        flow: draft.flow,
        urgent_words: draft.urgent_words,
        handoff_after: draft.handoff_after,
        closures,
        open_now: actions::automation::open_now(&a, now),
    })
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
}

pub async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = q.saved.map(|_| p.lang().t("common.saved").to_string());
    page(&p, notice, None, None).await
}

/// The form arrives as pairs (checkboxes repeat `holiday`), read by hand.
pub async fn update(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let draft = Draft {
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
    };
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
            (error_status(&e), page(&p, None, Some(message), Some(draft)).await).into_response()
        }
    }
}
