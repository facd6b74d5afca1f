//! Chat messages: sending (text and one file, checked as the inbox's attachments are, before
//! anything is stored), reading pages of them with mentions and ticket links resolved for the
//! reader, the read mark, "digitando…", search, and a message's file.

use super::{events_for, person, require_member, Opened};
use crate::actions::composer::{self, MediaFile};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::chat::{self as rules, Piece};
use crate::domain::inbox::{self, TicketStatus};
use crate::domain::outbound::MediaSource;
use crate::domain::{TenantId, UserId};
use crate::store::chat::{ChatMessage, NewFile};
use crate::store::{self};

/// Messages per page.
pub const PAGE: i64 = 50;

/// A file sent with a message, as the browser gave it.
pub struct ChatUpload {
    pub data: Vec<u8>,
    pub filename: Option<String>,
    pub declared_mime: Option<String>,
}

/// Sends a message (text, a file, or both) to a conversation the actor is a member of. Every
/// member hears `chat.message`; each member the text mentions (`@Nome`) also `chat.mention`.
pub async fn send(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    body: &str,
    upload: Option<ChatUpload>,
) -> ActionResult<i64> {
    let (me, opened) = require_member(app, actor, tenant, id).await?;
    let body = rules::clean_body(body)
        .ok_or_else(|| ActionError::invalid("chat_message_too_long", "a message has at most 4000 characters"))?;
    if body.is_empty() && upload.is_none() {
        return Err(ActionError::invalid("empty_chat_message", "write something or attach a file"));
    }
    // The inbox's checks (real type, size per kind); a refused file is never stored.
    let file = match upload {
        Some(u) => {
            let size = u.data.len() as i64;
            crate::actions::plans::ensure_storage(app, tenant, size).await?;
            let attached =
                composer::store_upload(app, u.data, u.filename.as_deref(), u.declared_mime.as_deref()).await?;
            match attached.source {
                MediaSource::Stored { sha256, mime } => Some((sha256, mime, attached.filename, size)),
                _ => return Err(ActionError::Internal(anyhow::anyhow!("an upload is always stored"))),
            }
        }
        None => None,
    };
    let new_file =
        file.as_ref().map(|(sha256, mime, name, size)| NewFile { sha256, mime, name: name.as_deref(), size: *size });
    let mentioned: Vec<UserId> = rules::mentioned(&body, &opened.members).into_iter().filter(|u| *u != me.id).collect();
    let everyone: Vec<UserId> = opened.members.iter().map(|(u, _)| *u).collect();
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let message = store::chat::insert_message(&mut tx, tenant, id, me.id, &body, new_file.as_ref(), now).await?;
    let data = serde_json::json!({ "conversation_id": id, "message_id": message, "sender_id": me.id.0 });
    let mut events = events_for(tenant, "chat.message", &everyone, data.clone());
    events.extend(events_for(tenant, "chat.mention", &mentioned, data));
    let events = app.bus.record_many(&mut tx, events, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(message)
}

/// A piece of a message as its reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    Text(String),
    /// A mention; `me` when it names the reader.
    Mention {
        text: String,
        me: bool,
    },
    /// A protocol; the ticket's id only when the reader may open that ticket.
    Ticket {
        protocol: String,
        ticket_id: Option<i64>,
    },
}

/// A message ready to show.
#[derive(Clone, Debug)]
pub struct ShownMessage {
    pub message: ChatMessage,
    pub pieces: Vec<Shown>,
    pub mine: bool,
}

/// A page of a conversation's messages (the newest, those before `before`, or those after
/// `after`), with mentions and ticket links resolved for the reader.
pub async fn page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    before: Option<i64>,
    after: Option<i64>,
) -> ActionResult<(Opened, Vec<ShownMessage>)> {
    let (me, opened) = require_member(app, actor, tenant, id).await?;
    let list = store::chat::messages(app.db.reader(), tenant, id, before, after, PAGE).await?;
    let shown = show(app, actor, tenant, me.id, &opened.members, list).await?;
    Ok((opened, shown))
}

/// Resolves mentions and ticket links of messages for the reader `me`: a protocol links to its
/// ticket only when the inbox's visibility rule lets the reader open it.
async fn show(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    me: UserId,
    members: &[(UserId, String)],
    list: Vec<ChatMessage>,
) -> ActionResult<Vec<ShownMessage>> {
    let mut links: std::collections::HashMap<String, Option<i64>> = std::collections::HashMap::new();
    let mut departments: Option<Vec<i64>> = None;
    let viewer = crate::actions::inbox::viewer(actor, tenant)?;
    let mut out = Vec::with_capacity(list.len());
    for message in list {
        let mut pieces = Vec::new();
        for piece in rules::pieces(&message.body, members) {
            pieces.push(match piece {
                Piece::Text(t) => Shown::Text(t),
                Piece::Mention(text, u) => Shown::Mention { text, me: u == me },
                Piece::Protocol(protocol) => {
                    let ticket_id = match links.get(&protocol) {
                        Some(known) => *known,
                        None if links.len() >= rules::LINKS_MAX => None,
                        None => {
                            let found = store::chat::ticket_by_protocol(app.db.reader(), tenant, &protocol).await?;
                            let visible = match found {
                                Some((ticket, status, department, assignee)) => {
                                    let member_of = match (&departments, viewer.sees_whole_tenant()) {
                                        (_, true) => Vec::new(),
                                        (Some(d), false) => d.clone(),
                                        (None, false) => {
                                            let d = store::departments::of_user(app.db.reader(), tenant, me.0).await?;
                                            departments = Some(d.clone());
                                            d
                                        }
                                    };
                                    let status = TicketStatus::parse(&status).unwrap_or(TicketStatus::Closed);
                                    inbox::can_see(&viewer, status, department, assignee.map(UserId), &member_of)
                                        .then_some(ticket)
                                }
                                None => None,
                            };
                            links.insert(protocol.clone(), visible);
                            visible
                        }
                    };
                    Shown::Ticket { protocol, ticket_id }
                }
            });
        }
        let mine = message.sender_id == me;
        out.push(ShownMessage { message, pieces, mine });
    }
    Ok(out)
}

/// The reader has seen the conversation up to message `upto` (its newest when `None`); moving
/// the mark tells the reader's other pages (`chat.read`), so their badges follow.
pub async fn mark_read(app: &App, actor: &Actor, tenant: TenantId, id: i64, upto: Option<i64>) -> ActionResult<()> {
    let (me, opened) = require_member(app, actor, tenant, id).await?;
    let newest = store::chat::newest_id(app.db.reader(), tenant, id).await?;
    let upto = upto.map_or(newest, |u| u.min(newest));
    if upto <= opened.last_read {
        return Ok(());
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::chat::mark_read(&mut *tx, tenant, id, me.id, upto).await? {
        return Ok(());
    }
    let data = serde_json::json!({ "conversation_id": id });
    let events = app.bus.record_many(&mut tx, events_for(tenant, "chat.read", &[me.id], data), now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// "Digitando…": tells the other members, live, that the actor is writing. Not stored.
pub async fn typing(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    let (me, opened) = require_member(app, actor, tenant, id).await?;
    let others: Vec<UserId> = opened.members.iter().map(|(u, _)| *u).filter(|u| *u != me.id).collect();
    let data = serde_json::json!({ "conversation_id": id, "user_id": me.id.0, "name": me.name });
    app.bus.flash(&app.db, events_for(tenant, "chat.typing", &others, data), app.clock.now_ms()).await?;
    Ok(())
}

/// Messages with `text` in the actor's conversations only, newest first, shown for the reader.
pub async fn search(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<Vec<ShownMessage>> {
    let me = person(actor, tenant)?.clone();
    let text = text.trim();
    if text.chars().count() > 200 {
        return Err(ActionError::invalid("invalid_search", "a search has at most 200 characters"));
    }
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let found = store::chat::search(app.db.reader(), tenant, me.id, text, PAGE).await?;
    // Mentions are resolved against the company's people (hits come from many conversations).
    let people = store::chat::people(app.db.reader(), tenant).await?;
    show(app, actor, tenant, me.id, &people, found).await
}

/// A message's file, for a member of its conversation.
pub async fn file(app: &App, actor: &Actor, tenant: TenantId, id: i64, message: i64) -> ActionResult<MediaFile> {
    require_member(app, actor, tenant, id).await?;
    let m = store::chat::get_message(app.db.reader(), tenant, id, message).await?.ok_or(ActionError::NotFound)?;
    let (Some(sha), Some(mime)) = (m.file_sha256, m.file_mime) else { return Err(ActionError::NotFound) };
    let data = store::files::read(&app.settings.data_dir, &sha).await?;
    Ok(MediaFile { data, mime, filename: m.file_name })
}

/// What a notification says about a message: the conversation's title, the sender, a preview.
pub async fn notice(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    message: i64,
) -> ActionResult<(String, String, String)> {
    let (_, opened) = require_member(app, actor, tenant, id).await?;
    let m = store::chat::get_message(app.db.reader(), tenant, id, message).await?.ok_or(ActionError::NotFound)?;
    let preview: String = match (m.body.is_empty(), &m.file_name) {
        (false, _) => m.body.chars().take(140).collect(),
        (true, Some(name)) => name.clone(),
        (true, None) => String::new(),
    };
    Ok((opened.title, m.sender_name, preview))
}
