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
use crate::domain::inbox;
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

mod posts;
mod render;
mod sla;
mod ticket;
pub(super) mod vault;
mod viewers;
pub use posts::*;
use render::*;
pub(super) use render::{fail, preview_text, waited_text};
pub use sla::{await_customer, classify_ticket, request_files};
pub use ticket::show_ticket;
use ticket::*;
pub use viewers::viewing;

// ---------------------------------------------------------------- views

/// A ticket in the list.
pub struct ListItem {
    pub t: TicketView,
    pub tags: Vec<Tag>,
    pub time: String,
    pub href: String,
    pub current: bool,
    /// The avatar's letters.
    pub initials: String,
    /// "há 5 min" while the customer waits for people.
    pub waiting: Option<String>,
    /// The last message's preview in the reader's language ("Imagem" for `[image]`), and the
    /// icon of its kind.
    pub preview: String,
    pub preview_icon: &'static str,
    /// Whether to show the unread badge (never on a closed ticket).
    pub unread: bool,
    /// Where the ticket stands against its SLA (None: not timed, or met).
    pub sla: Option<sla::SlaBadge>,
}

#[derive(Template)]
#[template(path = "inbox_list.html")]
struct ListFragment {
    lang: Lang,
    items: Vec<ListItem>,
    more_href: Option<String>,
}

impl ListFragment {
    fn icon(&self, name: &str) -> &'static str {
        super::icons::named(name)
    }
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

impl MessagesFragment {
    fn icon(&self, name: &str) -> &'static str {
        super::icons::named(name)
    }

    fn kind_icon(&self, kind: &str) -> &'static str {
        super::icons::for_kind(kind)
    }
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
    /// The ticket's tags, and the tenant's others that can be added.
    tags: Vec<Tag>,
    other_tags: Vec<Tag>,
    /// The pre-analysis and SLA block.
    sla_html: String,
    /// Who else has the ticket open now ("Vendo agora").
    viewers: Vec<String>,
    /// The "Acessos" block (`vault.rs`).
    vault_html: String,
    /// The ticket's tasks and "Nova tarefa" (`web::tasks`).
    tasks_html: String,
}

/// The ticket's actions in the conversation's header (Aceitar, Transferir, Finalizar, Reabrir),
/// served alone too (`?part=actions`) so they follow the ticket's status live.
#[derive(Template)]
#[template(path = "inbox_actions.html")]
struct ActionsFragment {
    lang: Lang,
    csrf: String,
    t: TicketView,
    departments: Vec<Department>,
    agents: Vec<(i64, String)>,
    can_capture: bool,
    /// The company's default farewell (preselected on Finalizar when there is one).
    farewell: String,
    has_farewell: bool,
}

impl ActionsFragment {
    fn icon(&self, name: &str) -> &'static str {
        super::icons::named(name)
    }
}

impl PanelFragment {
    fn icon(&self, name: &str) -> &'static str {
        super::icons::named(name)
    }

    fn phone(&self) -> String {
        crate::domain::phone::display(&self.t.contact_phone)
    }

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
    pub actions_html: String,
    pub outside_window: bool,
    /// Outside the window: the approved templates of the ticket's number, filled in.
    pub templates: Vec<actions::templates::Choice>,
    pub draft: String,
    pub error: Option<String>,
    /// Whether the company has quick replies (the composer's "/" list and its button).
    pub has_quick_replies: bool,
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
    wallet: bool,
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
    /// "1": only the contacts of the viewer's wallet ("Minha carteira").
    #[serde(default)]
    wallet: String,
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

    fn wallet(&self) -> bool {
        self.wallet == "1"
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
        if self.wallet() {
            qs.push_str("&wallet=1");
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
        wallet_of: q.wallet().then_some(p.user.user.id.0),
        ..Filter::default()
    };
    let after = Cursor::decode(&q.after);
    let page = actions::inbox::list_tickets(app, &p.actor(), p.tenant(), q.tab(), &filter, after, PAGE)
        .await
        .map_err(|e| fail(lang, &e))?;
    let now = app.clock.now_ms();
    let tz = p.tz();
    let qs = q.list_qs();
    let mut tickets = page.tickets;
    // A supervisor's whole list starts with the tickets past a deadline.
    let unfiltered = filter.department_id.is_none()
        && filter.tag_id.is_none()
        && filter.connection_id.is_none()
        && filter.wallet_of.is_none()
        && filter.search.is_none();
    if q.tab() == Tab::All && after.is_none() && unfiltered {
        let late = actions::sla::breached_first(app, &p.actor(), p.tenant(), 20).await.map_err(|e| fail(lang, &e))?;
        tickets.retain(|t| !late.iter().any(|l| l.id == t.id));
        tickets.splice(0..0, late);
    }
    let slas = actions::sla::views(app, p.tenant(), &tickets).await.map_err(|e| fail(lang, &e))?;
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let mut tags =
        actions::composer::tags_of_tickets(app, &p.actor(), p.tenant(), &ids).await.map_err(|e| fail(lang, &e))?;
    let items = tickets
        .into_iter()
        .map(|t| {
            let waiting =
                inbox::waiting_since(&t.status, t.queued_at, t.created_at, t.last_inbound_at, t.last_message_at)
                    .map(|since| waited_text(lang, since, now));
            let (preview, preview_icon) = preview_text(lang, t.last_message_preview.as_deref());
            ListItem {
                tags: tags.remove(&t.id).unwrap_or_default(),
                time: short_time(t.last_message_at, now, tz),
                href: format!("/inbox/{}?{qs}", t.id),
                current: Some(t.id) == current,
                initials: super::initials(&t.contact_name),
                waiting,
                preview,
                preview_icon,
                unread: t.unread_count > 0 && t.status != "closed",
                sla: slas.get(&t.id).and_then(|v| sla::badge(lang, v, now)),
                t,
            }
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
        wallet: q.wallet(),
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
