//! The kanban board (`/kanban`): open tickets as cards in columns by lane, each column paged on
//! its own; a card moves by drag and drop, by the keyboard (arrows on a focused card) or by its
//! "Mover para" form, and every open board redraws the card live (assets/kanban.js fetches
//! `/kanban/cards/{id}` on each ticket event). Supervisors and admins choose the lanes here.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;

use super::inbox::{fail as failed_fragment, preview_text, waited_text};
use super::pages::NoticeQuery;
use super::{error_message, error_status, render, CsrfForm, Lang, Layout, Page};
use crate::actions::{self, kanban::COLUMN_PAGE, ActionError};
use crate::app::App;
use crate::domain::inbox;
use crate::store::inbox::{Cursor, TicketView};
use crate::store::kanban::Lane;
use crate::store::tags::Tag;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/kanban", get(show))
        .route("/kanban/column", get(column))
        .route("/kanban/cards/{id}", get(card))
        .route("/kanban/move", post(move_card))
        .route("/kanban/lanes", post(set_lane))
        .route(
            "/assets/kanban.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    include_str!("../../../assets/kanban.js"),
                )
            }),
        )
}

/// A card as the board draws it.
pub struct Card {
    pub id: i64,
    pub contact: String,
    pub protocol: Option<String>,
    pub preview: String,
    pub preview_icon: &'static str,
    /// "há 5 min" while the customer waits for people.
    pub waiting: Option<String>,
    pub agent: Option<String>,
    pub department: Option<String>,
    pub department_colour: Option<String>,
    /// Last activity (ms): the column's order, kept by live moves too.
    pub at: i64,
    /// The lane it is in ("0": none).
    pub lane: String,
}

fn card_of(lang: Lang, t: TicketView, lane: Option<i64>, now: i64) -> Card {
    let waiting = inbox::waiting_since(&t.status, t.queued_at, t.created_at, t.last_inbound_at, t.last_message_at)
        .map(|since| waited_text(lang, since, now));
    let (preview, preview_icon) = preview_text(lang, t.last_message_preview.as_deref());
    Card {
        id: t.id,
        contact: t.contact_name,
        protocol: t.protocol,
        preview,
        preview_icon,
        waiting,
        agent: t.assignee_name,
        department: t.department_name,
        department_colour: t.department_colour,
        at: t.last_message_at,
        lane: lane_key(lane),
    }
}

fn lane_key(lane: Option<i64>) -> String {
    lane.map(|l| l.to_string()).unwrap_or_else(|| "0".into())
}

/// The cards of one column's page (also the fragment "more" and live updates fetch).
#[derive(Template)]
#[template(path = "kanban_cards.html")]
struct CardsFragment {
    lang: Lang,
    csrf: String,
    /// Where a card may go: (key, name), "no lane" first.
    targets: Vec<(String, String)>,
    cards: Vec<Card>,
    more_href: Option<String>,
}

impl CardsFragment {
    fn is_here(&self, card: &Card, key: &str) -> bool {
        card.lane == key
    }
}

pub struct ColumnView {
    pub key: String,
    pub name: String,
    pub colour: Option<String>,
    pub cards_html: String,
}

#[derive(Template)]
#[template(path = "kanban.html")]
struct KanbanPage {
    layout: Layout,
    columns: Vec<ColumnView>,
    can_manage: bool,
    lanes: Vec<Lane>,
    /// Tags not on the board yet (what a lane can be made of).
    other_tags: Vec<Tag>,
    notice: Option<String>,
    error: Option<String>,
}

fn targets(lang: Lang, lanes: &[Lane]) -> Vec<(String, String)> {
    let mut out = vec![("0".to_string(), lang.t("kanban.no_lane").to_string())];
    out.extend(lanes.iter().map(|l| (l.tag_id.to_string(), l.name.clone())));
    out
}

fn fragment(
    p: &Page,
    targets: Vec<(String, String)>,
    cards: Vec<Card>,
    more_href: Option<String>,
) -> askama::Result<String> {
    CardsFragment { lang: p.lang(), csrf: p.csrf.0.clone(), targets, cards, more_href }.render()
}

fn broken(p: &Page, e: askama::Error) -> Response {
    tracing::error!(error = %e, "template failed");
    p.failure(&ActionError::Internal(e.into()))
}

fn more_href(lane: Option<i64>, next: Option<Cursor>) -> Option<String> {
    next.map(|c| format!("/kanban/column?lane={}&after={}", lane_key(lane), c.encode()))
}

async fn board(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let mut layout = p.layout("nav.kanban", "/kanban");
    layout.wide = true;
    let lang = p.lang();
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let columns = match actions::kanban::board(app, &actor, tenant).await {
        Ok(c) => c,
        Err(e) => return p.failure(&e),
    };
    let lanes: Vec<Lane> = columns.iter().filter_map(|c| c.lane.clone()).collect();
    let now = app.clock.now_ms();
    let mut views = Vec::new();
    for c in columns {
        let lane = c.lane.as_ref().map(|l| l.tag_id);
        let cards = c.page.tickets.into_iter().map(|t| card_of(lang, t, lane, now)).collect();
        let cards_html = match fragment(p, targets(lang, &lanes), cards, more_href(lane, c.page.next)) {
            Ok(h) => h,
            Err(e) => return broken(p, e),
        };
        let (name, colour) = match c.lane {
            Some(l) => (l.name, Some(l.colour)),
            None => (lang.t("kanban.no_lane").to_string(), None),
        };
        views.push(ColumnView { key: lane_key(lane), name, colour, cards_html });
    }
    let can_manage = p.user.user.role.sees_whole_tenant();
    let other_tags = if can_manage {
        match actions::contacts::list_tags(app, &actor, tenant).await {
            Ok(tags) => tags.into_iter().filter(|t| !lanes.iter().any(|l| l.tag_id == t.id)).collect(),
            Err(e) => return p.failure(&e),
        }
    } else {
        Vec::new()
    };
    render(KanbanPage { layout, columns: views, can_manage, lanes, other_tags, notice, error })
}

pub async fn show(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    board(&p, notice, None).await
}

#[derive(Deserialize)]
pub struct ColumnQuery {
    #[serde(default)]
    lane: String,
    #[serde(default)]
    after: String,
}

/// `lane=0` (or empty) is the column of tickets in no lane.
fn parse_lane(s: &str) -> Result<Option<i64>, ActionError> {
    match s.trim() {
        "" | "0" => Ok(None),
        s => s
            .parse::<i64>()
            .ok()
            .filter(|l| *l > 0)
            .map(Some)
            .ok_or_else(|| ActionError::invalid("unknown_lane", "this tag is not a lane of the board")),
    }
}

/// The next page of one column.
pub async fn column(p: Page, Query(q): Query<ColumnQuery>) -> Response {
    let lang = p.lang();
    let lane = match parse_lane(&q.lane) {
        Ok(l) => l,
        Err(e) => return failed_fragment(lang, &e),
    };
    let after = Cursor::decode(&q.after);
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let (lanes, page) = match tokio::try_join!(
        actions::kanban::lanes(app, &actor, tenant),
        actions::kanban::column(app, &actor, tenant, lane, after, COLUMN_PAGE)
    ) {
        Ok(x) => x,
        Err(e) => return failed_fragment(lang, &e),
    };
    let now = app.clock.now_ms();
    let cards = page.tickets.into_iter().map(|t| card_of(lang, t, lane, now)).collect();
    match fragment(&p, targets(lang, &lanes), cards, more_href(lane, page.next)) {
        Ok(h) => Html(h).into_response(),
        Err(e) => broken(&p, e),
    }
}

/// One card, as the caller sees it now (404 when they may not, or it was closed).
pub async fn card(p: Page, Path(id): Path<i64>) -> Response {
    let lang = p.lang();
    let (app, actor, tenant) = (&p.app, p.actor(), p.tenant());
    let (lanes, (t, lane)) = match tokio::try_join!(
        actions::kanban::lanes(app, &actor, tenant),
        actions::kanban::card(app, &actor, tenant, id)
    ) {
        Ok(x) => x,
        Err(e) => return failed_fragment(lang, &e),
    };
    let card = card_of(lang, t, lane, app.clock.now_ms());
    match fragment(&p, targets(lang, &lanes), vec![card], None) {
        Ok(h) => Html(h).into_response(),
        Err(e) => broken(&p, e),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    ticket_id: i64,
    #[serde(default)]
    lane: String,
}

/// Moves a card; the board (or the script that posted) follows the redirect.
pub async fn move_card(p: Page, CsrfForm(form): CsrfForm<MoveForm>) -> Response {
    let result = match parse_lane(&form.lane) {
        Ok(lane) => {
            actions::kanban::move_ticket(&p.app, &p.actor(), p.tenant(), form.ticket_id, lane).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/kanban").into_response(),
        Err(e) => {
            let message = error_message(p.lang(), &e);
            (error_status(&e), board(&p, None, Some(message)).await).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LaneForm {
    tag_id: i64,
    /// Empty: take the tag off the board.
    #[serde(default)]
    position: String,
}

pub async fn set_lane(p: Page, CsrfForm(form): CsrfForm<LaneForm>) -> Response {
    let position = match form.position.trim() {
        "" => Ok(None),
        s => s.parse::<i64>().map(Some).map_err(|_| ActionError::invalid("invalid_position", "a number from 1 to 999")),
    };
    let result = match position {
        Ok(position) => actions::kanban::set_lane(&p.app, &p.actor(), p.tenant(), form.tag_id, position).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/kanban?saved=lanes_saved").into_response(),
        Err(e) => {
            let message = error_message(p.lang(), &e);
            (error_status(&e), board(&p, None, Some(message)).await).into_response()
        }
    }
}
