//! "Chat interno" pages: the person's conversations (with unread counts), one conversation with
//! its composer, the forms that start a direct conversation or a group and manage a group, and
//! the small answers the page's script uses (new messages after an id, the list, the sidebar's
//! unread total, a notification's text, "digitando…", the read mark). Every handler calls
//! `actions::chat`, which checks membership: anyone else gets "not found".

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::multipart::CsrfUpload;
use super::{error_message, error_status, render, CsrfForm, Lang, Layout, Page};
use crate::actions::chat::{self, Opened, Shown, ShownMessage};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::chat::Kind;
use crate::domain::UserId;

/// The sidebar's icon: a speech bubble with three dots.
pub const ICON: &str = r#"<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><path d="M4 5h16v11H9l-5 4z"/><path d="M8 10.5h.01M12 10.5h.01M16 10.5h.01"/></svg>"#;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/chat", get(show_list))
        .route("/chat/unread", get(unread))
        .route("/chat/direct", post(start_direct))
        .route("/chat/groups", post(create_group))
        .route("/chat/{id}", get(show_conversation))
        .route("/chat/{id}/messages", post(send).layer(super::upload_limit()))
        .route("/chat/{id}/read", post(read))
        .route("/chat/{id}/typing", post(typing))
        .route("/chat/{id}/name", post(rename))
        .route("/chat/{id}/members", post(members))
        .route("/chat/{id}/files/{message}", get(file))
        .route("/chat/{id}/notice/{message}", get(notice))
        .route(
            "/assets/chat.js",
            get(|| super::asset(include_str!("../../../assets/chat.js"), "text/javascript; charset=utf-8")),
        )
}

// ---------------------------------------------------------------- views

/// A conversation in the list.
pub struct Row {
    pub id: i64,
    pub title: String,
    pub group: bool,
    pub unread: i64,
    pub time: String,
    pub current: bool,
    pub initials: String,
}

/// A piece of a message's text.
pub struct PieceView {
    /// `text`, `mention`, `mention me`, `ticket` (a link) or `protocol` (no link).
    pub kind: &'static str,
    pub text: String,
    pub href: String,
}

pub struct FileView {
    pub url: String,
    pub name: String,
    pub image: bool,
    pub audio: bool,
    pub video: bool,
}

pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    pub mine: bool,
    pub sender: String,
    pub time: String,
    pub pieces: Vec<PieceView>,
    pub file: Option<FileView>,
}

#[derive(Template)]
#[template(path = "chat_list.html")]
struct ListFragment<'a> {
    lang: Lang,
    rows: &'a [Row],
}

#[derive(Template)]
#[template(path = "chat_messages.html")]
struct MessagesFragment<'a> {
    lang: Lang,
    messages: &'a [MessageView],
    older_href: Option<String>,
    /// Search results name their conversation.
    with_links: bool,
}

/// The open conversation.
pub struct OpenView {
    pub id: i64,
    pub title: String,
    pub group: bool,
    pub can_manage: bool,
    pub members: Vec<(i64, String)>,
    /// People who may be added (managers only).
    pub addable: Vec<(i64, String)>,
    pub me: i64,
    pub last_id: i64,
    pub messages_html: String,
}

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage {
    layout: Layout,
    list_html: String,
    list_src: String,
    people: Vec<(i64, String)>,
    open: Option<OpenView>,
    q: String,
    results_html: Option<String>,
    error: Option<String>,
}

fn time_of(p: &Page, ms: i64) -> String {
    crate::domain::hours::wall_clock(p.tz(), ms).map(|d| d.format("%d/%m %H:%M").to_string()).unwrap_or_default()
}

fn message_view(p: &Page, s: ShownMessage) -> MessageView {
    let m = s.message;
    let pieces = s
        .pieces
        .into_iter()
        .map(|piece| match piece {
            Shown::Text(text) => PieceView { kind: "text", text, href: String::new() },
            Shown::Mention { text, me } => {
                PieceView { kind: if me { "mention me" } else { "mention" }, text, href: String::new() }
            }
            Shown::Ticket { protocol, ticket_id: Some(id) } => {
                PieceView { kind: "ticket", text: format!("#{protocol}"), href: format!("/inbox/{id}") }
            }
            Shown::Ticket { protocol, ticket_id: None } => {
                PieceView { kind: "protocol", text: format!("#{protocol}"), href: String::new() }
            }
        })
        .collect();
    let file = m.file_mime.as_ref().map(|mime| FileView {
        url: format!("/chat/{}/files/{}", m.conversation_id, m.id),
        name: m.file_name.clone().unwrap_or_else(|| p.lang().t("chat.file").to_string()),
        image: mime == "image/jpeg" || mime == "image/png",
        audio: mime.starts_with("audio/"),
        video: mime.starts_with("video/"),
    });
    MessageView {
        id: m.id,
        conversation_id: m.conversation_id,
        mine: s.mine,
        sender: m.sender_name,
        time: time_of(p, m.created_at),
        pieces,
        file,
    }
}

fn messages_html(p: &Page, views: &[MessageView], older_href: Option<String>, with_links: bool) -> String {
    MessagesFragment { lang: p.lang(), messages: views, older_href, with_links }.render().unwrap_or_default()
}

async fn list_html(p: &Page, current: Option<i64>) -> Result<String, ActionError> {
    let listed = chat::list(&p.app, &p.actor(), p.tenant()).await?;
    let rows: Vec<Row> = listed
        .into_iter()
        .map(|l| {
            let group = l.kind == Kind::Group.as_str();
            let title = if group { l.name } else { l.other_name.unwrap_or_default() };
            Row {
                id: l.id,
                initials: super::initials(&title),
                title,
                group,
                unread: l.unread,
                time: time_of(p, l.last_message_at),
                current: Some(l.id) == current,
            }
        })
        .collect();
    Ok(ListFragment { lang: p.lang(), rows: &rows }.render().unwrap_or_default())
}

/// Answers a failure to the page's script: the message in the person's language.
fn fail(lang: Lang, e: &ActionError) -> Response {
    let text = askama::filters::escape(error_message(lang, e), askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default();
    (error_status(e), Html(format!("<p class=\"alert error\">{text}</p>"))).into_response()
}

fn from_script(p: &Page) -> bool {
    p.headers.contains_key("x-fragment")
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    part: String,
    #[serde(default)]
    current: Option<i64>,
}

/// The page: the list, the forms, and `open` when a conversation is shown.
async fn page(p: &Page, open: Option<(Opened, Vec<ShownMessage>)>, q: &str, error: Option<String>) -> Response {
    let actor = p.actor();
    let current = open.as_ref().map(|(o, _)| o.conversation.id);
    let list = match list_html(p, current).await {
        Ok(h) => h,
        Err(e) => return p.failure(&e),
    };
    let people = match chat::people(&p.app, &actor, p.tenant()).await {
        Ok(list) => list.into_iter().map(|(u, n)| (u.0, n)).collect::<Vec<_>>(),
        Err(e) => return p.failure(&e),
    };
    let results_html = if q.trim().is_empty() {
        None
    } else {
        match chat::search(&p.app, &actor, p.tenant(), q).await {
            Ok(hits) => {
                let views: Vec<MessageView> = hits.into_iter().map(|s| message_view(p, s)).collect();
                Some(messages_html(p, &views, None, true))
            }
            Err(e) => return p.failure(&e),
        }
    };
    let me = p.user.user.id.0;
    let open = open.map(|(o, shown)| {
        let first = shown.first().map(|s| s.message.id);
        let last_id = shown.last().map_or(0, |s| s.message.id);
        let older_href = (shown.len() as i64 == chat::PAGE)
            .then(|| first.map(|f| format!("/chat/{}?before={f}", o.conversation.id)))
            .flatten();
        let views: Vec<MessageView> = shown.into_iter().map(|s| message_view(p, s)).collect();
        let members: Vec<(i64, String)> = o.members.iter().map(|(u, n)| (u.0, n.clone())).collect();
        let addable = match o.can_manage {
            true => people.iter().filter(|(u, _)| !members.iter().any(|(m, _)| m == u)).cloned().collect(),
            false => Vec::new(),
        };
        OpenView {
            id: o.conversation.id,
            title: o.title,
            group: o.kind == Kind::Group,
            can_manage: o.can_manage,
            members,
            addable,
            me,
            last_id,
            messages_html: messages_html(p, &views, older_href, false),
        }
    });
    let mut layout = p.layout("chat.title", "/chat");
    layout.wide = true;
    let list_src = format!("/chat?part=list{}", current.map(|c| format!("&current={c}")).unwrap_or_default());
    render(ChatPage { layout, list_html: list, list_src, people, open, q: q.to_string(), results_html, error })
}

/// `GET /chat` (`?q=` searches; `?part=list` is the list alone).
pub async fn show_list(p: Page, Query(query): Query<ListQuery>) -> Response {
    if query.part == "list" {
        return match list_html(&p, query.current).await {
            Ok(h) => Html(h).into_response(),
            Err(e) => fail(p.lang(), &e),
        };
    }
    page(&p, None, &query.q, None).await
}

#[derive(Deserialize, Default)]
pub struct ConversationQuery {
    #[serde(default)]
    part: String,
    before: Option<i64>,
    after: Option<i64>,
    #[serde(default)]
    q: String,
}

/// `GET /chat/{id}`: the conversation (marked read up to its newest message);
/// `?part=messages&after=<id>` answers the newer messages alone.
pub async fn show_conversation(p: Page, Path(id): Path<i64>, Query(query): Query<ConversationQuery>) -> Response {
    let actor = p.actor();
    let result = chat::page(&p.app, &actor, p.tenant(), id, query.before, query.after).await;
    if query.part == "messages" {
        return match result {
            Ok((_, shown)) => {
                let views: Vec<MessageView> = shown.into_iter().map(|s| message_view(&p, s)).collect();
                Html(messages_html(&p, &views, None, false)).into_response()
            }
            Err(e) => fail(p.lang(), &e),
        };
    }
    match result {
        Ok(opened) => {
            if query.before.is_none() {
                if let Err(e) = chat::mark_read(&p.app, &actor, p.tenant(), id, None).await {
                    return p.failure(&e);
                }
            }
            page(&p, Some(opened), &query.q, None).await
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct DirectForm {
    #[serde(default)]
    user: String,
}

/// `POST /chat/direct` (`user`): opens (or creates) the direct conversation with that person.
pub async fn start_direct(p: Page, CsrfForm(form): CsrfForm<DirectForm>) -> Response {
    let result = match form.user.trim().parse::<i64>() {
        Ok(u) => chat::open_direct(&p.app, &p.actor(), p.tenant(), UserId(u)).await,
        Err(_) => Err(ActionError::invalid("unknown_agent", "pick a person")),
    };
    match result {
        Ok(id) => Redirect::to(&format!("/chat/{id}")).into_response(),
        Err(e) => refused(&p, e).await,
    }
}

/// A refused form: the list page again with the message.
async fn refused(p: &Page, e: ActionError) -> Response {
    if matches!(e, ActionError::NotFound | ActionError::Forbidden) {
        return p.failure(&e);
    }
    let status = error_status(&e);
    (status, page(p, None, "", Some(error_message(p.lang(), &e))).await).into_response()
}

fn ids(fields: &[(String, String)], key: &str) -> Vec<UserId> {
    fields.iter().filter(|(k, _)| k == key).filter_map(|(_, v)| v.trim().parse().ok()).map(UserId).collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

/// `POST /chat/groups` (`name`, `member` repeated): a new group with the sender and them.
pub async fn create_group(p: Page, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let members = ids(&fields, "member");
    match chat::create_group(&p.app, &p.actor(), p.tenant(), field(&fields, "name"), &members).await {
        Ok(id) => Redirect::to(&format!("/chat/{id}")).into_response(),
        Err(e) => refused(&p, e).await,
    }
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    body: String,
}

/// `POST /chat/{id}/messages` (`body`; multipart with a `file` too): sends a message. The
/// script gets `{"message_id"}`; a plain form goes back to the conversation.
pub async fn send(p: Page, Path(id): Path<i64>, CsrfUpload(form, files): CsrfUpload<MessageForm>) -> Response {
    let upload = files.into_iter().find(|f| f.name == "file").map(|f| chat::ChatUpload {
        data: f.data,
        filename: f.filename,
        declared_mime: f.content_type,
    });
    let result = chat::send(&p.app, &p.actor(), p.tenant(), id, &form.body, upload).await;
    match (result, from_script(&p)) {
        (Ok(m), true) => axum::Json(serde_json::json!({ "message_id": m })).into_response(),
        (Ok(_), false) => Redirect::to(&format!("/chat/{id}")).into_response(),
        (Err(e), true) => fail(p.lang(), &e),
        (Err(e @ (ActionError::NotFound | ActionError::Forbidden)), false) => p.failure(&e),
        (Err(e), false) => {
            let status = error_status(&e);
            let opened = match chat::page(&p.app, &p.actor(), p.tenant(), id, None, None).await {
                Ok(o) => o,
                Err(e) => return p.failure(&e),
            };
            (status, page(&p, Some(opened), "", Some(error_message(p.lang(), &e))).await).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    upto: String,
}

/// `POST /chat/{id}/read` (`upto`: a message id; empty means the newest): 204.
pub async fn read(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<ReadForm>) -> Response {
    let upto = form.upto.trim().parse().ok();
    match chat::mark_read(&p.app, &p.actor(), p.tenant(), id, upto).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => fail(p.lang(), &e),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /chat/{id}/typing`: the composer's beat while the person writes (204, not stored).
pub async fn typing(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<Empty>) -> Response {
    match chat::typing(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => fail(p.lang(), &e),
    }
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /chat/{id}/name`: renames a group (its creator or an admin).
pub async fn rename(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<NameForm>) -> Response {
    let result = chat::rename_group(&p.app, &p.actor(), p.tenant(), id, &form.name).await;
    after_change(&p, id, result).await
}

/// `POST /chat/{id}/members` (`add` repeated, or `remove`): a manager adds or removes people;
/// a member removes themselves to leave.
pub async fn members(p: Page, Path(id): Path<i64>, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Response {
    let actor = p.actor();
    let removing = field(&fields, "remove").trim().parse::<i64>().ok().map(UserId);
    let result = match removing {
        Some(u) => chat::remove_member(&p.app, &actor, p.tenant(), id, u).await,
        None => chat::add_members(&p.app, &actor, p.tenant(), id, &ids(&fields, "add")).await,
    };
    if result.is_ok() && removing == Some(p.user.user.id) {
        return Redirect::to("/chat").into_response();
    }
    after_change(&p, id, result).await
}

async fn after_change(p: &Page, id: i64, result: Result<(), ActionError>) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/chat/{id}")).into_response(),
        Err(e @ (ActionError::NotFound | ActionError::Forbidden)) => p.failure(&e),
        Err(e) => {
            let status = error_status(&e);
            let opened = match chat::page(&p.app, &p.actor(), p.tenant(), id, None, None).await {
                Ok(o) => o,
                Err(e) => return p.failure(&e),
            };
            (status, page(p, Some(opened), "", Some(error_message(p.lang(), &e))).await).into_response()
        }
    }
}

/// `GET /chat/{id}/files/{message}`: a message's file, for members only.
pub async fn file(p: Page, Path((id, message)): Path<(i64, i64)>) -> Response {
    match chat::file(&p.app, &p.actor(), p.tenant(), id, message).await {
        Ok(f) => super::inbox::media_response(f),
        Err(e) => p.failure(&e),
    }
}

/// `GET /chat/{id}/notice/{message}`: what a notification of the message says
/// (`{title, sender, preview, href}`), for members only.
pub async fn notice(p: Page, Path((id, message)): Path<(i64, i64)>) -> Response {
    match chat::notice(&p.app, &p.actor(), p.tenant(), id, message).await {
        Ok((title, sender, preview)) => axum::Json(serde_json::json!({
            "title": title, "sender": sender, "preview": preview, "href": format!("/chat/{id}"),
        }))
        .into_response(),
        Err(e) => fail(p.lang(), &e),
    }
}

/// `GET /chat/unread`: `{"total": n}`, the sidebar badge.
pub async fn unread(p: Page) -> Response {
    match chat::unread_total(&p.app, &p.actor(), p.tenant()).await {
        Ok(total) => axum::Json(serde_json::json!({ "total": total })).into_response(),
        Err(e) => fail(p.lang(), &e),
    }
}
