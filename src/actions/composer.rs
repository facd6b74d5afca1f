//! What the inbox composer does beyond text: send an attached file or a recorded voice note
//! (type sniffed from the bytes, WhatsApp's size limit per kind checked, WebM voice remuxed to
//! Ogg Opus — all before anything is stored), quote a message (reply-to), and react to one.
//! Sending goes through `actions::send`, so the 24-hour window, the outbound job and the Graph
//! upload are the same as for every other message.

use crate::actions::send::{send_message, SendRequest, SendTarget};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::message::MessageKind;
use crate::domain::outbound::{Attached, MediaKind, MediaSource, OutboundContent};
use crate::domain::{media, ogg_opus, TenantId};
use std::collections::HashMap;

use crate::store::inbox_extras::{Quoted, Reaction};
use crate::store::messages::StoredMessage;
use crate::store::tags::Tag;
use crate::store::{self};

/// The most any attachment may weigh (WhatsApp's document limit); the web route's body limit.
pub const MAX_ATTACHMENT_BYTES: usize = 100 * 1024 * 1024;
const FILENAME_MAX: usize = 240;
pub const CAPTION_MAX: usize = 1024;

/// A file an agent attaches.
pub struct Attachment {
    pub data: Vec<u8>,
    /// The name the browser gave (documents keep it).
    pub filename: Option<String>,
    /// What the browser claimed; only refines what the bytes cannot tell apart.
    pub declared_mime: Option<String>,
    /// Caption (image, video, document); for audio it is sent as a text after it.
    pub caption: Option<String>,
    /// Our id of the message this one quotes.
    pub reply_to: Option<i64>,
}

/// Which WhatsApp message kind carries a file of this (sniffed) type, if WhatsApp takes it.
pub fn kind_for_mime(mime: &str) -> Option<MediaKind> {
    match mime {
        "image/jpeg" | "image/png" => Some(MediaKind::Image),
        "audio/ogg" | "audio/mpeg" | "audio/amr" | "audio/mp4" | "audio/aac" => Some(MediaKind::Audio),
        "video/mp4" | "video/3gpp" => Some(MediaKind::Video),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => Some(MediaKind::Document),
        _ => None,
    }
}

/// WhatsApp's size limit for a kind, in bytes.
pub fn limit_for(kind: MediaKind) -> u64 {
    match kind {
        MediaKind::Image => MessageKind::Image.media_limit_bytes(),
        MediaKind::Audio => MessageKind::Audio.media_limit_bytes(),
        MediaKind::Video => MessageKind::Video.media_limit_bytes(),
        MediaKind::Document => MessageKind::Document.media_limit_bytes(),
        MediaKind::Sticker => MessageKind::Sticker.media_limit_bytes(),
    }
}

/// A file name safe to hand on: no path, no control characters, not too long.
fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(FILENAME_MAX).collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

/// The ticket as the actor may see it, refusing early what the send would refuse, so that a
/// refused file is never stored.
async fn ticket_for_send(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
) -> ActionResult<crate::store::inbox::TicketView> {
    actor.require_sender_in(tenant)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    let ticket = store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let now = app.clock.now_ms();
    let kind = store::connections::get(app.db.reader(), tenant, ticket.connection_id).await?.map(|c| c.kind);
    let kind = kind.as_deref().unwrap_or_default();
    if !crate::domain::channel::free_form_allowed(kind, ticket.last_inbound_at, now) {
        return Err(ActionError::invalid(
            "outside_window",
            "the customer has not written in the last 24 hours: WhatsApp allows only an approved template now",
        ));
    }
    Ok(ticket)
}

/// The provider id of message `message_id` of the ticket, to quote or react to it.
pub async fn provider_id_of(app: &App, tenant: TenantId, ticket_id: i64, message_id: i64) -> ActionResult<String> {
    let m = store::messages::get(app.db.reader(), tenant, message_id)
        .await?
        .filter(|m| m.ticket_id == ticket_id)
        .ok_or_else(|| ActionError::invalid("unknown_message", "no such message in this conversation"))?;
    if m.direction == "note" || m.kind == "reaction" {
        return Err(ActionError::invalid("not_replyable", "this message cannot be replied to or reacted to"));
    }
    m.provider_id.ok_or_else(|| {
        ActionError::invalid("message_not_sent_yet", "this message has not reached WhatsApp yet: try again in a moment")
    })
}

/// Sends an attached file (or voice note) to the ticket's customer.
pub async fn send_attachment(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    a: Attachment,
) -> ActionResult<StoredMessage> {
    ticket_for_send(app, actor, tenant, ticket_id).await?;
    let reply_to = match a.reply_to {
        Some(id) => Some(provider_id_of(app, tenant, ticket_id, id).await?),
        None => None,
    };
    let caption = a.caption.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if caption.as_ref().is_some_and(|c| c.chars().count() > CAPTION_MAX) {
        return Err(ActionError::invalid("invalid_caption", "a caption has at most 1024 characters"));
    }
    crate::actions::plans::ensure_storage(app, tenant, a.data.len() as i64).await?;
    let attached = store_upload(app, a.data, a.filename.as_deref(), a.declared_mime.as_deref()).await?;
    let takes_caption = attached.takes_text();
    let content = attached.content(caption.as_deref().filter(|_| takes_caption).unwrap_or_default());
    let sent = send_message(app, actor, on_ticket(tenant, ticket_id, content, reply_to)).await?;
    if let (false, Some(text)) = (takes_caption, caption) {
        let content = OutboundContent::Text { body: text, preview_url: false };
        send_message(app, actor, on_ticket(tenant, ticket_id, content, None)).await?;
    }
    Ok(sent)
}

/// A file people upload, checked and stored (content-addressed): its real type must be one
/// WhatsApp takes and within its size limit; browsers' voice recordings (WebM) become Ogg Opus.
/// A refused file is never stored.
pub async fn store_upload(
    app: &App,
    data: Vec<u8>,
    filename: Option<&str>,
    declared_mime: Option<&str>,
) -> ActionResult<Attached> {
    if data.is_empty() {
        return Err(ActionError::invalid("empty_file", "the file is empty"));
    }
    if data.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_large());
    }
    // Browsers record voice as WebM; WhatsApp plays Opus only in Ogg.
    let (data, mut filename) = if ogg_opus::is_webm(&data) {
        let ogg = ogg_opus::webm_to_ogg(&data).map_err(|e| {
            ActionError::invalid("unsupported_audio", format!("this recording cannot be sent as a voice note: {e}"))
        })?;
        (ogg, None)
    } else {
        (data, filename.and_then(clean_filename))
    };
    let mime = media::sniff(&data, declared_mime);
    let kind = kind_for_mime(mime).ok_or_else(|| {
        ActionError::invalid(
            "unsupported_file_type",
            format!("WhatsApp does not take {mime} files: send JPEG or PNG images, MP4 video, MP3/OGG/AAC audio, PDF, Office or text documents"),
        )
    })?;
    if data.len() as u64 > limit_for(kind) {
        return Err(too_large());
    }
    if kind != MediaKind::Document {
        filename = None;
    } else if filename.is_none() {
        filename = Some(format!("documento.{}", media::extension(mime)));
    }
    let sha256 = store::files::put(&app.settings.data_dir, data).await?;
    Ok(Attached { kind, source: MediaSource::Stored { sha256, mime: mime.to_string() }, filename })
}

/// A file by link that goes with a text (schedules and campaigns, through the API): the text is
/// its caption.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaLink {
    /// `image`, `audio`, `video` or `document` (audio carries no text).
    #[schema(pattern = "^(image|audio|video|document)$")]
    pub kind: String,
    /// A public http(s) URL WhatsApp downloads the file from; `null` in answers for a file
    /// uploaded on the web page.
    pub link: Option<String>,
    /// Documents: the file name the customer sees.
    pub filename: Option<String>,
}

impl MediaLink {
    /// The file to send; a link is required (only the web page uploads files).
    pub fn attached(&self) -> ActionResult<Attached> {
        let kind = match self.kind.as_str() {
            "image" => MediaKind::Image,
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "document" => MediaKind::Document,
            _ => {
                return Err(ActionError::invalid(
                    "invalid_media_kind",
                    "media.kind must be image, audio, video or document",
                ))
            }
        };
        let link = self.link.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let link = link.ok_or_else(|| ActionError::invalid("invalid_media", "media.link is required"))?;
        let filename = self.filename.as_deref().and_then(clean_filename);
        Ok(Attached { kind, source: MediaSource::Link(link.to_string()), filename })
    }

    pub fn of(a: &Attached) -> MediaLink {
        let link = match &a.source {
            MediaSource::Link(l) => Some(l.clone()),
            _ => None,
        };
        MediaLink { kind: a.kind.as_str().to_string(), link, filename: a.filename.clone() }
    }
}

/// A person's send on a ticket (not marketing, no idempotency key: the page posts once).
fn on_ticket(tenant: TenantId, ticket_id: i64, content: OutboundContent, reply_to: Option<String>) -> SendRequest {
    SendRequest {
        marketing: false,
        tenant,
        target: SendTarget::Ticket(ticket_id),
        content,
        reply_to,
        idempotency_key: None,
    }
}

fn too_large() -> ActionError {
    ActionError::invalid(
        "file_too_large",
        "the file is too large for WhatsApp: images up to 5 MB, audio and video up to 16 MB, documents up to 100 MB",
    )
}

/// Sends a text that quotes message `reply_to` (our id) of the ticket.
pub async fn send_reply(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    body: String,
    reply_to: i64,
) -> ActionResult<StoredMessage> {
    actor.require_sender_in(tenant)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let quoted = provider_id_of(app, tenant, ticket_id, reply_to).await?;
    let content = OutboundContent::Text { body, preview_url: false };
    send_message(app, actor, on_ticket(tenant, ticket_id, content, Some(quoted))).await
}

/// The emoji people may react with from the inbox (WhatsApp takes any single emoji; a short,
/// known list keeps the picker usable by touch and the input checkable).
pub const REACTIONS: &[&str] = &["👍", "❤️", "😂", "😮", "😢", "🙏"];

/// Reacts to message `message_id` of the ticket (an empty emoji removes the reaction).
pub async fn react(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    message_id: i64,
    emoji: &str,
) -> ActionResult<StoredMessage> {
    actor.require_sender_in(tenant)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let emoji = emoji.trim();
    if !emoji.is_empty() && !REACTIONS.contains(&emoji) {
        return Err(ActionError::invalid("invalid_reaction", "react with one of the offered emoji"));
    }
    let to = provider_id_of(app, tenant, ticket_id, message_id).await?;
    let content = OutboundContent::Reaction { to_provider_id: to, emoji: emoji.to_string() };
    send_message(app, actor, on_ticket(tenant, ticket_id, content, None)).await
}

/// `(id, name)` of the tenant's connections, for the inbox's connection filter (any member).
pub async fn connection_names(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, String)>> {
    actor.role_of(tenant)?;
    Ok(store::inbox_extras::connection_names(app.db.reader(), tenant).await?)
}

/// The tags of tickets the caller listed (by id, within the tenant).
pub async fn tags_of_tickets(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_ids: &[i64],
) -> ActionResult<HashMap<i64, Vec<Tag>>> {
    actor.role_of(tenant)?;
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = app.db.reader().acquire().await?;
    Ok(store::inbox_extras::tags_of_tickets(&mut conn, tenant, ticket_ids).await?)
}

/// For a page of a ticket's messages (already read under the caller's visibility): the
/// messages they quote and the reactions on them.
pub async fn message_links(
    app: &App,
    tenant: TenantId,
    ticket_id: i64,
    messages: &[StoredMessage],
) -> ActionResult<(Vec<Quoted>, Vec<Reaction>)> {
    let quoted_ids: Vec<String> =
        messages.iter().filter(|m| m.kind != "reaction").filter_map(|m| m.refers_to.clone()).collect();
    let own_ids: Vec<String> = messages.iter().filter_map(|m| m.provider_id.clone()).collect();
    let mut conn = app.db.reader().acquire().await?;
    let quoted = match messages.first() {
        Some(m) if !quoted_ids.is_empty() => {
            store::inbox_extras::quoted(&mut conn, tenant, m.connection_id, ticket_id, &quoted_ids).await?
        }
        _ => Vec::new(),
    };
    let reactions = if own_ids.is_empty() {
        Vec::new()
    } else {
        store::inbox_extras::reactions(&mut conn, tenant, ticket_id, &own_ids).await?
    };
    Ok((quoted, reactions))
}

/// A stored media file of a message, to show or download.
pub struct MediaFile {
    pub data: Vec<u8>,
    pub mime: String,
    /// The document's name, when it has one.
    pub filename: Option<String>,
}

/// The media-store name and type of a message's file: the fetched file of a received one (the
/// column the media job wrote), the attached file of a sent one (the payload Atende wrote). A
/// received message's payload came from outside and is never read for a file.
pub fn media_location(m: &StoredMessage) -> Option<(String, String)> {
    if let (Some(reference), Some(mime)) = (&m.media_path, &m.media_mime) {
        return crate::domain::media::name_of(reference).map(|name| (name.to_string(), mime.clone()));
    }
    if m.direction != "out" {
        return None;
    }
    let outbound: crate::domain::outbound::Outbound = serde_json::from_str(&m.payload).ok()?;
    match outbound.content {
        OutboundContent::Media { source: MediaSource::Stored { sha256, mime }, .. } => Some((sha256, mime)),
        _ => None,
    }
}

/// The file of message `message_id` of a ticket the caller may see.
pub async fn media_file(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    message_id: i64,
) -> ActionResult<MediaFile> {
    let viewer = super::inbox::viewer(actor, tenant)?;
    store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let m = store::messages::get(app.db.reader(), tenant, message_id)
        .await?
        .filter(|m| m.ticket_id == ticket_id)
        .ok_or(ActionError::NotFound)?;
    let (name, mime) = media_location(&m).ok_or(ActionError::NotFound)?;
    let data = store::files::read(&app.settings.data_dir, &name).await.map_err(|_| ActionError::NotFound)?;
    let payload: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    let filename = find_filename(&payload);
    Ok(MediaFile { data, mime, filename })
}

fn find_filename(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(map) => map
            .get("filename")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_filename)),
        serde_json::Value::Array(items) => items.iter().find_map(find_filename),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffed_types_map_to_whatsapp_kinds() {
        assert_eq!(kind_for_mime("image/png"), Some(MediaKind::Image));
        assert_eq!(kind_for_mime("audio/ogg"), Some(MediaKind::Audio));
        assert_eq!(kind_for_mime("video/mp4"), Some(MediaKind::Video));
        assert_eq!(kind_for_mime("application/pdf"), Some(MediaKind::Document));
        assert_eq!(kind_for_mime("application/zip"), None);
        assert_eq!(kind_for_mime("application/octet-stream"), None);
        assert_eq!(limit_for(MediaKind::Image), 5 * 1024 * 1024);
        assert_eq!(limit_for(MediaKind::Video), 16 * 1024 * 1024);
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("C:\\Users\\ana\\contrato.pdf").as_deref(), Some("contrato.pdf"));
        assert_eq!(clean_filename("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_filename("a\u{0}b\nc.txt").as_deref(), Some("abc.txt"));
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename("   "), None);
    }
}
