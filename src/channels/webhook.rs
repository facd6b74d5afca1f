//! Outgoing webhook HTTP: one signed POST per try, through the network guard
//! ([`super::guard`]) unless the operator allows private networks.

use std::sync::OnceLock;
use std::time::Instant;

pub use super::guard::{check_destination, parse_url, UrlProblem};
use crate::domain::webhooks::REQUEST_TIMEOUT;

/// The User-Agent of every webhook request.
pub const USER_AGENT: &str = concat!("Atende-Webhooks/", env!("CARGO_PKG_VERSION"));

/// How much of a response body is kept with the attempt.
const EXCERPT_BYTES: usize = 512;

struct Clients {
    guarded: reqwest::Client,
    open: reqwest::Client,
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(USER_AGENT)
        .no_proxy()
        .pool_idle_timeout(std::time::Duration::from_secs(30))
}

fn clients() -> Result<&'static Clients, String> {
    static CLIENTS: OnceLock<Result<Clients, String>> = OnceLock::new();
    CLIENTS
        .get_or_init(|| {
            // A redirect is an answer that is not 2xx; following it could lead anywhere.
            let guarded = super::guard::guarded(builder(), 0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?;
            let open = builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
            Ok(Clients { guarded, open })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature_header(secret: &str, unix_secs: i64, body: &str) -> String {
    let signed = format!("{unix_secs}.{body}");
    format!("t={unix_secs},v1={}", crate::crypto::hmac_sha256_hex(secret.as_bytes(), signed.as_bytes()))
}

/// One request to send.
pub struct Request<'a> {
    pub url: &'a str,
    pub body: &'a str,
    pub delivery_id: i64,
    pub event: &'a str,
    pub signature: &'a str,
    pub allow_private: bool,
}

/// What one try produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Sends one webhook request (5 s for everything); a 2xx answer is a delivery.
pub async fn post(r: Request<'_>) -> Outcome {
    let started = Instant::now();
    let failed = |error: String, status_code: Option<i64>| Outcome {
        delivered: false,
        status_code,
        latency_ms: started.elapsed().as_millis() as i64,
        error: Some(error),
        response_excerpt: None,
    };
    let url = match parse_url(r.url) {
        Ok(u) => u,
        Err(p) => return failed(p.to_string(), None),
    };
    // IP literals never reach a resolver: check them here.
    if !r.allow_private {
        if let Err(p) = super::guard::check_literal(&url) {
            return failed(p.to_string(), None);
        }
    }
    let clients = match clients() {
        Ok(c) => c,
        Err(e) => return failed(format!("building the HTTP client failed: {e}"), None),
    };
    let client = if r.allow_private { &clients.open } else { &clients.guarded };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Atende-Delivery", r.delivery_id.to_string())
        .header("X-Atende-Event", r.event)
        .header("X-Atende-Signature", r.signature)
        .body(r.body.to_string())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return failed(describe(&e), None),
    };
    let status = response.status();
    let mut excerpt = Vec::new();
    let remaining = REQUEST_TIMEOUT.saturating_sub(started.elapsed());
    let _ = tokio::time::timeout(remaining, async {
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - excerpt.len())]),
                _ => break,
            }
        }
    })
    .await;
    let excerpt = (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned());
    let latency_ms = started.elapsed().as_millis() as i64;
    if status.is_success() {
        Outcome {
            delivered: true,
            status_code: Some(status.as_u16() as i64),
            latency_ms,
            error: None,
            response_excerpt: excerpt,
        }
    } else {
        Outcome {
            delivered: false,
            status_code: Some(status.as_u16() as i64),
            latency_ms,
            error: Some(format!("HTTP {}", status.as_u16())),
            response_excerpt: excerpt,
        }
    }
}

/// A transport error with its causes (reqwest's own text leaves out why a connection failed).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { "timed out after 5 s".to_string() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_the_timestamp_and_body() {
        let h = signature_header("s3cret", 1700000000, "{}");
        let expected = crate::crypto::hmac_sha256_hex(b"s3cret", b"1700000000.{}");
        assert_eq!(h, format!("t=1700000000,v1={expected}"));
    }
}
