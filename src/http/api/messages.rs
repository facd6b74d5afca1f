//! `/api/v1/messages` and `/api/v1/tickets/{id}/messages`: a ticket's messages, and sending
//! text, media (by link) or an approved template to a ticket or to a phone number. Sending goes
//! through `actions::send` like the inbox does: the 24-hour window, the connection's state and
//! the queue are the same.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::composer::MediaLink;
use crate::actions::send::{SendRequest, SendTarget};
use crate::actions::{self, ActionError};
use crate::app::App;
use crate::domain::outbound::{MediaKind, MediaSource, OutboundContent};
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::messages::StoredMessage;

use super::{decode_id_cursor, encode_cursor, page_limit, timestamp, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tickets/{id}/messages", get(list_messages))
        .route("/messages", post(send_message))
        .route("/messages/{id}", get(get_message))
        .route("/tickets/{id}/media", post(upload_media))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_messages, send_message, get_message, upload_media),
    components(schemas(MessageOut, MessagePage, SendInput, TextPart, MediaPart, TemplatePart, MediaLink))
)]
pub struct MessagesApi;

/// A message of a ticket.
#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub ticket_id: i64,
    pub contact_id: i64,
    pub connection_id: i64,
    /// `in` (from the customer), `out` (to the customer) or `note` (private, never sent).
    pub direction: String,
    /// `text`, `image`, `audio`, `video`, `document`, `sticker`, `template`, `location`, …
    pub kind: String,
    /// The text, caption or template name.
    pub body: Option<String>,
    /// Outbound: `queued`, `sent`, `delivered`, `read` or `failed`; inbound: `received`.
    pub status: String,
    /// WhatsApp's message id, once known.
    pub provider_id: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub media_mime: Option<String>,
    pub media_size: Option<i64>,
    /// The person who sent it from the inbox; `null` for customers, tokens and the system.
    pub sender_user_id: Option<i64>,
    #[schema(format = DateTime)]
    pub sent_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<StoredMessage> for MessageOut {
    fn from(m: StoredMessage) -> Self {
        MessageOut {
            id: m.id,
            ticket_id: m.ticket_id,
            contact_id: m.contact_id,
            connection_id: m.connection_id,
            direction: m.direction,
            kind: m.kind,
            body: m.body,
            status: m.status,
            provider_id: m.provider_id,
            error_code: m.error_code,
            error_title: m.error_title,
            media_mime: m.media_mime,
            media_size: m.media_size,
            sender_user_id: m.sender_user_id,
            sent_at: timestamp(m.sent_at),
            created_at: timestamp(m.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    pub data: Vec<MessageOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// `desc` (newest first, the default) or `asc`.
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (of the same order).
    pub cursor: Option<String>,
}

/// A ticket's messages, newest first unless `order=asc`.
#[utoipa::path(get, path = "/tickets/{id}/messages", tag = "messages",
    params(("id" = i64, Path, description = "Ticket id"), MessageQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_messages(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let (ascending, kind) = match q.order.as_deref() {
        None | Some("") | Some("desc") => (false, "msgd"),
        Some("asc") => (true, "msga"),
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_order", "order must be asc or desc")),
    };
    let after = decode_id_cursor(kind, q.cursor.as_deref())?;
    let (rows, more) =
        actions::inbox::message_page(&app, &caller.actor(), caller.token.tenant_id, id, after, ascending, limit)
            .await?;
    let next_cursor = if more { rows.last().map(|m| encode_cursor(kind, &m.id.to_string())) } else { None };
    Ok(Json(MessagePage { data: rows.into_iter().map(MessageOut::from).collect(), next_cursor }))
}

/// One message.
#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = MessageOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_message(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MessageOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::inbox::get_message(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// What to send and to whom: `ticket_id`, or `phone` (with `connection_id`, by default the
/// company's first WhatsApp number); `type` says which of `text`, `media`, `template` is given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// Send on this ticket (to its contact, through its number).
    pub ticket_id: Option<i64>,
    /// Or to this phone number in international form (`+55 11 98765-4321`); the contact and a
    /// ticket are created when new.
    pub phone: Option<String>,
    /// The number to send from, with `phone`.
    pub connection_id: Option<i64>,
    /// `text`, `media` or `template`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(text|media|template)$")]
    pub kind: String,
    pub text: Option<TextPart>,
    pub media: Option<MediaPart>,
    pub template: Option<TemplatePart>,
    /// WhatsApp id of a message this one quotes.
    pub reply_to: Option<String>,
    /// A marketing message: refused (`marketing_consent_required`) unless the contact opted in to
    /// marketing. A template whose category is MARKETING is marketing without this flag.
    #[serde(default)]
    pub marketing: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextPart {
    /// 1–4096 characters.
    pub body: String,
    /// Show a preview of the first link.
    #[serde(default)]
    pub preview_url: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaPart {
    /// `image`, `audio`, `video`, `document` or `sticker`.
    #[schema(pattern = "^(image|audio|video|document|sticker)$")]
    pub kind: String,
    /// A public http(s) URL WhatsApp downloads the file from.
    pub link: String,
    /// Images, videos and documents only; up to 1024 characters.
    pub caption: Option<String>,
    /// Documents: the file name the customer sees.
    pub filename: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePart {
    /// The approved template's name.
    pub name: String,
    /// Its language code, e.g. `pt_BR`.
    pub language: String,
    /// Header/body/button parameters exactly as Meta documents them.
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Vec<serde_json::Value>>,
}

fn invalid(code: &'static str, message: &str) -> ApiError {
    ApiError::from(ActionError::invalid(code, message))
}

fn content(input: &SendInput) -> Result<OutboundContent, ApiError> {
    match (input.kind.as_str(), &input.text, &input.media, &input.template) {
        ("text", Some(t), None, None) => Ok(OutboundContent::Text { body: t.body.clone(), preview_url: t.preview_url }),
        ("media", None, Some(m), None) => {
            let kind = media_kind(&m.kind)?;
            Ok(OutboundContent::Media {
                kind,
                source: MediaSource::Link(m.link.trim().to_string()),
                caption: m.caption.clone(),
                filename: m.filename.clone(),
            })
        }
        ("template", None, None, Some(t)) => Ok(OutboundContent::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            components: t.components.clone().map(serde_json::Value::Array).unwrap_or(serde_json::Value::Null),
        }),
        ("text" | "media" | "template", ..) => {
            Err(invalid("invalid_message", "give exactly the part named by type: text, media or template"))
        }
        _ => Err(invalid("invalid_message_type", "type must be text, media or template")),
    }
}

/// Queues a message: 202 with it as stored (`queued`); the send happens in the background and
/// its status moves on (`sent`, `delivered`, `read` or `failed`). Outside the customer's 24-hour
/// window only templates are accepted.
#[utoipa::path(post, path = "/messages", tag = "messages", request_body = SendInput,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Repeat a send safely: the same key and body answer the first result without sending again")),
    responses((status = 202, description = "Queued", body = MessageOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such ticket or connection", body = ErrorBody),
        (status = 409, description = "`idempotency_in_progress`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_target`, `invalid_message`, `invalid_message_type`, \
            `invalid_media_kind`, `invalid_phone`, `no_connection`, `outside_window`, `connection_inactive`, \
            `connection_needs_reauth`, `idempotency_key_reused`, `marketing_consent_required` (marketing to a \
            contact without marketing opt-in), `contact_opted_out` (a template or a message outside the \
            customer's own conversation to an opted-out contact), `template_not_approved`, \
            `template_not_found`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn send_message(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<SendInput>,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    caller.require(Scope::Send)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let content = content(&input)?;
    let target = match (input.ticket_id, input.phone.as_deref()) {
        (Some(id), None) if input.connection_id.is_none() => SendTarget::Ticket(id),
        (None, Some(phone)) => {
            let connection_id = match input.connection_id {
                Some(id) => id,
                None => actions::connections::default_whatsapp(&app, &actor, tenant)
                    .await?
                    .map(|c| c.id)
                    .ok_or_else(|| invalid("no_connection", "this company has no WhatsApp number to send from"))?,
            };
            SendTarget::Phone { connection_id, phone: phone.to_string() }
        }
        _ => return Err(invalid("invalid_target", "give either ticket_id, or phone (and optionally connection_id)")),
    };
    let request = SendRequest {
        marketing: input.marketing,
        tenant,
        target,
        content,
        reply_to: input.reply_to,
        idempotency_key: None,
    };
    let message = actions::send::send_message(&app, &actor, request).await?;
    Ok((StatusCode::ACCEPTED, Json(message.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `image`, `audio`, `video`, `document` or `sticker`.
    #[param(pattern = "^(image|audio|video|document|sticker)$")]
    pub kind: String,
    /// Images, videos and documents only; up to 1024 characters.
    pub caption: Option<String>,
    /// Documents: the file name the customer sees.
    pub filename: Option<String>,
}

/// Uploads a file (the raw bytes as the body, any content type) and sends it on a ticket: 202
/// with the queued message. The file's real type is sniffed; WhatsApp's size limit per kind and
/// the server's body limit apply. To send a file by link, or to a phone, use `POST /messages`.
#[utoipa::path(post, path = "/tickets/{id}/media", tag = "messages",
    params(("id" = i64, Path, description = "Ticket id"), UploadQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat an upload safely")),
    request_body(content = String, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 202, description = "Queued", body = MessageOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`idempotency_in_progress`", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "`invalid_media_kind`, `empty_file`, `file_too_large`, `invalid_message`, \
            `outside_window`, `connection_inactive`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn upload_media(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    caller.require(Scope::Send)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let kind = media_kind(&q.kind)?;
    // The ticket first: an unknown one answers 404 before anything is stored.
    actions::inbox::get_ticket(&app, &actor, tenant, id).await?;
    let source = actions::send::store_attachment(&app, &actor, tenant, kind, body.to_vec()).await?;
    let content = OutboundContent::Media { kind, source, caption: q.caption, filename: q.filename };
    let request = SendRequest {
        marketing: false,
        tenant,
        target: SendTarget::Ticket(id),
        content,
        reply_to: None,
        idempotency_key: None,
    };
    let message = actions::send::send_message(&app, &actor, request).await?;
    Ok((StatusCode::ACCEPTED, Json(message.into())))
}

fn media_kind(s: &str) -> Result<MediaKind, ApiError> {
    match s {
        "image" => Ok(MediaKind::Image),
        "audio" => Ok(MediaKind::Audio),
        "video" => Ok(MediaKind::Video),
        "document" => Ok(MediaKind::Document),
        "sticker" => Ok(MediaKind::Sticker),
        _ => Err(invalid("invalid_media_kind", "kind must be image, audio, video, document or sticker")),
    }
}
