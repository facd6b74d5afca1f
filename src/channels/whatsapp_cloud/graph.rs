//! The Graph API client for one WhatsApp Cloud API number: sends, mark-as-read, media lookup,
//! download and upload, in the request and response shapes Meta documents. Errors are classified
//! so the caller knows whether to retry (transient), slow down for one recipient, give up with a
//! reason people can read, or ask an admin to reconnect the number (expired token).
//!
//! Two `reqwest::Client`s (keep-alive pools) serve every connection: the guarded one (the
//! network guard of [`crate::channels::guard`]) for Graph URLs a company chose, the open one for
//! the operator's. The access token goes in the `Authorization` header and never into a log line
//! or error text.

use std::time::Duration;

use serde_json::{json, Value};

/// Time allowed for one Graph call (connect included).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Downloads and uploads of media files may take longer than an API call.
const FILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The number a call is for and how to reach its Graph API.
#[derive(Clone, Copy)]
pub struct Account<'a> {
    pub graph_url: &'a str,
    pub api_version: &'a str,
    pub phone_number_id: &'a str,
    pub access_token: &'a str,
    /// Calls (and the media downloads they lead to) must pass the network guard: the Graph URL
    /// is not the operator's and the operator does not allow private networks.
    pub guarded: bool,
}

impl Account<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.graph_url.trim_end_matches('/'), self.api_version, path)
    }
}

/// Why a Graph call failed, classified by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Worth trying again: 5xx, timeouts, connection errors, throughput limits.
    #[error("{reason}")]
    Transient { code: Option<i64>, reason: String },
    /// 131056: too many messages to this recipient in a short time; back off for them only.
    #[error("{title}")]
    RecipientThrottled { code: i64, title: String },
    /// Will never succeed as sent (undeliverable, outside the window, template or parameter errors).
    #[error("{title}")]
    Permanent { code: Option<i64>, title: String },
    /// 190: the access token expired or was revoked; the number must be reconnected.
    #[error("{title}")]
    Auth { code: i64, title: String },
}

impl GraphError {
    pub fn code(&self) -> Option<i64> {
        match self {
            GraphError::Transient { code, .. } | GraphError::Permanent { code, .. } => *code,
            GraphError::RecipientThrottled { code, .. } | GraphError::Auth { code, .. } => Some(*code),
        }
    }

    /// The reason shown to people.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// What `GET /{media-id}` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// Signed URL, valid for about five minutes; download it with the bearer token.
    pub url: String,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
    /// Hex SHA-256 of the file, when Meta gives it.
    pub sha256: Option<String>,
}

/// Why a media download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// 401/403/404 from the media URL: it expired; ask Graph for a fresh one.
    #[error("the media URL expired or was refused (HTTP {0})")]
    Expired(u16),
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Graph(#[from] GraphError),
}

#[derive(Clone)]
pub struct Graph {
    open: reqwest::Client,
    guarded: reqwest::Client,
}

impl Graph {
    pub fn new() -> anyhow::Result<Graph> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .connect_timeout(Duration::from_secs(5))
                .pool_idle_timeout(Duration::from_secs(90))
                .tcp_keepalive(Duration::from_secs(60))
                .user_agent(concat!("atende/", env!("CARGO_PKG_VERSION")))
        };
        let open = builder().build()?;
        let guarded = crate::channels::guard::guarded(builder(), 5).build()?;
        Ok(Graph { open, guarded })
    }

    /// A request to `url` with the client the account calls for; a guarded account's URL must
    /// be http(s) and not an IP literal the guard refuses (names meet the guard's resolver).
    fn request(
        &self,
        a: &Account<'_>,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, GraphError> {
        if !a.guarded {
            return Ok(self.open.request(method, url).bearer_auth(a.access_token));
        }
        let refused =
            |why: String| GraphError::Permanent { code: None, title: format!("refused by the network guard: {why}") };
        let parsed = crate::channels::guard::parse_url(url).map_err(|p| refused(p.to_string()))?;
        crate::channels::guard::check_literal(&parsed).map_err(|p| refused(p.to_string()))?;
        Ok(self.guarded.request(method, parsed).bearer_auth(a.access_token))
    }

    /// `POST /{phone-number-id}/messages`; returns the message id (`wamid…`).
    pub async fn send_message(&self, a: &Account<'_>, body: &Value) -> Result<String, GraphError> {
        let url = a.url(&format!("{}/messages", a.phone_number_id));
        let response = self.request(a, reqwest::Method::POST, &url)?.json(body).send().await.map_err(network)?;
        let value = json_or_error(response).await?;
        value
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| GraphError::Transient {
                code: None,
                reason: "Graph accepted the send without a message id".into(),
            })
    }

    /// `GET /{waba-id}/message_templates`, every page (`paging.next`, followed only on the same
    /// Graph URL, at most 20 pages of 100): the raw pages, read by `domain::templates::parse_page`.
    pub async fn list_templates(&self, a: &Account<'_>, waba_id: &str) -> Result<Vec<Value>, GraphError> {
        let mut url = a.url(&format!("{waba_id}/message_templates?limit=100"));
        let mut pages = Vec::new();
        for _ in 0..20 {
            let response = self.request(a, reqwest::Method::GET, &url)?.send().await.map_err(network)?;
            let page = json_or_error(response).await?;
            let next = page.get("paging").and_then(|p| p.get("next")).and_then(Value::as_str).map(str::to_string);
            pages.push(page);
            match next {
                Some(n) if n.starts_with(a.graph_url.trim_end_matches('/')) => url = n,
                _ => break,
            }
        }
        Ok(pages)
    }

    /// Marks a received message (and those before it) as read: the customer sees blue ticks.
    pub async fn mark_read(&self, a: &Account<'_>, provider_id: &str) -> Result<(), GraphError> {
        let url = a.url(&format!("{}/messages", a.phone_number_id));
        let body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": provider_id });
        let response = self.request(a, reqwest::Method::POST, &url)?.json(&body).send().await.map_err(network)?;
        json_or_error(response).await.map(|_| ())
    }

    /// `GET /{media-id}`: where to download a received file, and what Meta says it is.
    pub async fn media_info(&self, a: &Account<'_>, media_id: &str) -> Result<MediaInfo, GraphError> {
        let url = a.url(media_id);
        let response = self
            .request(a, reqwest::Method::GET, &url)?
            .query(&[("phone_number_id", a.phone_number_id)])
            .send()
            .await
            .map_err(network)?;
        let v = json_or_error(response).await?;
        let url = v.get("url").and_then(Value::as_str).ok_or_else(|| GraphError::Permanent {
            code: None,
            title: "Graph returned no URL for this media".into(),
        })?;
        let file_size = match v.get("file_size") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Ok(MediaInfo {
            url: url.to_string(),
            mime_type: v.get("mime_type").and_then(Value::as_str).map(str::to_string),
            file_size,
            sha256: v.get("sha256").and_then(Value::as_str).map(str::to_ascii_lowercase),
        })
    }

    /// Downloads a media URL with the bearer token, reading at most `limit` bytes: a larger file
    /// is refused as soon as it passes the limit, without reading the rest.
    pub async fn download(&self, a: &Account<'_>, url: &str, limit: u64) -> Result<Vec<u8>, DownloadError> {
        let mut response =
            self.request(a, reqwest::Method::GET, url)?.timeout(FILE_TIMEOUT).send().await.map_err(network)?;
        let status = response.status().as_u16();
        if matches!(status, 401 | 403 | 404 | 410) {
            return Err(DownloadError::Expired(status));
        }
        if !response.status().is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(classify(status, &body).into());
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(DownloadError::TooLarge { limit });
        }
        let mut data = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if (data.len() + chunk.len()) as u64 > limit {
                return Err(DownloadError::TooLarge { limit });
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// `POST /{phone-number-id}/media` (multipart): uploads a file to send by id; returns the id.
    pub async fn upload_media(
        &self,
        a: &Account<'_>,
        data: Vec<u8>,
        mime: &str,
        filename: &str,
    ) -> Result<String, GraphError> {
        let url = a.url(&format!("{}/media", a.phone_number_id));
        let boundary = format!("atende-{}", crate::crypto::random_token(12));
        let (content_type, body) = multipart(&boundary, &data, mime, filename);
        let response = self
            .request(a, reqwest::Method::POST, &url)?
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(FILE_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        let v = json_or_error(response).await?;
        v.get("id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| GraphError::Transient {
            code: None,
            reason: "Graph accepted the upload without a media id".into(),
        })
    }
}

/// A `multipart/form-data` body with Meta's three fields: `messaging_product`, `type`, `file`.
fn multipart(boundary: &str, data: &[u8], mime: &str, filename: &str) -> (String, Vec<u8>) {
    let clean = |s: &str| s.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(data.len() + 512);
    for (name, value) in [("messaging_product", "whatsapp"), ("type", mime)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n", clean(value))
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            clean(filename),
            clean(mime)
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A transport failure: never reached Graph or got no answer. Always worth a retry.
fn network(e: reqwest::Error) -> GraphError {
    let what = if e.is_timeout() {
        "Graph did not answer in time"
    } else if e.is_connect() {
        "could not connect to Graph"
    } else {
        "the connection to Graph failed"
    };
    // Without the URL: media URLs carry signatures.
    GraphError::Transient { code: None, reason: format!("{what}: {}", e.without_url()) }
}

async fn json_or_error(response: reqwest::Response) -> Result<Value, GraphError> {
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(network)?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|_| GraphError::Transient {
            code: None,
            reason: format!("Graph answered HTTP {status} with a body that is not JSON"),
        });
    }
    Err(classify(status, &body))
}

/// Classifies an error answer: `{"error":{"message","type","code","error_subcode",
/// "error_data":{"details"},"fbtrace_id"}}` (or anything else with its HTTP status).
pub fn classify(http_status: u16, body: &[u8]) -> GraphError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let Some(error) = error else {
        return if http_status >= 500 || http_status == 429 || http_status == 408 {
            GraphError::Transient { code: None, reason: format!("Graph answered HTTP {http_status}; will retry") }
        } else {
            GraphError::Permanent { code: None, title: format!("Graph refused the request (HTTP {http_status})") }
        };
    };
    let code = error.get("code").and_then(Value::as_i64);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("").trim();
    let details = error.get("error_data").and_then(|d| d.get("details")).and_then(Value::as_str).unwrap_or("").trim();
    let meta = match (message.is_empty(), details.is_empty()) {
        (false, false) => format!("{message} — {details}"),
        (false, true) => message.to_string(),
        (true, false) => details.to_string(),
        (true, true) => format!("HTTP {http_status}"),
    };
    let with = |ours: &str| format!("{ours} ({meta})");
    match code {
        Some(c @ (1 | 2 | 4 | 17 | 341 | 80007 | 130429 | 131000 | 131016 | 133004)) => GraphError::Transient {
            code: Some(c),
            reason: match c {
                4 | 17 | 80007 | 130429 => with("Meta's rate limit was reached; will retry"),
                _ => with("Meta had a temporary problem; will retry"),
            },
        },
        Some(c @ 131056) => GraphError::RecipientThrottled {
            code: c,
            title: with("too many messages to this customer in a short time; will retry"),
        },
        Some(c @ 190) => GraphError::Auth {
            code: c,
            title: with("the access token expired or was revoked; an admin must reconnect this number"),
        },
        // Meta's per-user marketing cap: not now, maybe in some hours (the send job waits hours).
        Some(c @ 131049) => GraphError::Transient {
            code: Some(c),
            reason: with(
                "Meta withheld this marketing message to limit what the customer receives; will retry in some hours",
            ),
        },
        Some(c @ 131050) => GraphError::Permanent {
            code: Some(c),
            title: with("the customer stopped marketing messages from this number"),
        },
        Some(c @ 130472) => GraphError::Permanent {
            code: Some(c),
            title: with("the customer is in Meta's marketing experiment group and gets no marketing templates"),
        },
        Some(c @ 131026) => GraphError::Permanent {
            code: Some(c),
            title: with("message undeliverable: the number may not be on WhatsApp or cannot receive it"),
        },
        Some(c @ 131047) => GraphError::Permanent {
            code: Some(c),
            title: with("more than 24 hours since the customer's last message; send a template instead"),
        },
        Some(c @ 132000..=132999) => GraphError::Permanent { code: Some(c), title: with("template error") },
        Some(c @ (100 | 131008 | 131009)) => GraphError::Permanent { code: Some(c), title: with("invalid parameter") },
        Some(c @ (10 | 200..=299)) => {
            GraphError::Permanent { code: Some(c), title: with("permission denied for this number") }
        }
        Some(c) if http_status >= 500 => {
            GraphError::Transient { code: Some(c), reason: with("Graph error; will retry") }
        }
        code => GraphError::Permanent {
            code,
            title: if meta.is_empty() { "Graph refused the message".into() } else { meta },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, code: i64) -> GraphError {
        let body = json!({"error":{"message":format!("(#{code}) Something"),"type":"OAuthException","code":code,
            "error_data":{"messaging_product":"whatsapp","details":"More detail"},"fbtrace_id":"Az8or"}});
        classify(status, body.to_string().as_bytes())
    }

    #[test]
    fn meta_error_codes_are_classified() {
        assert!(matches!(err(400, 130429), GraphError::Transient { code: Some(130429), .. }));
        assert!(matches!(err(400, 80007), GraphError::Transient { .. }));
        assert!(matches!(err(500, 131000), GraphError::Transient { .. }));
        assert!(matches!(err(400, 131056), GraphError::RecipientThrottled { code: 131056, .. }));
        assert!(matches!(err(401, 190), GraphError::Auth { code: 190, .. }));
        assert!(matches!(err(400, 131026), GraphError::Permanent { code: Some(131026), .. }));
        assert!(matches!(err(400, 131047), GraphError::Permanent { code: Some(131047), .. }));
        assert!(matches!(err(400, 132001), GraphError::Permanent { code: Some(132001), .. }));
        assert!(matches!(err(400, 100), GraphError::Permanent { code: Some(100), .. }));
        assert!(matches!(err(503, 999999), GraphError::Transient { .. }));
        assert!(matches!(err(400, 999999), GraphError::Permanent { .. }));
    }

    #[test]
    fn reasons_explain_and_keep_meta_words() {
        let e = err(400, 131026);
        assert!(e.reason().starts_with("message undeliverable"), "{e}");
        assert!(e.reason().contains("More detail"), "{e}");
        assert_eq!(e.code(), Some(131026));
    }

    #[test]
    fn bodies_without_an_error_object_use_the_http_status() {
        assert!(matches!(classify(502, b"<html>bad gateway</html>"), GraphError::Transient { code: None, .. }));
        assert!(matches!(classify(429, b""), GraphError::Transient { .. }));
        assert!(matches!(classify(400, b"{}"), GraphError::Permanent { code: None, .. }));
    }

    #[test]
    fn multipart_body_has_the_three_fields() {
        let (ct, body) = multipart("B", b"\x89PNG", "image/png", "a\"b.png");
        assert_eq!(ct, "multipart/form-data; boundary=B");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(text.contains("name=\"type\"\r\n\r\nimage/png\r\n"));
        assert!(text.contains("name=\"file\"; filename=\"a_b.png\"\r\nContent-Type: image/png\r\n\r\n"));
        assert!(text.ends_with("\r\n--B--\r\n"));
    }
}
