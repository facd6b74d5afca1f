//! `/message/*` sends and `/chat/getBase64FromMediaMessage`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::{api_key, json_body, opt_str, req_str};
use crate::error::ApiError;
use crate::ids;
use crate::state::{Outgoing, Shared};
use crate::SentKind;

type Res = Result<Response, ApiError>;

fn created(v: Value) -> Res {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `POST /message/sendText/{instance}` `{"number", "text", "delay"?, "quoted"?, "linkPreview"?}`.
pub(super) async fn send_text(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let v = json_body(&body)?;
    let number = ids::digits(req_str(&v, "instance", "number")?);
    let text = req_str(&v, "instance", "text")?.to_string();
    created(shared.send(&instance, Outgoing { number, kind: SentKind::Text, text: Some(text), media: None })?)
}

/// `POST /message/sendMedia/{instance}` `{"number", "mediatype", "mimetype"?, "caption"?,
/// "media", "fileName"?}`.
pub(super) async fn send_media(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let v = json_body(&body)?;
    let number = ids::digits(req_str(&v, "instance", "number")?);
    let kind = match req_str(&v, "instance", "mediatype")? {
        "image" => SentKind::Image,
        "video" => SentKind::Video,
        "document" => SentKind::Document,
        // Evolution takes "audio" here too; the simulator only does voice notes, through
        // sendWhatsAppAudio.
        other => return Err(ApiError::bad(format!("instance.mediatype is not one of enum values: {other}"))),
    };
    let file_name = opt_str(&v, "instance", "fileName")?.filter(|f| !f.is_empty()).map(str::to_string);
    let caption = opt_str(&v, "instance", "caption")?.filter(|c| !c.is_empty()).map(str::to_string);
    let mime = match opt_str(&v, "instance", "mimetype")?.filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => default_mime(kind, file_name.as_deref()),
    };
    let bytes = fetch_media(&shared, req_str(&v, "instance", "media")?).await?;
    let file_name = match (kind, file_name) {
        (SentKind::Document, None) => Some("document".to_string()),
        (_, f) => f,
    };
    let out = Outgoing { number, kind, text: caption, media: Some((bytes, mime, file_name)) };
    created(shared.send(&instance, out)?)
}

/// `POST /message/sendWhatsAppAudio/{instance}` `{"number", "audio"}`: a voice note (Evolution
/// converts anything to OGG/Opus; the simulator only records the size).
pub(super) async fn send_audio(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let v = json_body(&body)?;
    let number = ids::digits(req_str(&v, "instance", "number")?);
    let bytes = fetch_media(&shared, req_str(&v, "instance", "audio")?).await?;
    let media = Some((bytes, "audio/ogg; codecs=opus".to_string(), None));
    created(shared.send(&instance, Outgoing { number, kind: SentKind::Audio, text: None, media })?)
}

/// `POST /chat/getBase64FromMediaMessage/{instance}` `{"message": {"key": {"id"}}, "convertToMp4"?}`.
pub(super) async fn get_base64(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let v = json_body(&body)?;
    let Some(id) = v.pointer("/message/key/id").and_then(Value::as_str) else {
        return Err(ApiError::bad("instance.message.key requires property \"id\""));
    };
    created(shared.media_base64(&instance, id)?)
}

/// The bytes of `media`: fetched when it is an http(s) URL, else decoded as raw base64 (a
/// `data:` URL is refused, as Evolution's `isBase64` check refuses it).
async fn fetch_media(shared: &Shared, media: &str) -> Result<Vec<u8>, ApiError> {
    let media = media.trim();
    if media.starts_with("http://") || media.starts_with("https://") {
        let fetched = async {
            let r = shared.http().get(media).send().await?.error_for_status()?;
            r.bytes().await
        };
        return match fetched.await {
            Ok(b) => Ok(b.to_vec()),
            Err(e) => Err(ApiError::bad(format!("Failed to fetch media: {e}"))),
        };
    }
    ids::b64_decode(media).ok_or_else(|| ApiError::bad("Owned media must be a url or base64"))
}

/// The MIME type Evolution infers when `mimetype` is left out (from the file name, else a
/// default per media type).
fn default_mime(kind: SentKind, file_name: Option<&str>) -> String {
    let ext = file_name.and_then(|f| f.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("png") => Some("image/png"),
        Some("webp") => Some("image/webp"),
        Some("mp4") => Some("video/mp4"),
        Some("pdf") => Some("application/pdf"),
        Some("txt") => Some("text/plain"),
        Some("docx") => Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        Some("xlsx") => Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        _ => None,
    };
    let fallback = match kind {
        SentKind::Image => "image/png",
        SentKind::Video => "video/mp4",
        _ => "application/octet-stream",
    };
    by_ext.unwrap_or(fallback).to_string()
}
