//! The agent inbox: the ticket list (tabs, search, department filter, keyset "more"), one
//! conversation with its composer and side panel, and the form posts that act on a ticket. Every
//! handler calls the inbox and send actions; the list, the messages and the panel are also served
//! alone (`?part=list|messages|panel`) so the page's script can swap them in on live events.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{error_message, error_status, render, CsrfForm, Lang, Layout, Page};
use crate::actions::inbox::{Farewell, Transfer};
use crate::actions::send::{SendRequest, SendTarget};
use crate::actions::{self, ActionError, Actor};
use crate::app::App;
use crate::domain::outbound::OutboundContent;
use crate::domain::{TenantId, UserId};
use crate::http::auth::urlencode;
use crate::store::departments::Department;
use crate::store::inbox::{Cursor, Filter, Tab, TicketView};
use crate::store::inbox_extras::{Quoted, Reaction};
use crate::store::messages::StoredMessage;
use crate::store::tags::Tag;

const PAGE: i64 = 50;
const MESSAGES_PAGE: i64 = 50;

// ---------------------------------------------------------------- views

/// A ticket in the list.
pub struct ListItem {
    pub t: TicketView,
    pub tags: Vec<Tag>,
    pub time: String,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "inbox_list.html")]
struct ListFragment {
    lang: Lang,
    items: Vec<ListItem>,
    more_href: Option<String>,
}

/// A message bubble.
pub struct MessageView {
    pub id: i64,
    pub direction: String,
    pub kind: String,
    pub body: Option<String>,
    pub time: String,
    pub sent_at: i64,
    pub agent: Option<String>,
    pub status: String,
    pub error_title: Option<String>,
    /// "Image", "Document · contrato.pdf · 12 KB"… for media.
    pub media: Option<String>,
    pub map_url: Option<String>,
    /// Whether this one quotes another message (shown with `quote` when that one is known).
    pub quoted: bool,
    pub quote: Option<QuoteView>,
    /// Reactions on this message: (emoji, by the business).
    pub reactions: Vec<(String, bool)>,
    /// Whether it reached WhatsApp, so it can be quoted or reacted to.
    pub can_reply: bool,
    /// The stored file, when there is one.
    pub file: Option<FileView>,
}

/// A message's stored file and how the bubble shows it.
pub struct FileView {
    pub url: String,
    pub image: bool,
    pub audio: bool,
    pub video: bool,
}

/// The message a bubble quotes.
pub struct QuoteView {
    pub id: i64,
    pub text: String,
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "inbox_messages.html")]
struct MessagesFragment {
    lang: Lang,
    csrf: String,
    ticket_id: i64,
    messages: Vec<MessageView>,
    older_href: Option<String>,
    emoji: &'static [&'static str],
}

/// A line of the ticket's history.
pub struct HistoryLine {
    pub time: String,
    pub text: String,
    pub note: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox_panel.html")]
struct PanelFragment {
    lang: Lang,
    csrf: String,
    t: TicketView,
    created: String,
    history: Vec<HistoryLine>,
    departments: Vec<Department>,
    agents: Vec<(i64, String)>,
    can_capture: bool,
    /// The ticket's tags, and the tenant's others that can be added.
    tags: Vec<Tag>,
    other_tags: Vec<Tag>,
}

impl PanelFragment {
    fn status_label(&self) -> &str {
        status_label(self.lang, &self.t.status)
    }

    fn priority_label(&self) -> &str {
        self.lang.t(match self.t.priority.as_str() {
            "low" => "inbox.priority.low",
            "high" => "inbox.priority.high",
            "urgent" => "inbox.priority.urgent",
            _ => "inbox.priority.normal",
        })
    }
}

fn status_label(lang: Lang, status: &str) -> &'static str {
    lang.t(match status {
        "bot" => "inbox.status.bot",
        "waiting" => "inbox.status.waiting",
        "open" => "inbox.status.open",
        _ => "inbox.status.closed",
    })
}

/// The conversation part of the page.
pub struct Conversation {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub messages_html: String,
    pub panel_html: String,
    pub outside_window: bool,
    pub draft: String,
    pub error: Option<String>,
    pub quick_replies: Vec<String>,
}

pub struct TabLink {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    tabs: Vec<TabLink>,
    tab: &'static str,
    q: String,
    department: Option<i64>,
    departments: Vec<Department>,
    tag: Option<i64>,
    tags: Vec<Tag>,
    connection: Option<i64>,
    connections: Vec<(i64, String)>,
    list_src: String,
    list_html: String,
    conversation: Option<Conversation>,
}

impl InboxPage {
    fn selected(&self, department: &i64) -> bool {
        self.department == Some(*department)
    }

    fn tag_selected(&self, tag: &i64) -> bool {
        self.tag == Some(*tag)
    }

    fn connection_selected(&self, connection: &i64) -> bool {
        self.connection == Some(*connection)
    }
}

// ---------------------------------------------------------------- helpers

fn tab_code(tab: Tab) -> &'static str {
    match tab {
        Tab::Mine => "mine",
        Tab::Waiting => "waiting",
        Tab::All => "all",
        Tab::Closed => "closed",
        Tab::Bot => "bot",
    }
}

/// `HH:MM` (UTC) for today, else `dd/mm HH:MM`; the page's script shows local time.
fn short_time(ms: i64, now: i64) -> String {
    let (Some(t), Some(n)) =
        (chrono::DateTime::from_timestamp_millis(ms), chrono::DateTime::from_timestamp_millis(now))
    else {
        return String::new();
    };
    if t.date_naive() == n.date_naive() {
        t.format("%H:%M").to_string()
    } else {
        t.format("%d/%m %H:%M").to_string()
    }
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// The first `{latitude, longitude}` pair anywhere in a stored payload (inbound payloads keep
/// Meta's `location` object; outbound ones the content we sent).
fn find_location(v: &Value) -> Option<(f64, f64)> {
    match v {
        Value::Object(map) => {
            if let (Some(lat), Some(long)) =
                (map.get("latitude").and_then(Value::as_f64), map.get("longitude").and_then(Value::as_f64))
            {
                return Some((lat, long));
            }
            map.values().find_map(find_location)
        }
        Value::Array(items) => items.iter().find_map(find_location),
        _ => None,
    }
}

fn find_filename(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => map
            .get("filename")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_filename)),
        Value::Array(items) => items.iter().find_map(find_filename),
        _ => None,
    }
}

/// What a quote shows of a message: its text, else the name of its kind.
fn quote_text(lang: Lang, q: &Quoted) -> String {
    match q.body.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) if b.chars().count() > 140 => format!("{}…", b.chars().take(140).collect::<String>()),
        Some(b) => b.to_string(),
        None => match q.kind.as_str() {
            "image" => lang.t("msg.image").to_string(),
            "audio" | "voice" => lang.t("msg.audio").to_string(),
            "video" => lang.t("msg.video").to_string(),
            "document" => lang.t("msg.document").to_string(),
            "sticker" => lang.t("msg.sticker").to_string(),
            "location" => lang.t("msg.location").to_string(),
            other => format!("[{other}]"),
        },
    }
}

/// Bubbles of a page: reactions are shown on the message they react to, not as bubbles.
fn message_views(
    lang: Lang,
    messages: Vec<StoredMessage>,
    quoted: &[Quoted],
    reactions: &[Reaction],
    names: &HashMap<i64, String>,
    now: i64,
) -> Vec<MessageView> {
    messages
        .into_iter()
        .filter(|m| m.kind != "reaction")
        .map(|m| {
            let quote = m
                .refers_to
                .as_deref()
                .and_then(|r| quoted.iter().find(|q| q.provider_id == r))
                .map(|q| QuoteView { id: q.id, text: quote_text(lang, q), mine: q.direction == "out" });
            let on_it: Vec<(String, bool)> = match m.provider_id.as_deref() {
                Some(p) => reactions
                    .iter()
                    .filter(|r| r.refers_to == p)
                    .map(|r| (r.emoji.clone(), r.direction == "out"))
                    .collect(),
                None => Vec::new(),
            };
            let file = actions::composer::media_location(&m).map(|(_, mime)| FileView {
                url: format!("/inbox/{}/media/{}", m.ticket_id, m.id),
                image: mime.starts_with("image/"),
                audio: mime.starts_with("audio/"),
                video: mime.starts_with("video/"),
            });
            let mut view = message_view(lang, m, names, now);
            view.file = file;
            view.quote = quote;
            view.reactions = on_it;
            view
        })
        .collect()
}

fn message_view(lang: Lang, m: StoredMessage, names: &HashMap<i64, String>, now: i64) -> MessageView {
    let payload: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    let media_key = match m.kind.as_str() {
        "image" => Some("msg.image"),
        "audio" | "voice" => Some("msg.audio"),
        "video" => Some("msg.video"),
        "document" => Some("msg.document"),
        "sticker" => Some("msg.sticker"),
        _ => None,
    };
    let media = media_key.map(|key| {
        let mut parts = vec![lang.t(key).to_string()];
        if m.kind == "document" {
            if let Some(name) = find_filename(&payload) {
                parts.push(name);
            }
        }
        if let Some(size) = m.media_size.filter(|s| *s > 0) {
            parts.push(size_text(size));
        }
        parts.join(" · ")
    });
    let map_url = if m.kind == "location" {
        find_location(&payload)
            .map(|(lat, long)| format!("https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=16/{lat}/{long}"))
    } else {
        None
    };
    MessageView {
        id: m.id,
        time: short_time(m.sent_at, now),
        sent_at: m.sent_at,
        // What the business wrote on its own phone is signed "Celular".
        agent: m
            .sender_user_id
            .and_then(|u| names.get(&u).cloned())
            .or_else(|| (m.origin.as_deref() == Some("phone")).then(|| lang.t("msg.from_phone").to_string())),
        quoted: m.refers_to.is_some() && m.kind != "reaction",
        quote: None,
        reactions: Vec::new(),
        can_reply: m.provider_id.is_some() && m.direction != "note",
        file: None,
        direction: m.direction,
        kind: m.kind,
        body: m.body,
        status: m.status,
        error_title: m.error_title,
        media,
        map_url,
    }
}

fn history_line(
    lang: Lang,
    e: &crate::store::ticket_events::TicketEvent,
    names: &HashMap<i64, String>,
    departments: &[Department],
    now: i64,
) -> HistoryLine {
    let person = |id: Option<i64>| id.and_then(|u| names.get(&u).cloned());
    let department = |id: Option<i64>| id.and_then(|d| departments.iter().find(|x| x.id == d).map(|x| x.name.clone()));
    let mut text = lang.t(&format!("history.{}", e.kind)).to_string();
    if text.starts_with("history.") {
        text = e.kind.clone();
    }
    let mut extra = Vec::new();
    if let Some(by) = person(e.actor_user_id) {
        extra.push(format!("{} {by}", lang.t("history.by")));
    }
    let to = [department(e.to_department_id), person(e.to_user_id)].into_iter().flatten().collect::<Vec<_>>();
    if !to.is_empty() && e.kind != "captured" {
        extra.push(format!("→ {}", to.join(" / ")));
    }
    if !extra.is_empty() {
        text = format!("{text} ({})", extra.join(", "));
    }
    HistoryLine { time: short_time(e.created_at, now), text, note: e.note.clone() }
}

async fn names(app: &App, actor: &Actor, tenant: TenantId) -> HashMap<i64, String> {
    match actions::users::names(app, actor, tenant).await {
        Ok(list) => list.into_iter().map(|(id, name)| (id.0, name)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading names failed");
            HashMap::new()
        }
    }
}

fn fail(lang: Lang, e: &ActionError) -> Response {
    (error_status(e), Html(format!("<p class=\"alert error\">{}</p>", escape(&error_message(lang, e))))).into_response()
}

/// The message for a failed action in the person's language: the translation of its code when
/// there is one (`err.<code>`), else the action's own message.
fn escape(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default()
}

// ---------------------------------------------------------------- list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    connection: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    part: String,
}

impl ListQuery {
    fn tab(&self) -> Tab {
        Tab::parse(&self.tab).unwrap_or(Tab::Mine)
    }

    fn department(&self) -> Option<i64> {
        self.department.trim().parse().ok()
    }

    fn tag(&self) -> Option<i64> {
        self.tag.trim().parse().ok()
    }

    fn connection(&self) -> Option<i64> {
        self.connection.trim().parse().ok()
    }

    /// The list's own query string (tab, search, department), for links that keep them.
    fn list_qs(&self) -> String {
        let mut qs = format!("tab={}", tab_code(self.tab()));
        if !self.q.trim().is_empty() {
            qs.push_str(&format!("&q={}", urlencode(self.q.trim())));
        }
        if let Some(d) = self.department() {
            qs.push_str(&format!("&department={d}"));
        }
        if let Some(g) = self.tag() {
            qs.push_str(&format!("&tag={g}"));
        }
        if let Some(c) = self.connection() {
            qs.push_str(&format!("&connection={c}"));
        }
        qs
    }
}

async fn list_html(p: &Page, lang: Lang, q: &ListQuery, current: Option<i64>) -> Result<String, Response> {
    let app = &*p.app;
    let filter = Filter {
        department_id: q.department(),
        tag_id: q.tag(),
        connection_id: q.connection(),
        search: Some(q.q.trim().to_string()).filter(|s| !s.is_empty()),
        ..Filter::default()
    };
    let after = Cursor::decode(&q.after);
    let page = actions::inbox::list_tickets(app, &p.actor(), p.tenant(), q.tab(), &filter, after, PAGE)
        .await
        .map_err(|e| fail(lang, &e))?;
    let now = app.clock.now_ms();
    let qs = q.list_qs();
    let ids: Vec<i64> = page.tickets.iter().map(|t| t.id).collect();
    let mut tags =
        actions::composer::tags_of_tickets(app, &p.actor(), p.tenant(), &ids).await.map_err(|e| fail(lang, &e))?;
    let items = page
        .tickets
        .into_iter()
        .map(|t| ListItem {
            tags: tags.remove(&t.id).unwrap_or_default(),
            time: short_time(t.last_message_at, now),
            href: format!("/inbox/{}?{qs}", t.id),
            current: Some(t.id) == current,
            t,
        })
        .collect();
    let more_href = page.next.map(|c| format!("/inbox?{qs}&after={}", c.encode()));
    ListFragment { lang, items, more_href }.render().map_err(|e| {
        tracing::error!(error = %e, "template failed");
        fail(lang, &ActionError::Internal(e.into()))
    })
}

async fn page(p: &Page, q: &ListQuery, conversation: Option<Conversation>) -> Response {
    let mut layout = p.layout("nav.inbox", "/inbox");
    layout.wide = true;
    if let Some(c) = &conversation {
        layout.title = c.title.clone();
    }
    let lang = layout.lang;
    let current = conversation.as_ref().map(|c| c.id);
    let list_html = match list_html(p, lang, q, current).await {
        Ok(html) => html,
        Err(r) => return r,
    };
    let departments = actions::departments::list_departments(&p.app, &p.actor(), p.tenant()).await.unwrap_or_default();
    let tags = actions::contacts::list_tags(&p.app, &p.actor(), p.tenant()).await.unwrap_or_default();
    let connections = actions::composer::connection_names(&p.app, &p.actor(), p.tenant()).await.unwrap_or_default();
    let tab = tab_code(q.tab());
    let mut tabs = vec![("mine", "inbox.tab.mine"), ("waiting", "inbox.tab.waiting")];
    if p.user.user.role.sees_whole_tenant() {
        tabs.push(("all", "inbox.tab.all"));
        tabs.push(("bot", "inbox.tab.bot"));
    }
    tabs.push(("closed", "inbox.tab.closed"));
    let tabs = tabs
        .into_iter()
        .map(|(code, key)| TabLink { href: format!("/inbox?tab={code}"), label: lang.t(key), active: code == tab })
        .collect();
    let list_src =
        format!("/inbox?{}&part=list{}", q.list_qs(), current.map(|c| format!("&current={c}")).unwrap_or_default());
    render(InboxPage {
        layout,
        tabs,
        tab,
        q: q.q.clone(),
        department: q.department(),
        departments,
        tag: q.tag(),
        tags,
        connection: q.connection(),
        connections,
        list_src,
        list_html,
        conversation,
    })
}

#[derive(Deserialize, Default)]
pub struct CurrentQuery {
    #[serde(default)]
    current: Option<i64>,
}

/// `GET /inbox`: the list (or, with `part=list`, only its items).
pub async fn show_inbox(p: Page, Query(q): Query<ListQuery>, Query(c): Query<CurrentQuery>) -> Response {
    if q.part == "list" {
        return match list_html(&p, p.lang(), &q, c.current).await {
            Ok(html) => Html(html).into_response(),
            Err(r) => r,
        };
    }
    page(&p, &q, None).await
}

// ---------------------------------------------------------------- one ticket

struct Parts {
    messages_html: String,
    panel_html: String,
    ticket: TicketView,
}

async fn ticket_parts(p: &Page, lang: Lang, id: i64, q: &ListQuery) -> Result<Parts, ActionError> {
    let app = &*p.app;
    let actor = p.actor();
    let tenant = p.tenant();
    let detail = actions::inbox::get_ticket(app, &actor, tenant, id).await?;
    let before = q.before.trim().parse().ok();
    let (messages, more) = actions::inbox::list_messages(app, &actor, tenant, id, before, MESSAGES_PAGE).await?;
    let names = names(app, &actor, tenant).await;
    let now = app.clock.now_ms();
    let departments = actions::departments::list_departments(app, &actor, tenant).await?;
    let older_href = match (more, messages.first()) {
        (true, Some(first)) => Some(format!("/inbox/{id}?{}&before={}", q.list_qs(), first.id)),
        _ => None,
    };
    let (quoted, reactions) = actions::composer::message_links(app, tenant, id, &messages).await?;
    let messages = message_views(lang, messages, &quoted, &reactions, &names, now);
    let messages_html = MessagesFragment {
        lang,
        csrf: p.csrf.0.clone(),
        ticket_id: id,
        messages,
        older_href,
        emoji: actions::composer::REACTIONS,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let history = detail.history.iter().map(|e| history_line(lang, e, &names, &departments, now)).collect();
    let agents = if p.user.user.role.sees_whole_tenant() {
        actions::departments::transfer_targets(app, &actor, tenant).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let t = detail.ticket;
    let can_capture = matches!(t.status.as_str(), "waiting" | "bot");
    let all_tags = actions::contacts::list_tags(app, &actor, tenant).await?;
    let other_tags = all_tags.into_iter().filter(|g| !detail.tags.iter().any(|x| x.id == g.id)).collect();
    let panel = PanelFragment {
        lang,
        csrf: p.csrf.0.clone(),
        created: short_time(t.created_at, now),
        t: t.clone(),
        history,
        departments,
        agents,
        can_capture,
        tags: detail.tags,
        other_tags,
    };
    let panel_html = panel.render().map_err(anyhow::Error::from)?;
    Ok(Parts { messages_html, panel_html, ticket: t })
}

async fn ticket_page(p: &Page, id: i64, q: &ListQuery, error: Option<(ActionError, String)>) -> Response {
    let app = &*p.app;
    let lang = p.lang();
    let actor = p.actor();
    let parts = match ticket_parts(p, lang, id, q).await {
        Ok(parts) => parts,
        Err(e) => return p.failure(&e),
    };
    // Opening a conversation reads it (unread badge, blue ticks for the customer).
    if let Err(e) = actions::inbox::mark_read(app, &actor, p.tenant(), id).await {
        tracing::warn!(error = %e, ticket.id = id, "mark read failed");
    }
    let quick_replies = actions::quick_replies::list_quick_replies(app, &actor, p.tenant())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| format!("/{}", r.shortcut))
        .collect();
    let now = app.clock.now_ms();
    let t = &parts.ticket;
    let kind = crate::store::connections::get(app.db.reader(), p.tenant(), t.connection_id).await.ok().flatten();
    let kind = kind.map(|c| c.kind).unwrap_or_default();
    let outside_window = !crate::domain::channel::free_form_allowed(&kind, t.last_inbound_at, now);
    let status = error.as_ref().map(|(e, _)| error_status(e));
    let (error, draft) = match error {
        Some((e, draft)) => (Some(error_message(lang, &e)), draft),
        None => (None, String::new()),
    };
    let conversation = Conversation {
        id,
        title: format!("{} · {}", t.contact_name, t.protocol.clone().unwrap_or_default()),
        status: t.status.clone(),
        messages_html: parts.messages_html,
        panel_html: parts.panel_html,
        outside_window,
        draft,
        error,
        quick_replies,
    };
    let response = page(p, q, Some(conversation)).await;
    match status {
        Some(s) => (s, response).into_response(),
        None => response,
    }
}

/// `GET /inbox/{ticket}`: the conversation (or, with `part=messages|panel`, only that part).
pub async fn show_ticket(p: Page, Path(id): Path<i64>, Query(q): Query<ListQuery>) -> Response {
    if q.part == "summary" {
        return summary(&p, id).await;
    }
    if q.part == "messages" || q.part == "panel" {
        let lang = p.lang();
        return match ticket_parts(&p, lang, id, &q).await {
            Ok(parts) => {
                if q.part == "messages" {
                    if let Err(e) = actions::inbox::mark_read(&p.app, &p.actor(), p.tenant(), id).await {
                        tracing::warn!(error = %e, ticket.id = id, "mark read failed");
                    }
                    Html(parts.messages_html).into_response()
                } else {
                    Html(parts.panel_html).into_response()
                }
            }
            Err(e) => fail(lang, &e),
        };
    }
    ticket_page(&p, id, &q, None).await
}

// ---------------------------------------------------------------- posts

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    template_name: String,
    #[serde(default)]
    template_language: String,
    /// Our id of the message this reply quotes.
    #[serde(default)]
    reply_to: String,
}

/// `POST /inbox/{ticket}/messages`: a reply, a private note, a quick reply (`/shortcut`) or a
/// template.
pub async fn create_message(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<MessageForm>) -> Response {
    let app = &*p.app;
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        if !form.template_name.trim().is_empty() {
            let content = OutboundContent::Template {
                name: form.template_name.trim().to_string(),
                language: form.template_language.trim().to_string(),
                components: Value::Null,
            };
            let req =
                SendRequest { tenant, target: SendTarget::Ticket(id), content, reply_to: None, idempotency_key: None };
            return actions::send::send_message(app, &actor, req).await.map(|_| ());
        }
        let mut body = form.body.trim().to_string();
        if body.starts_with('/') && !body.contains(char::is_whitespace) {
            body = actions::inbox::expand_quick_reply(app, &actor, tenant, id, &body).await.map_err(|e| match e {
                ActionError::NotFound => {
                    ActionError::invalid("unknown_quick_reply", "no quick reply with this shortcut")
                }
                e => e,
            })?;
        }
        if form.note.is_some() {
            actions::inbox::add_note(app, &actor, tenant, id, &body).await.map(|_| ())
        } else if let Ok(quoted) = form.reply_to.trim().parse::<i64>() {
            actions::composer::send_reply(app, &actor, tenant, id, body, quoted).await.map(|_| ())
        } else {
            let content = OutboundContent::Text { body, preview_url: false };
            let req =
                SendRequest { tenant, target: SendTarget::Ticket(id), content, reply_to: None, idempotency_key: None };
            actions::send::send_message(app, &actor, req).await.map(|_| ())
        }
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        Err(e) => ticket_page(&p, id, &ListQuery::default(), Some((e, form.body))).await,
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

/// After an action: back to the conversation, or to the list when it is no longer visible.
async fn after_action(p: &Page, id: i64) -> Response {
    match actions::inbox::get_ticket(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(_) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        Err(_) => Redirect::to("/inbox").into_response(),
    }
}

async fn outcome(p: &Page, id: i64, result: Result<(), ActionError>) -> Response {
    match result {
        Ok(()) => after_action(p, id).await,
        Err(e) => ticket_page(p, id, &ListQuery::default(), Some((e, String::new()))).await,
    }
}

pub async fn capture_ticket(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::inbox::capture(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    outcome(&p, id, result).await
}

pub async fn reopen_ticket(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    let result = actions::inbox::reopen(&p.app, &p.actor(), p.tenant(), id).await.map(|_| ());
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    department: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    note: String,
}

pub async fn transfer_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TransferForm>) -> Response {
    let to = Transfer {
        department_id: form.department.trim().parse().ok(),
        user_id: form.agent.trim().parse().ok().map(UserId),
        note: Some(form.note),
    };
    let result = actions::inbox::transfer(&p.app, &p.actor(), p.tenant(), id, to).await.map(|_| ());
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    farewell: String,
    #[serde(default)]
    farewell_text: String,
}

pub async fn close_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<CloseForm>) -> Response {
    let farewell = match form.farewell.as_str() {
        "default" => Farewell::Default,
        "text" if !form.farewell_text.trim().is_empty() => Farewell::Text(form.farewell_text),
        _ => Farewell::None,
    };
    let result = actions::inbox::close(&p.app, &p.actor(), p.tenant(), id, farewell).await.map(|_| ());
    outcome(&p, id, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_found_in_inbound_and_outbound_payloads() {
        let inbound = serde_json::json!({"type":"location","location":{"latitude":-23.5,"longitude":-46.6}});
        assert_eq!(find_location(&inbound), Some((-23.5, -46.6)));
        let outbound = serde_json::json!({"content":{"Location":{"latitude":1.0,"longitude":2.0}}});
        assert_eq!(find_location(&outbound), Some((1.0, 2.0)));
        assert_eq!(find_location(&serde_json::json!({})), None);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size_text(1), "1 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    }
}

// ---------------------------------------------------------------- composer extras

/// `GET /inbox/{ticket}?part=summary`: what the page's script needs to decide on a notification
/// (404 when the viewer may not see the ticket, so others' tickets never notify).
async fn summary(p: &Page, id: i64) -> Response {
    match actions::inbox::get_ticket(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(d) => {
            let t = d.ticket;
            let mine = t.assignee_id.is_some_and(|a| a == p.user.user.id.0);
            axum::Json(serde_json::json!({
                "id": t.id, "status": t.status, "mine": mine, "contact": t.contact_name,
                "preview": t.last_message_preview, "unread": t.unread_count,
            }))
            .into_response()
        }
        Err(e) => p.failure(&e),
    }
}

/// Whether the page's script posted this (it wants a bare answer, not a page).
fn from_script(p: &Page) -> bool {
    p.headers.contains_key("x-fragment")
}

/// `POST /inbox/{ticket}/attachments` (multipart: `csrf`, `file`, `caption`, `reply_to`): sends a
/// file or a recorded voice note. Refused files (type, size, window) are never stored.
pub async fn upload_attachment(p: Page, Path(id): Path<i64>, body: axum::body::Bytes) -> Response {
    let lang = p.lang();
    let content_type = p.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parts = super::multipart::boundary(content_type).and_then(|b| super::multipart::parse(&body, &b));
    let Some(parts) = parts else {
        return fail(lang, &ActionError::invalid("invalid_upload", "the upload is not a multipart form"));
    };
    let field =
        |name: &str| parts.iter().find(|x| x.name == name).map(|x| String::from_utf8_lossy(x.data).trim().to_string());
    let cookie = crate::http::cookies::get(&p.headers, crate::http::cookies::CSRF).unwrap_or_default();
    let csrf = field("csrf").unwrap_or_default();
    if cookie.is_empty() || !crate::crypto::constant_time_eq(&csrf, &cookie) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            Html(format!("<p class=\"alert error\">{}</p>", escape(lang.t("error.csrf")))),
        )
            .into_response();
    }
    let Some(file) = parts.iter().find(|x| x.name == "file") else {
        return fail(lang, &ActionError::invalid("empty_file", "the file is empty"));
    };
    let attachment = actions::composer::Attachment {
        data: file.data.to_vec(),
        filename: file.filename.clone(),
        declared_mime: file.content_type.clone(),
        caption: field("caption"),
        reply_to: field("reply_to").and_then(|r| r.parse().ok()),
    };
    drop(parts);
    drop(body);
    let result = actions::composer::send_attachment(&p.app, &p.actor(), p.tenant(), id, attachment).await;
    match (result, from_script(&p)) {
        (Ok(m), true) => axum::Json(serde_json::json!({ "message_id": m.id })).into_response(),
        (Ok(_), false) => Redirect::to(&format!("/inbox/{id}")).into_response(),
        (Err(e), true) => fail(lang, &e),
        (Err(e), false) => ticket_page(&p, id, &ListQuery::default(), Some((e, String::new()))).await,
    }
}

#[derive(Deserialize)]
pub struct ReactForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    emoji: String,
}

/// `POST /inbox/{ticket}/react`: the agent reacts to a message (an empty emoji removes it).
pub async fn react(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ReactForm>) -> Response {
    let result = match form.message.trim().parse::<i64>() {
        Ok(message) => {
            actions::composer::react(&p.app, &p.actor(), p.tenant(), id, message, &form.emoji).await.map(|_| ())
        }
        Err(_) => Err(ActionError::invalid("unknown_message", "no such message in this conversation")),
    };
    outcome(&p, id, result).await
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    tag: String,
    /// `1` puts the tag on, anything else takes it off.
    #[serde(default)]
    on: String,
}

/// `POST /inbox/{ticket}/tags`: puts a tag on the ticket or takes it off.
pub async fn tag_ticket(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TagForm>) -> Response {
    let result = match form.tag.trim().parse::<i64>() {
        Ok(tag) => actions::inbox::tag_ticket(&p.app, &p.actor(), p.tenant(), id, tag, form.on == "1").await,
        Err(_) => Err(ActionError::invalid("unknown_tag", "no such tag in this company")),
    };
    outcome(&p, id, result).await
}

/// `GET /inbox/{ticket}/media/{message}`: a message's stored file. Images, audio and video are
/// shown inline; anything else downloads (never rendered by the browser: the type is the sniffed
/// one and the page's `nosniff` and CSP headers apply).
pub async fn show_media(p: Page, Path((ticket, message)): Path<(i64, i64)>) -> Response {
    match actions::composer::media_file(&p.app, &p.actor(), p.tenant(), ticket, message).await {
        Ok(f) => {
            let inline = ["image/jpeg", "image/png", "image/webp", "image/gif"].contains(&f.mime.as_str())
                || f.mime.starts_with("audio/")
                || f.mime.starts_with("video/");
            let name = f
                .filename
                .unwrap_or_else(|| format!("arquivo.{}", crate::domain::media::extension(&f.mime)))
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' })
                .collect::<String>();
            let disposition = format!("{}; filename=\"{name}\"", if inline { "inline" } else { "attachment" });
            let content_type = if inline { f.mime } else { "application/octet-stream".to_string() };
            (
                [
                    (axum::http::header::CONTENT_TYPE, content_type),
                    (axum::http::header::CONTENT_DISPOSITION, disposition),
                    (axum::http::header::CACHE_CONTROL, "private, max-age=86400".to_string()),
                ],
                f.data,
            )
                .into_response()
        }
        Err(e) => p.failure(&e),
    }
}
