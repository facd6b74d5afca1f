//! The outbound network guard: every URL a company admin can influence (webhook receivers,
//! provider base URLs, the media URLs providers answer with) is reached only through it. Names
//! are resolved and checked in one step and the connection goes to exactly the addresses that
//! were checked, so a name that resolves to a public address when checked and a private one later
//! (DNS rebinding) cannot slip through; IP literals, which never reach a resolver, are checked
//! before a request is sent and on every redirect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::domain::webhooks::forbidden_reason;

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

/// Parses a URL people configure: http or https, a host, no user name or password, at most
/// 2,000 characters.
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
            "{host} is a {why} ({ip}); only the server's operator can allow private networks"
        ))),
        None => Ok(()),
    }
}

/// Refuses a URL whose host is a forbidden IP literal (names are checked by the resolver).
pub fn check_literal(url: &Url) -> Result<(), UrlProblem> {
    let Some(host) = url.host_str() else { return Err(UrlProblem::Invalid("the URL has no host".into())) };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => check_ip(host, ip),
        Err(_) => Ok(()),
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

/// reqwest's resolver for guarded clients: resolves and checks in one step, and hands the
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

/// Makes `builder` a guarded client: the checking resolver, no proxy (a proxy would resolve the
/// name itself, past the guard), and at most `max_redirects` redirects, each to a destination the
/// guard allows (names meet the resolver again; literals are checked here).
pub fn guarded(builder: reqwest::ClientBuilder, max_redirects: usize) -> reqwest::ClientBuilder {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            attempt.error("too many redirects")
        } else if let Err(p) = check_literal(attempt.url()) {
            attempt.error(p.to_string())
        } else {
            attempt.follow()
        }
    });
    builder.dns_resolver(Arc::new(GuardedResolver)).no_proxy().redirect(policy)
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
            assert!(matches!(check_literal(&u), Err(UrlProblem::Forbidden(_))), "{url}");
            assert!(check_destination(&u, true).await.is_ok(), "{url}");
        }
        // `localhost` resolves to loopback: refused by name too.
        let u = parse_url("http://localhost:9/").unwrap();
        assert!(matches!(check_destination(&u, false).await, Err(UrlProblem::Forbidden(_))));
        assert!(check_literal(&u).is_ok(), "names are the resolver's to check");
    }

    #[tokio::test]
    async fn a_guarded_client_cannot_reach_a_loopback_name() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = guarded(reqwest::Client::builder(), 3).build().unwrap();
        let refused = client.get(format!("http://localhost:{port}/")).send().await;
        assert!(refused.is_err(), "the resolver refuses loopback");
    }
}
