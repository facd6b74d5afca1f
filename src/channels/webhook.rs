//! Outgoing webhook HTTP: one signed POST per try, through a client whose DNS resolver refuses
//! private destinations. The connection goes to exactly the addresses that were checked, so a
//! name that resolves to a public address when checked and a private one later (DNS
//! rebinding) cannot slip through.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::domain::webhooks::{forbidden_reason, REQUEST_TIMEOUT};

/// The User-Agent of every webhook request.
pub const USER_AGENT: &str = concat!("Atende-Webhooks/", env!("CARGO_PKG_VERSION"));

/// How much of a response body is kept with the attempt.
const EXCERPT_BYTES: usize = 512;

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an http(s) URL with a host (or carries credentials).
    Invalid(String),
    /// Reaches a private, loopback, link-local… address while those are not allowed.
    Forbidden(String),
    /// The host name does not resolve.
    Unresolvable(String),
}

impl std::fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlProblem::Invalid(m) | UrlProblem::Forbidden(m) | UrlProblem::Unresolvable(m) => f.write_str(m),
        }
    }
}

/// Parses a subscription URL: http or https, a host, no user name or password, at most 2,000
/// characters.
pub fn parse_url(text: &str) -> Result<Url, UrlProblem> {
    let text = text.trim();
    if text.len() > 2000 {
        return Err(UrlProblem::Invalid("the URL is longer than 2,000 characters".into()));
    }
    let url = Url::parse(text).map_err(|e| UrlProblem::Invalid(format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlProblem::Invalid("only http and https URLs are allowed".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::Invalid("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Invalid("the URL must not carry a user name or password".into()));
    }
    Ok(url)
}

fn check_ip(host: &str, ip: IpAddr) -> Result<(), UrlProblem> {
    match forbidden_reason(ip) {
        Some(why) => Err(UrlProblem::Forbidden(format!(
            "{host} is a {why} ({ip}); enable \"allow private networks\" in the webhook settings to use it"
        ))),
        None => Ok(()),
    }
}

/// The addresses `host` resolves to, every one of them allowed; refused when any is not (a
/// name that also points inside the network is not trusted with the others).
pub async fn resolve_checked(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, UrlProblem> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        if !allow_private {
            check_ip(host, ip)?;
        }
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| UrlProblem::Unresolvable(format!("{host} does not resolve: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(UrlProblem::Unresolvable(format!("{host} does not resolve")));
    }
    if !allow_private {
        for a in &addrs {
            check_ip(host, a.ip())?;
        }
    }
    Ok(addrs)
}

/// Checks where a URL leads: its host must resolve, and to allowed addresses only.
pub async fn check_destination(url: &Url, allow_private: bool) -> Result<(), UrlProblem> {
    let host = url.host_str().ok_or_else(|| UrlProblem::Invalid("the URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    resolve_checked(host, port, allow_private).await.map(|_| ())
}

/// reqwest's resolver for the guarded client: resolves and checks in one step, and hands the
/// connector only checked addresses.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            match resolve_checked(&host, 0, false).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(p) => {
                    Err(Box::new(std::io::Error::other(p.to_string())) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

struct Clients {
    guarded: reqwest::Client,
    open: reqwest::Client,
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(USER_AGENT)
        // A redirect is an answer that is not 2xx; following it could lead anywhere.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name itself, past the guard.
        .no_proxy()
        .pool_idle_timeout(std::time::Duration::from_secs(30))
}

fn clients() -> Result<&'static Clients, String> {
    static CLIENTS: OnceLock<Result<Clients, String>> = OnceLock::new();
    CLIENTS
        .get_or_init(|| {
            let guarded = builder().dns_resolver(Arc::new(GuardedResolver)).build().map_err(|e| e.to_string())?;
            let open = builder().build().map_err(|e| e.to_string())?;
            Ok(Clients { guarded, open })
        })
        .as_ref()
        .map_err(Clone::clone)
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
        if let Some(host) = url.host_str() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>() {
                if let Err(p) = check_ip(host, ip) {
                    return failed(p.to_string(), None);
                }
            }
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
    fn only_http_urls_with_a_host_and_no_credentials_are_accepted() {
        assert!(parse_url("https://example.com/hook").is_ok());
        assert!(parse_url("http://127.0.0.1:8080/x").is_ok());
        assert!(matches!(parse_url("ftp://example.com"), Err(UrlProblem::Invalid(_))));
        assert!(matches!(parse_url("file:///etc/passwd"), Err(UrlProblem::Invalid(_))));
        assert!(matches!(parse_url("https://user:pw@example.com"), Err(UrlProblem::Invalid(_))));
        assert!(matches!(parse_url("not a url"), Err(UrlProblem::Invalid(_))));
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/",
            "http://10.0.0.8/",
            "http://169.254.169.254/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let u = parse_url(url).unwrap();
            assert!(matches!(check_destination(&u, false).await, Err(UrlProblem::Forbidden(_))), "{url}");
            assert!(check_destination(&u, true).await.is_ok(), "{url}");
        }
        // `localhost` resolves to loopback: refused by name too.
        let u = parse_url("http://localhost:9/").unwrap();
        assert!(matches!(check_destination(&u, false).await, Err(UrlProblem::Forbidden(_))));
    }
}
