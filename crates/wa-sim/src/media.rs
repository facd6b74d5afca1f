//! Media endpoints: upload (multipart), metadata with a short-lived download URL, download, delete.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::graph::{bearer, check_auth, fault_gate, graph_error, invalid, no_such_object};
use crate::ids;
use crate::state::{Download, Shared};

/// How long a media URL stays valid (Meta: 5 minutes).
pub(crate) const URL_TTL: Duration = Duration::from_secs(300);

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
pub(crate) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of `key=` in a header's parameters (quoted or not).
fn header_param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses a `multipart/form-data` body (RFC 7578). None when it is malformed.
pub(crate) fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    if !content_type.trim_start().to_ascii_lowercase().starts_with("multipart/form-data") {
        return None;
    }
    let boundary = header_param(content_type, "boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut rest = &body[find(body, &delimiter)? + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let header_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..header_end]).ok()?;
        rest = &rest[header_end + 4..];
        let end = find(rest, &next_delimiter)?;
        let data = rest[..end].to_vec();
        rest = &rest[end + next_delimiter.len()..];
        let (mut name, mut filename, mut ctype) = (None, None, None);
        for line in headers.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = header_param(v, "name");
                filename = header_param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                ctype = Some(v.trim().to_string());
            }
        }
        parts.push(Part { name: name?, filename, content_type: ctype, data });
    }
}

/// Size limit for a MIME type, or None when Cloud API does not take that type.
fn size_limit(mime: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match base.as_str() {
        "image/jpeg" | "image/png" => Some(5 * MB),
        "image/webp" => Some(500 * 1024),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => Some(16 * MB),
        "video/mp4" | "video/3gpp" => Some(16 * MB),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => Some(100 * MB),
        _ => None,
    }
}

/// `POST /{version}/{phone_number_id}/media` (multipart: `file`, `type`, `messaging_product`) → `{"id"}`.
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((_version, node)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return r.into_response();
    }
    if let Err(r) = fault_gate(&shared).await {
        return r.into_response();
    }
    if node != shared.cfg.phone_number_id {
        return no_such_object("post", &node).into_response();
    }
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(parts) = parse_multipart(ctype, &body) else {
        return invalid("Invalid parameter").into_response();
    };
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    if field("messaging_product").map(|p| p.data.as_slice()) != Some(b"whatsapp") {
        return invalid("The parameter messaging_product is required.").into_response();
    }
    let Some(file) = field("file").filter(|f| f.filename.is_some()) else {
        return invalid("The parameter file is required.").into_response();
    };
    let mime = field("type")
        .and_then(|p| String::from_utf8(p.data.clone()).ok())
        .or_else(|| file.content_type.clone())
        .unwrap_or_default();
    let Some(limit) = size_limit(&mime) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131053,
            None,
            "(#131053) Media upload error",
            Some(&format!("Param file must be a file with one of the following types: audio/aac, audio/mp4, audio/mpeg, audio/amr, audio/ogg, text/plain, application/pdf, application/msword, image/jpeg, image/png, image/webp, video/mp4, video/3gpp, and Office documents. Received file of type '{mime}'.")),
        ).into_response();
    };
    if file.data.is_empty() || file.data.len() > limit {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131053,
            None,
            "(#131053) Media upload error",
            Some(&format!("File size {} is not between 1 and {limit} bytes for {mime}", file.data.len())),
        )
        .into_response();
    }
    let id = shared.add_media(file.data.clone(), &mime);
    Json(json!({ "id": id })).into_response()
}

/// `GET /{version}/{id}`: a media id's metadata and download URL, or the business phone number.
pub(crate) async fn get_node(
    State(shared): State<Arc<Shared>>,
    Path((_version, node)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return r.into_response();
    }
    if let Err(r) = fault_gate(&shared).await {
        return r.into_response();
    }
    if node == shared.cfg.phone_number_id {
        return Json(json!({
            "verified_name": "Atende Demo",
            "code_verification_status": "VERIFIED",
            "display_phone_number": format!("+{}", shared.cfg.display_phone_number),
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": { "level": "STANDARD" },
            "id": node,
        }))
        .into_response();
    }
    let expired = shared.faults().expired_media_urls;
    let token = ids::alnum(40);
    let mut s = shared.store();
    let Some(item) = s.media.get(&node) else {
        drop(s);
        return no_such_object("get", &node).into_response();
    };
    let reply = json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/media-download/{token}", shared.base_url),
        "mime_type": item.mime,
        "sha256": item.sha256_hex,
        "file_size": item.bytes.len(),
        "id": node,
    });
    let now = Instant::now();
    s.downloads.retain(|_, d| d.expires > now);
    s.downloads.insert(token, Download { media_id: node, expires: if expired { now } else { now + URL_TTL } });
    Json(reply).into_response()
}

/// `DELETE /{version}/{media_id}` → `{"success":true}`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((_version, node)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return r.into_response();
    }
    if let Err(r) = fault_gate(&shared).await {
        return r.into_response();
    }
    if shared.store().media.remove(&node).is_none() {
        return no_such_object("delete", &node).into_response();
    }
    Json(json!({ "success": true })).into_response()
}

/// `GET /media-download/{token}`: the file, with the bearer token; 401 without it, 404 once expired.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(shared.cfg.access_token.as_str()) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let s = shared.store();
    let item = s
        .downloads
        .get(&token)
        .filter(|d| d.expires > Instant::now())
        .and_then(|d| s.media.get(&d.media_id))
        .map(|m| (m.bytes.clone(), m.mime.clone()));
    drop(s);
    match item {
        Some((bytes, mime)) => (
            [(header::CONTENT_TYPE, mime), (header::CONTENT_LENGTH, bytes.len().to_string())],
            Body::from(bytes.as_ref().clone()),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "URL signature expired").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8\r\n\xFF\xD9\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "messaging_product");
        assert_eq!(parts[0].data, b"whatsapp");
        assert_eq!(parts[1].filename.as_deref(), Some("a.jpg"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(parts[1].data, b"\xFF\xD8\r\n\xFF\xD9");
        assert!(parse_multipart("application/json", body).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=\"other\"", body).is_none());
    }
}
