//! A small `multipart/form-data` reader (RFC 7578) for forms with files (the composer, schedules,
//! campaigns) and their CSRF-checked extractor: the whole body is
//! already in memory under the route's size limit, so this only splits it at the boundary and
//! reads each part's `Content-Disposition` name and filename and its `Content-Type`.

use crate::domain::outbound::Attached;

/// One part of a form; `data` borrows the request body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    param(params, "boundary").filter(|b| !b.is_empty() && b.len() <= 200)
}

/// A `key=value` or `key="value"` parameter of a header value.
fn param(params: &str, key: &str) -> Option<String> {
    for p in params.split(';') {
        let Some((k, v)) = p.split_once('=') else { continue };
        if k.trim().eq_ignore_ascii_case(key) {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            return Some(v.to_string());
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// The parts of `body`; `None` when it is not well-formed multipart.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let mut pos = find(body, delimiter.as_bytes(), 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") {
            return None;
        }
        pos += 2;
        let headers_end = find(body, b"\r\n\r\n", pos)?;
        let headers = std::str::from_utf8(&body[pos..headers_end]).ok()?;
        let data_start = headers_end + 4;
        let data_end = find(body, next.as_bytes(), data_start)?;
        let (mut name, mut filename, mut content_type) = (None, None, None);
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                let (_, params) = value.split_once(';').unwrap_or(("", ""));
                name = param(params, "name");
                filename = param(params, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        parts.push(Part { name: name?, filename, content_type, data: &body[data_start..data_end] });
        pos = data_end + next.len();
    }
}

/// A file a form carried.
pub struct Upload {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// A form post, `multipart/form-data` (with files) or urlencoded, whose hidden `csrf` field
/// matches the browser's CSRF cookie: its text fields as `T` and the files picked (a file input
/// left empty sends a part with no name nor bytes, which is dropped).
pub struct CsrfUpload<T>(pub T, pub Vec<Upload>);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<std::sync::Arc<crate::app::App>> for CsrfUpload<T> {
    type Rejection = axum::response::Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &std::sync::Arc<crate::app::App>,
    ) -> Result<Self, Self::Rejection> {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        let content_type =
            req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let Some(boundary) = boundary(&content_type) else {
            let super::CsrfForm(form) = super::CsrfForm::<T>::from_request(req, state).await?;
            return Ok(CsrfUpload(form, Vec::new()));
        };
        let cookie = crate::http::cookies::get(req.headers(), crate::http::cookies::CSRF).unwrap_or_default();
        let lang = super::i18n::Lang::pick(None, req.headers());
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            (status, if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "invalid_body" })
                .into_response()
        })?;
        let parts = parse(&body, &boundary)
            .ok_or_else(|| (StatusCode::BAD_REQUEST, "invalid_upload: the form is not well-formed").into_response())?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        for part in parts {
            match part.filename {
                None => fields.push((part.name, String::from_utf8_lossy(part.data).into_owned())),
                Some(_) if part.data.is_empty() => {}
                Some(filename) => files.push(Upload {
                    name: part.name,
                    filename: Some(filename).filter(|f| !f.is_empty()),
                    content_type: part.content_type,
                    data: part.data.to_vec(),
                }),
            }
        }
        let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if cookie.is_empty() || !crate::crypto::constant_time_eq(csrf, &cookie) {
            return Err(
                (StatusCode::FORBIDDEN, axum::response::Html(super::simple_page(lang, "error.csrf"))).into_response()
            );
        }
        let encoded = serde_urlencoded::to_string(&fields).unwrap_or_default();
        serde_urlencoded::from_str(&encoded)
            .map(|form| CsrfUpload(form, files))
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("invalid form: {e}")).into_response())
    }
}

/// The file a schedule or campaign form sends (field `file`), checked and stored; with none
/// picked, `kept` (the saved one) stays unless `remove` (the "remove the file" box) is ticked.
pub async fn picked_file(
    app: &crate::app::App,
    files: Vec<Upload>,
    kept: Option<Attached>,
    remove: bool,
) -> crate::actions::ActionResult<Option<Attached>> {
    match files.into_iter().find(|f| f.name == "file") {
        Some(f) => Ok(Some(
            crate::actions::composer::store_upload(app, f.data, f.filename.as_deref(), f.content_type.as_deref())
                .await?,
        )),
        None if remove => Ok(None),
        None => Ok(kept),
    }
}

/// A file in words, for lists and forms: "Imagem", "Documento: tabela.pdf".
pub fn media_in_words(lang: super::i18n::Lang, m: &Attached) -> String {
    let kind = lang.t(&format!("sched.media.{}", m.kind.as_str())).to_string();
    match &m.filename {
        Some(name) => format!("{kind}: {name}"),
        None => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_form_splits_into_its_fields_and_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"foto.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\0\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=XyZ";
        let parts = parse(body, &boundary(ct).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].data), ("csrf", &b"abc"[..]));
        assert_eq!(parts[1].filename.as_deref(), Some("foto.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, b"\x89PNG\r\n\x1a\n\0", "binary data with CRLF inside is kept");
    }

    #[test]
    fn malformed_bodies_and_other_types_are_refused() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data; boundary=\"q\""), Some("q".into()));
        assert_eq!(parse(b"nothing here", "q"), None);
        assert_eq!(parse(b"--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "q"), None);
        assert_eq!(parse(b"--q\r\nX: y\r\n\r\nv\r\n--q--", "q"), None, "a part without a name");
    }
}
