//! The status page's rules: component and incident states, what people may type, the state of a
//! whole page, and the 90 days of history by local day. Pure: no I/O.

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// How a component is doing, from best to worst (the derived order is the severity order:
/// planned maintenance is better than any outage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentState {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl ComponentState {
    pub const ALL: [ComponentState; 5] = [
        ComponentState::Operational,
        ComponentState::Degraded,
        ComponentState::PartialOutage,
        ComponentState::MajorOutage,
        ComponentState::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Operational => "operational",
            ComponentState::Maintenance => "maintenance",
            ComponentState::Degraded => "degraded",
            ComponentState::PartialOutage => "partial_outage",
            ComponentState::MajorOutage => "major_outage",
        }
    }

    pub fn parse(s: &str) -> Option<ComponentState> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }
}

/// Where an incident stands; every state but `resolved` is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncidentState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentState {
    pub const ALL: [IncidentState; 4] =
        [IncidentState::Investigating, IncidentState::Identified, IncidentState::Monitoring, IncidentState::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Investigating => "investigating",
            IncidentState::Identified => "identified",
            IncidentState::Monitoring => "monitoring",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentState> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn is_open(self) -> bool {
        self != IncidentState::Resolved
    }
}

/// A refused input: a stable code and an English explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: &str) -> Invalid {
    Invalid { code, message: message.to_string() }
}

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 500;
pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 5000;
pub const POSITION_MAX: i64 = 10_000;
/// Components a company may have: a status page lists a handful, never hundreds.
pub const MAX_COMPONENTS: usize = 50;

/// A trimmed single-line text of 1 to `max` characters without control characters.
fn line(s: &str, max: usize, code: &'static str, what: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(code, &format!("{what} is required")));
    }
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(invalid(code, &format!("{what} must be one line of at most {max} characters")));
    }
    Ok(s.to_string())
}

/// A component as typed: its name, description and position, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentFields {
    pub name: String,
    pub description: String,
    pub position: i64,
    pub state: ComponentState,
}

pub fn component(name: &str, description: &str, position: i64, state: &str) -> Result<ComponentFields, Invalid> {
    let name = line(name, NAME_MAX, "invalid_component_name", "the component's name")?;
    let description = description.trim();
    if description.chars().count() > DESCRIPTION_MAX || description.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid("invalid_component_description", "the description must have at most 500 characters"));
    }
    if !(0..=POSITION_MAX).contains(&position) {
        return Err(invalid("invalid_component_position", "the position must be 0 to 10000"));
    }
    let state = ComponentState::parse(state).ok_or_else(|| {
        invalid(
            "invalid_component_state",
            "state must be operational, degraded, partial_outage, major_outage or maintenance",
        )
    })?;
    Ok(ComponentFields { name, description: description.to_string(), position, state })
}

pub fn title(s: &str) -> Result<String, Invalid> {
    line(s, TITLE_MAX, "invalid_incident_title", "the incident's title")
}

/// An update's text: 1 to 5000 characters, line breaks allowed.
pub fn body(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("invalid_update_body", "the update's text is required"));
    }
    if s.chars().count() > BODY_MAX || s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(invalid("invalid_update_body", "the update's text must have at most 5000 characters"));
    }
    Ok(s.replace("\r\n", "\n"))
}

pub fn incident_state(s: &str) -> Result<IncidentState, Invalid> {
    IncidentState::parse(s).ok_or_else(|| {
        invalid("invalid_incident_state", "state must be investigating, identified, monitoring or resolved")
    })
}

/// An incident's impact: the state it puts its components in (never `operational`).
pub fn impact(s: &str) -> Result<ComponentState, Invalid> {
    match ComponentState::parse(s) {
        Some(ComponentState::Operational) | None => Err(invalid(
            "invalid_incident_impact",
            "impact must be degraded, partial_outage, major_outage or maintenance",
        )),
        Some(state) => Ok(state),
    }
}

/// A component as the public sees it: its own state, or worse while an open incident that names
/// it says so.
pub fn effective(own: ComponentState, open_impacts: impl IntoIterator<Item = ComponentState>) -> ComponentState {
    open_impacts.into_iter().fold(own, Ord::max)
}

/// The state of the whole page: the worst of its components and of its open incidents
/// (operational when there is nothing at all).
pub fn overall(
    components: impl IntoIterator<Item = ComponentState>,
    open_impacts: impl IntoIterator<Item = ComponentState>,
) -> ComponentState {
    components.into_iter().chain(open_impacts).fold(ComponentState::Operational, Ord::max)
}

/// What the history needs of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    pub impact: ComponentState,
}

/// One local day of the history: how many incidents were open at some moment of it, and the
/// worst impact among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub incidents: u32,
    pub worst: Option<ComponentState>,
}

/// Days shown on the public page.
pub const HISTORY_DAYS: u32 = 90;

/// The first instant (Unix ms) of a local date; a midnight skipped by a clock change starts
/// at the first instant that exists.
fn day_start(tz: Tz, date: NaiveDate) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..4)
        .find_map(|h| tz.from_local_datetime(&(midnight + Duration::hours(h))).earliest())
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
}

/// The last `days` local days up to today (oldest first), each with the incidents open at some
/// moment of it; an incident still open counts up to today.
pub fn history(spans: &[Span], now_ms: i64, tz: Tz, days: u32) -> Vec<Day> {
    let Some(now) = chrono::DateTime::from_timestamp_millis(now_ms) else { return Vec::new() };
    let today = now.with_timezone(&tz).date_naive();
    (0..days)
        .rev()
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(u64::from(back))))
        .map(|date| {
            let start = day_start(tz, date);
            let end = date.succ_opt().map(|d| day_start(tz, d)).unwrap_or(i64::MAX);
            let open: Vec<&Span> = spans
                .iter()
                .filter(|s| s.created_at < end && s.resolved_at.is_none_or(|r| r >= start))
                .filter(|s| s.created_at <= now_ms)
                .collect();
            Day { date, incidents: open.len() as u32, worst: open.iter().map(|s| s.impact).max() }
        })
        .collect()
}

/// What the chatbot says once per ticket while an incident is open (with the page's address
/// when the public page is on).
pub fn notice_text(title: &str, url: Option<&str>) -> String {
    match url {
        Some(url) => format!("Há uma instabilidade conhecida: {title}. Acompanhe em {url}"),
        None => format!("Há uma instabilidade conhecida: {title}."),
    }
}

/// What the customers of linked tickets get when the incident is resolved (when asked for).
pub fn resolved_text(title: &str, url: &str) -> String {
    format!("Resolvido: {title}. O serviço foi normalizado. Obrigado pela paciência! Detalhes em {url}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Sao_Paulo;

    #[test]
    fn states_round_trip_and_unknown_words_are_refused() {
        for s in ComponentState::ALL {
            assert_eq!(ComponentState::parse(s.as_str()), Some(s));
        }
        for s in IncidentState::ALL {
            assert_eq!(IncidentState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ComponentState::parse("down"), None);
        assert_eq!(incident_state("fixed").unwrap_err().code, "invalid_incident_state");
        assert!(!IncidentState::Resolved.is_open() && IncidentState::Monitoring.is_open());
    }

    #[test]
    fn severity_puts_maintenance_below_any_outage() {
        use ComponentState::*;
        assert!(Operational < Maintenance && Maintenance < Degraded && Degraded < PartialOutage);
        assert!(PartialOutage < MajorOutage);
        assert_eq!(overall([Operational, Degraded], [Maintenance]), Degraded);
        assert_eq!(overall([Operational], [MajorOutage]), MajorOutage);
        assert_eq!(overall([], []), Operational);
        assert_eq!(effective(Operational, [PartialOutage, Degraded]), PartialOutage);
        assert_eq!(effective(MajorOutage, [Degraded]), MajorOutage);
    }

    #[test]
    fn inputs_are_trimmed_and_bounded() {
        let c = component("  Site  ", " A loja ", 3, "degraded").unwrap();
        assert_eq!(
            (c.name.as_str(), c.description.as_str(), c.position, c.state),
            ("Site", "A loja", 3, ComponentState::Degraded)
        );
        assert_eq!(component(" ", "", 0, "operational").unwrap_err().code, "invalid_component_name");
        assert_eq!(component(&"x".repeat(101), "", 0, "operational").unwrap_err().code, "invalid_component_name");
        assert_eq!(component("a\u{7}b", "", 0, "operational").unwrap_err().code, "invalid_component_name");
        assert_eq!(
            component("API", &"d".repeat(501), 0, "operational").unwrap_err().code,
            "invalid_component_description"
        );
        assert_eq!(component("API", "", -1, "operational").unwrap_err().code, "invalid_component_position");
        assert_eq!(component("API", "", 0, "broken").unwrap_err().code, "invalid_component_state");
        assert_eq!(title("").unwrap_err().code, "invalid_incident_title");
        assert_eq!(title(&"t".repeat(201)).unwrap_err().code, "invalid_incident_title");
        assert_eq!(body("linha 1\r\nlinha 2").unwrap(), "linha 1\nlinha 2");
        assert_eq!(body("  ").unwrap_err().code, "invalid_update_body");
        assert_eq!(body(&"b".repeat(5001)).unwrap_err().code, "invalid_update_body");
        assert_eq!(impact("operational").unwrap_err().code, "invalid_incident_impact");
        assert_eq!(impact("major_outage").unwrap(), ComponentState::MajorOutage);
    }

    fn ms(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Sao_Paulo.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp_millis()
    }

    #[test]
    fn history_counts_an_incident_on_every_local_day_it_was_open() {
        let now = ms(2026, 12, 7, 10, 0);
        let spans = [
            // 23:30 on the 3rd to 00:30 on the 4th, São Paulo time: two days.
            Span {
                created_at: ms(2026, 12, 3, 23, 30),
                resolved_at: Some(ms(2026, 12, 4, 0, 30)),
                impact: ComponentState::Degraded,
            },
            // Still open since the 6th.
            Span { created_at: ms(2026, 12, 6, 8, 0), resolved_at: None, impact: ComponentState::MajorOutage },
            // Another on the 6th, minor.
            Span {
                created_at: ms(2026, 12, 6, 9, 0),
                resolved_at: Some(ms(2026, 12, 6, 9, 30)),
                impact: ComponentState::Maintenance,
            },
        ];
        let days = history(&spans, now, Sao_Paulo, 90);
        assert_eq!(days.len(), 90);
        assert_eq!(days.last().unwrap().date, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!(days[0].date, NaiveDate::from_ymd_opt(2026, 9, 9).unwrap());
        let on =
            |d: u32| days.iter().find(|x| x.date == NaiveDate::from_ymd_opt(2026, 12, d).unwrap()).unwrap().clone();
        assert_eq!((on(3).incidents, on(3).worst), (1, Some(ComponentState::Degraded)));
        assert_eq!((on(4).incidents, on(4).worst), (1, Some(ComponentState::Degraded)));
        assert_eq!((on(5).incidents, on(5).worst), (0, None));
        assert_eq!((on(6).incidents, on(6).worst), (2, Some(ComponentState::MajorOutage)));
        assert_eq!((on(7).incidents, on(7).worst), (1, Some(ComponentState::MajorOutage)));
        // Older than the window: not shown anywhere.
        let old = [Span {
            created_at: ms(2026, 1, 1, 0, 0),
            resolved_at: Some(ms(2026, 1, 2, 0, 0)),
            impact: ComponentState::Degraded,
        }];
        assert!(history(&old, now, Sao_Paulo, 90).iter().all(|d| d.incidents == 0));
    }

    #[test]
    fn texts_name_the_incident_and_the_page() {
        assert_eq!(
            notice_text("Lentidão no site", Some("https://x/status/demo")),
            "Há uma instabilidade conhecida: Lentidão no site. Acompanhe em https://x/status/demo"
        );
        assert_eq!(notice_text("Lentidão", None), "Há uma instabilidade conhecida: Lentidão.");
        assert!(resolved_text("Lentidão", "u").starts_with("Resolvido: Lentidão."));
    }
}
