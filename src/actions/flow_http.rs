//! The chatbot's HTTP requests (a flow's `http` node): through the network guard unless the
//! company may reach private networks, 5 s for everything, at most 64 KiB of the answer read,
//! at most 3 redirects, and nothing of Atende's sent along (no credentials, no cookies).

use std::sync::OnceLock;
use std::time::Duration;

use crate::app::App;
use crate::channels::guard;
use crate::domain::flow::{HttpCall, HttpOutcome, Method};
use crate::domain::TenantId;

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BODY: usize = 64 * 1024;
const USER_AGENT: &str = concat!("Atende-Chatbot/", env!("CARGO_PKG_VERSION"));

struct Clients {
    guarded: reqwest::Client,
    open: reqwest::Client,
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(TIMEOUT).connect_timeout(TIMEOUT).user_agent(USER_AGENT).no_proxy()
}

fn clients() -> Result<&'static Clients, String> {
    static CLIENTS: OnceLock<Result<Clients, String>> = OnceLock::new();
    CLIENTS
        .get_or_init(|| {
            let guarded = guard::guarded(builder(), 3).build().map_err(|e| e.to_string())?;
            let open = builder().redirect(reqwest::redirect::Policy::limited(3)).build().map_err(|e| e.to_string())?;
            Ok(Clients { guarded, open })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Makes a flow's request for `tenant`; never fails, the outcome says how it went.
pub(crate) async fn perform(app: &App, tenant: TenantId, call: &HttpCall) -> HttpOutcome {
    let failed = |reason: String| HttpOutcome::Failed { reason };
    let url = match guard::parse_url(&call.url) {
        Ok(u) => u,
        Err(p) => return failed(p.to_string()),
    };
    let allow_private = match super::webhooks::private_networks_allowed(app, tenant).await {
        Ok(a) => a,
        Err(e) => return failed(format!("the company's network setting cannot be read: {e}")),
    };
    // IP literals never reach the guard's resolver: check them here.
    if !allow_private {
        if let Err(p) = guard::check_literal(&url) {
            return failed(p.to_string());
        }
    }
    let clients = match clients() {
        Ok(c) => c,
        Err(e) => return failed(format!("building the HTTP client failed: {e}")),
    };
    let client = if allow_private { &clients.open } else { &clients.guarded };
    let request = match call.method {
        Method::Get => client.get(url),
        Method::Post => client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(call.body.clone().unwrap_or_else(|| "{}".into())),
    }
    .header(reqwest::header::ACCEPT, "application/json");
    let done = tokio::time::timeout(TIMEOUT, async {
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        Ok::<_, String>(HttpOutcome::Response { status, body: String::from_utf8_lossy(&body).into_owned() })
    })
    .await;
    match done {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(reason)) => failed(reason),
        Err(_) => failed("timed out after 5 s".into()),
    }
}

/// A transport error with its causes.
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
