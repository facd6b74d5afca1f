//! The Painel (supervisors and admins): the live "now" block (redrawn over SSE by
//! assets/painel.js), a period's figures with SVG charts and tables, the agent table, the alert
//! settings; the ticket report with its CSV export; a ticket's transcript (HTML and text).

mod svg;

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::reports::export::{self, FilterInput, Transcript};
use crate::actions::reports::{self, AgentLine, NowReport, RangeQuery, RangeReport};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::reports::range::{Duration, Summary, TimeFigure};
use crate::store::reports::live::AlertSettings;
use crate::store::reports::tickets::Row_;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/painel", get(show))
        .route("/painel/now", get(now_fragment))
        .route("/painel/alerts", post(save_alerts))
        .route("/reports/tickets", get(tickets))
        .route("/reports/tickets.csv", get(tickets_csv))
        .route("/reports/tickets/{id}/transcript", get(transcript))
        .route(
            "/assets/painel.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    include_str!("../../../../assets/painel.js"),
                )
            }),
        )
}

/// "4 min 10 s", "1 h 05 min", "2 d 3 h"; "—" when there is nothing to show.
pub fn duration_text(s: Option<i64>) -> String {
    let Some(s) = s else { return "—".into() };
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s if s < 86_400 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0))
}

/// One row of the now block's department table.
pub struct NowRow {
    pub name: String,
    pub waiting: i64,
    pub longest: String,
    pub in_service: i64,
    pub with_bot: i64,
    pub closed_today: i64,
    pub people: String,
}

#[derive(Template)]
#[template(path = "painel_now.html")]
struct NowFragment {
    layout: Layout,
    now: NowReport,
    totals: NowRow,
    rows: Vec<NowRow>,
    alerts: Vec<String>,
    rate: String,
}

fn now_fragment_of(layout: Layout, now: NowReport) -> NowFragment {
    let l = &layout;
    let row = |d: &reports::DepartmentNow, name: String| NowRow {
        name,
        waiting: d.waiting,
        longest: duration_text(d.longest_wait_s),
        in_service: d.in_service,
        with_bot: d.with_bot,
        closed_today: d.closed_today,
        people: format!(
            "{} {} · {} {} · {} {}",
            d.online,
            l.t("painel.online"),
            d.away,
            l.t("painel.away"),
            d.offline,
            l.t("painel.offline")
        ),
    };
    let totals = row(&now.totals, String::new());
    let rows = now
        .departments
        .iter()
        .map(|d| {
            row(d, if d.department_id.is_none() { l.t("painel.no_department").to_string() } else { d.name.clone() })
        })
        .collect();
    let alerts = now
        .alerts
        .iter()
        .map(|a| {
            l.t(&format!("painel.alert.{}", a.code))
                .replace("{n}", &a.value.to_string())
                .replace("{t}", &a.threshold.to_string())
        })
        .collect();
    let rate = l
        .t("painel.rate")
        .replace("{n}", &format!("{:.1}", now.messages_per_minute))
        .replace("{m}", &format!("{:.1}", now.messages_per_minute_mean));
    NowFragment { layout, now, totals, rows, alerts, rate }
}

/// One time figure row: label, tooltip, wall-clock and business-hours cells.
pub struct FigureRow {
    pub label: String,
    pub tip: String,
    pub count: i64,
    pub wall_avg: String,
    pub wall_p90: String,
    pub business_avg: String,
    pub business_p90: String,
}

/// One count row: label, tooltip, value.
pub struct CountRow {
    pub label: String,
    pub tip: String,
    pub value: String,
}

/// "85 % (17 de 20)" rows for the period's SLA compliance (none when nothing was timed).
fn sla_rows(l: &Layout, c: &crate::actions::sla::Compliance) -> Vec<CountRow> {
    let row = |key: &'static str, met: i64, of: i64| CountRow {
        label: l.t(key).to_string(),
        tip: l.t("sla.compliance").to_string(),
        value: format!("{} % ({met}/{of})", (met * 100).checked_div(of).unwrap_or(0)),
    };
    let mut out = Vec::new();
    if c.responses > 0 {
        out.push(row("sla.compliance_response", c.responses_met, c.responses));
    }
    if c.resolutions > 0 {
        out.push(row("sla.compliance_resolution", c.resolutions_met, c.resolutions));
    }
    out
}

fn figure(l: &Layout, key: &str, f: &TimeFigure) -> FigureRow {
    let p90 = |d: &Duration| {
        if d.count == 0 {
            "—".into()
        } else {
            d.p90_max_s.map_or("> 7 d".into(), |s| duration_text(Some(s)))
        }
    };
    FigureRow {
        label: l.t(&format!("painel.fig.{key}")).to_string(),
        tip: format!("{} {}", l.t(&format!("def.{key}")), l.t("def.business")),
        count: f.wall.count,
        wall_avg: duration_text(f.wall.avg_s),
        wall_p90: p90(&f.wall),
        business_avg: duration_text(f.business.avg_s),
        business_p90: p90(&f.business),
    }
}

fn counts(l: &Layout, s: &Summary) -> Vec<CountRow> {
    let row = |key: &str, value: String| CountRow {
        label: l.t(&format!("painel.fig.{key}")).to_string(),
        tip: l.t(&format!("def.{key}")).to_string(),
        value,
    };
    vec![
        row("new_tickets", s.new_tickets.to_string()),
        row("reopened", s.reopened.to_string()),
        row("closed", s.closed.to_string()),
        row("resolved_by_people", s.resolved_by_people.to_string()),
        row("resolved_by_bot", s.resolved_by_bot.to_string()),
        row("closed_unanswered", s.closed_unanswered.to_string()),
        row("reopen_rate", pct(s.reopen_rate)),
        row("bot_share", pct(s.bot_share)),
        row("rating_avg", s.rating_avg.map_or("—".into(), |v| format!("{v:.2}"))),
        row("rating_response_rate", pct(s.rating_response_rate)),
        row("messages", format!("{} / {} + {}", s.messages_in, s.messages_out_people, s.messages_out_bot)),
    ]
}

/// One line of the agent table.
pub struct AgentRow {
    pub name: String,
    pub resolved: i64,
    pub unanswered: i64,
    pub frt: String,
    pub resolution: String,
    pub rating: String,
    pub online: String,
}

fn agent_rows(lines: &[AgentLine]) -> Vec<AgentRow> {
    lines
        .iter()
        .map(|a| AgentRow {
            name: a.name.clone(),
            resolved: a.summary.resolved_by_people,
            unanswered: a.summary.closed_unanswered,
            frt: duration_text(a.summary.first_response.wall.avg_s),
            resolution: duration_text(a.summary.resolution.wall.avg_s),
            rating: a
                .summary
                .rating_avg
                .map_or("—".into(), |v| format!("{v:.2} ({})", a.summary.ratings.iter().sum::<i64>())),
            online: if a.online_s > 0 { duration_text(Some(a.online_s)) } else { "—".into() },
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct RangeParams {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

fn id(s: &Option<String>) -> Option<i64> {
    s.as_deref().and_then(|v| v.trim().parse().ok()).filter(|v: &i64| *v > 0)
}

#[derive(Template)]
#[template(path = "painel.html")]
struct PainelPage {
    layout: Layout,
    notice: Option<String>,
    now_html: String,
    range: RangeReport,
    period: String,
    from: String,
    to: String,
    department: i64,
    agent: i64,
    departments: Vec<(i64, String)>,
    agents: Vec<(i64, String)>,
    figures: Vec<FigureRow>,
    counts: Vec<CountRow>,
    volume_svg: String,
    messages_svg: String,
    ratings_svg: String,
    agent_rows: Vec<AgentRow>,
    settings: AlertSettings,
    is_admin: bool,
}

async fn show(p: Page, Query(q): Query<RangeParams>) -> Response {
    let layout = p.layout("nav.painel", "/painel");
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let (actor, tenant) = (p.actor(), p.tenant());
    let query = match RangeQuery::parse(
        q.period.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        id(&q.department),
        id(&q.agent),
    ) {
        Ok(query) => query,
        Err(e) => return p.failure(&e),
    };
    let result = async {
        let now = reports::now(&p.app, &actor, tenant).await?;
        let range = reports::range(&p.app, &actor, tenant, &query).await?;
        let agents = reports::agents(&p.app, &actor, tenant, &query).await?;
        let settings = reports::alert_settings(&p.app, &actor, tenant).await?;
        let departments = crate::actions::departments::list_departments(&p.app, &actor, tenant).await?;
        let people = crate::actions::users::names(&p.app, &actor, tenant).await?;
        let sla = crate::actions::sla::compliance(&p.app, &actor, tenant, range.from, range.to).await?;
        Ok::<_, ActionError>((now, range, agents, settings, departments, people, sla))
    }
    .await;
    let (now, range, agents, settings, departments, people, sla) = match result {
        Ok(r) => r,
        Err(e) => return p.failure(&e),
    };
    let l = &layout;
    let now_html = now_fragment_of(p.layout("nav.painel", "/painel"), now).render().unwrap_or_default();
    let labels: Vec<String> = range.volume.iter().map(|x| x.label.clone()).collect();
    let series = |points: &[reports::Point], i: usize| points.iter().map(|x| x.values[i]).collect::<Vec<_>>();
    let volume_svg = svg::bars(
        l.t("painel.volume"),
        &labels,
        &[series(&range.volume, 0), series(&range.volume, 1)],
        &[l.t("painel.new"), l.t("painel.closed")],
    );
    let hour_labels: Vec<String> = range.messages_by_hour.iter().map(|x| x.label.clone()).collect();
    let messages_svg = svg::bars(
        l.t("painel.messages_by_hour"),
        &hour_labels,
        &[series(&range.messages_by_hour, 0), series(&range.messages_by_hour, 1)],
        &[l.t("painel.messages_in"), l.t("painel.messages_out")],
    );
    let ratings_svg = svg::bars(
        l.t("painel.ratings"),
        &["1", "2", "3", "4", "5"].map(String::from),
        &[range.summary.ratings.to_vec()],
        &[l.t("painel.ratings")],
    );
    let figures = vec![
        figure(l, "wait", &range.summary.wait),
        figure(l, "first_response", &range.summary.first_response),
        figure(l, "resolution", &range.summary.resolution),
    ];
    let page = PainelPage {
        notice: super::saved_notice(p.lang(), q.saved.as_deref()),
        now_html,
        period: query.period.code().to_string(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        department: query.department.unwrap_or(0),
        agent: query.agent.unwrap_or(0),
        departments: departments.into_iter().map(|d| (d.id, d.name)).collect(),
        agents: people.into_iter().map(|(id, name)| (id.0, name)).collect(),
        counts: counts(l, &range.summary).into_iter().chain(sla_rows(l, &sla)).collect(),
        figures,
        volume_svg,
        messages_svg,
        ratings_svg,
        agent_rows: agent_rows(&agents),
        settings,
        is_admin: p.user.user.role.can_manage_tenant(),
        range,
        layout,
    };
    render(page)
}

async fn now_fragment(p: Page) -> Response {
    match reports::now(&p.app, &p.actor(), p.tenant()).await {
        Ok(now) => render(now_fragment_of(p.layout("nav.painel", "/painel"), now)),
        Err(e) => (error_status(&e), super::error_message(p.lang(), &e)).into_response(),
    }
}

#[derive(Deserialize)]
pub struct AlertFields {
    #[serde(default)]
    wait_alert_minutes: String,
    #[serde(default)]
    band_low_pct: String,
    #[serde(default)]
    band_high_pct: String,
}

async fn save_alerts(p: Page, CsrfForm(f): CsrfForm<AlertFields>) -> Response {
    let num = |s: &str| s.trim().parse::<i64>().unwrap_or(-1);
    let s = AlertSettings {
        wait_alert_minutes: num(&f.wait_alert_minutes),
        band_low_pct: num(&f.band_low_pct),
        band_high_pct: num(&f.band_high_pct),
    };
    match reports::save_alert_settings(&p.app, &p.actor(), p.tenant(), s).await {
        Ok(()) => Redirect::to("/painel?saved=alerts").into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize, Default)]
pub struct TicketParams {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    connection: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    rating: Option<String>,
}

impl TicketParams {
    fn input(&self) -> FilterInput {
        FilterInput {
            period: self.period.clone().filter(|s| !s.is_empty()),
            from: self.from.clone(),
            to: self.to.clone(),
            department: id(&self.department),
            agent: id(&self.agent),
            connection: id(&self.connection),
            tag: id(&self.tag),
            status: self.status.clone(),
            rating: self.rating.clone(),
        }
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("period", self.period.clone().unwrap_or_default()),
            ("from", self.from.clone().unwrap_or_default()),
            ("to", self.to.clone().unwrap_or_default()),
            ("department", self.department.clone().unwrap_or_default()),
            ("agent", self.agent.clone().unwrap_or_default()),
            ("connection", self.connection.clone().unwrap_or_default()),
            ("tag", self.tag.clone().unwrap_or_default()),
            ("status", self.status.clone().unwrap_or_default()),
            ("rating", self.rating.clone().unwrap_or_default()),
        ])
        .unwrap_or_default()
    }
}

/// Rows the report page shows (the CSV has all).
const PAGE_ROWS: i64 = 100;

#[derive(Template)]
#[template(path = "reports_tickets.html")]
struct TicketsPage {
    layout: Layout,
    q: TicketParams,
    csv_query: String,
    rows: Vec<(Row_, String, String)>,
    showing: String,
    departments: Vec<(i64, String)>,
    agents: Vec<(i64, String)>,
    connections: Vec<(i64, String)>,
    tags: Vec<(i64, String)>,
}

impl TicketsPage {
    fn sel(&self, which: &str, v: &i64) -> bool {
        let s = match which {
            "department" => &self.q.department,
            "agent" => &self.q.agent,
            "connection" => &self.q.connection,
            _ => &self.q.tag,
        };
        id(s) == Some(*v)
    }
}

async fn tickets(p: Page, Query(q): Query<TicketParams>) -> Response {
    let layout = p.layout("painel.tickets_report", "/painel");
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let result = async {
        let (filter, tz) = export::filter(app, &actor, tenant, &q.input()).await?;
        let rows = export::page(app, &actor, tenant, &filter, None, PAGE_ROWS).await?;
        let departments = crate::actions::departments::list_departments(app, &actor, tenant).await?;
        let agents = crate::actions::users::names(app, &actor, tenant).await?;
        let connections = crate::store::connections::list(app.db.reader(), tenant).await?;
        let tags = crate::actions::contacts::list_tags(app, &actor, tenant).await?;
        Ok::<_, ActionError>((rows, tz, departments, agents, connections, tags))
    }
    .await;
    let (rows, tz, departments, agents, connections, tags) = match result {
        Ok(r) => r,
        Err(e) => return p.failure(&e),
    };
    let when = |at: i64| crate::domain::reports::range::datetime_br(tz, at);
    let showing = layout.t("report.showing").replace("{n}", &rows.len().to_string());
    let rows = rows
        .into_iter()
        .map(|r| {
            let (a, b) = (when(r.created_at), r.closed_at.map(when).unwrap_or_default());
            (r, a, b)
        })
        .collect();
    render(TicketsPage {
        layout,
        csv_query: q.query_string(),
        q,
        rows,
        showing,
        departments: departments.into_iter().map(|d| (d.id, d.name)).collect(),
        agents: agents.into_iter().map(|(id, n)| (id.0, n)).collect(),
        connections: connections.into_iter().map(|c| (c.id, c.name)).collect(),
        tags: tags.into_iter().map(|t| (t.id, t.name)).collect(),
    })
}

/// The streamed CSV (shared with the API).
pub async fn csv_response(
    app: Arc<App>,
    actor: crate::actions::Actor,
    tenant: crate::domain::TenantId,
    input: FilterInput,
) -> Result<Response, ActionError> {
    let (filter, tz) = export::filter(&app, &actor, tenant, &input).await?;
    enum State {
        Header,
        Page(Option<i64>),
        Done,
    }
    let filter = Arc::new(filter);
    let stream = futures_util::stream::unfold(State::Header, move |state| {
        let (app, actor, filter) = (app.clone(), actor.clone(), filter.clone());
        async move {
            match state {
                State::Header => Some((Ok::<_, std::io::Error>(export::csv_header()), State::Page(None))),
                State::Page(before) => match export::export_page(&app, &actor, tenant, &filter, tz, before).await {
                    Ok((text, Some(next))) => Some((Ok(text), State::Page(Some(next)))),
                    Ok((text, None)) => Some((Ok(text), State::Done)),
                    Err(e) => {
                        tracing::error!(error = %e, "ticket export failed");
                        Some((Err(std::io::Error::other("export failed")), State::Done))
                    }
                },
                State::Done => None,
            }
        }
    });
    let filename = format!("atendimentos-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn tickets_csv(p: Page, Query(q): Query<TicketParams>) -> Response {
    match csv_response(p.app.clone(), p.actor(), p.tenant(), q.input()).await {
        Ok(r) => r,
        Err(e) => p.failure(&e),
    }
}

#[derive(Template)]
#[template(path = "transcript.html")]
struct TranscriptPage {
    layout: Layout,
    t: Transcript,
}

#[derive(Deserialize)]
pub struct TranscriptParams {
    #[serde(default)]
    format: Option<String>,
}

async fn transcript(p: Page, Path(ticket): Path<i64>, Query(q): Query<TranscriptParams>) -> Response {
    let t = match export::transcript(&p.app, &p.actor(), p.tenant(), ticket).await {
        Ok(t) => t,
        Err(e) => return p.failure(&e),
    };
    if q.format.as_deref() == Some("txt") {
        return (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"atendimento-{ticket}.txt\"")),
            ],
            export::transcript_text(&t),
        )
            .into_response();
    }
    render(TranscriptPage { layout: p.layout("report.transcript", "/painel"), t })
}
