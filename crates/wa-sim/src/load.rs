//! Load mode: floods a webhook receiver with signed customer text messages at a target rate.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use serde::Serialize;

use crate::ids::{self, now_secs};
use crate::sign_body;

/// What [`run_load`] sends, where, and how fast.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The webhook URL to POST to; must be on a loopback address.
    pub target_webhook_url: String,
    /// Signs every delivery (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Webhook `metadata.phone_number_id`.
    pub phone_number_id: String,
    /// Webhook `metadata.display_phone_number`.
    pub display_phone_number: String,
    /// Webhook `entry[].id`.
    pub waba_id: String,
    /// Distinct customers (wa_ids `5511900000000` + `first_customer` + n) the messages cycle through.
    pub customers: usize,
    /// Offset of the first customer: runs with different offsets write as different people.
    pub first_customer: u64,
    /// Target messages per second (0: as fast as the concurrency allows).
    pub rate_per_sec: u64,
    /// How long to send for (the run also stops after `rate_per_sec × duration` messages).
    pub duration: Duration,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Messages per webhook delivery (1: one message per POST; more: Meta-style batches).
    pub messages_per_delivery: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl LoadConfig {
    /// A config with the simulator's default metadata: 100 customers, 1000 msg/s for 5 s,
    /// concurrency 32, one message per delivery.
    pub fn new(target_webhook_url: &str, app_secret: &str, phone_number_id: &str) -> Self {
        LoadConfig {
            target_webhook_url: target_webhook_url.to_string(),
            app_secret: app_secret.to_string(),
            phone_number_id: phone_number_id.to_string(),
            display_phone_number: "15550000001".into(),
            waba_id: "200000000000001".into(),
            customers: 100,
            first_customer: 0,
            rate_per_sec: 1000,
            duration: Duration::from_secs(5),
            concurrency: 32,
            messages_per_delivery: 1,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Acknowledgement latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// What a load run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// Webhook POSTs made.
    pub deliveries_sent: u64,
    /// Messages in those POSTs.
    pub messages_sent: u64,
    /// POSTs answered 2xx.
    pub deliveries_acknowledged: u64,
    /// Messages in POSTs answered 2xx.
    pub messages_acknowledged: u64,
    /// Failed POSTs by HTTP status (`"500"`) or `"timeout"` / `"connect"` / `"other"`.
    pub errors_by_status: BTreeMap<String, u64>,
    /// Wall time of the run in seconds.
    pub elapsed_secs: f64,
    /// Acknowledged messages per second of wall time.
    pub achieved_msgs_per_sec: f64,
    /// Latency of every POST (acknowledged or not) from send to answer.
    pub latency: Latency,
}

fn ensure_loopback(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url)?;
    ensure!(matches!(parsed.scheme(), "http" | "https"), "load target must be http(s)");
    let host = parsed.host_str().ok_or_else(|| anyhow!("load target has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    ensure!(loopback, "load target must be a loopback address (127.0.0.0/8, ::1, localhost), got {host}");
    Ok(())
}

#[derive(Default)]
struct WorkerTally {
    deliveries: u64,
    messages: u64,
    ack_deliveries: u64,
    ack_messages: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

/// A delivery's JSON, written directly (the same bytes `serde_json` would produce from Meta's
/// envelope, built without intermediate values: the generator shares the machine with the
/// server it measures, so it must be cheap). Ids and names are ASCII digits and letters, so
/// nothing needs escaping. `run` makes message ids unique across runs.
fn delivery_body(cfg: &LoadConfig, run: &str, index: u64) -> Vec<u8> {
    use std::fmt::Write as _;
    let batch = cfg.messages_per_delivery.max(1) as u64;
    let customers = cfg.customers.max(1) as u64;
    let ts = now_secs();
    let mut contacts = String::with_capacity(64 * batch as usize);
    let mut messages = String::with_capacity(200 * batch as usize);
    for j in 0..batch {
        let seq = index * batch + j;
        let n = seq % customers;
        let wa_id = 5_511_900_000_000u64 + cfg.first_customer + n;
        if j > 0 {
            contacts.push(',');
            messages.push(',');
        }
        // The user id the simulator's own webhooks give this number (Meta sends one with every message).
        let user_id = ids::user_id(&cfg.waba_id, "BR", &wa_id.to_string());
        let _ = write!(contacts, r#"{{"profile":{{"name":"Cliente {n}"}},"wa_id":"{wa_id}","user_id":"{user_id}"}}"#);
        let _ = write!(
            messages,
            r#"{{"from":"{wa_id}","from_user_id":"{user_id}","id":"wamid.HBgN{run}{seq:016}","timestamp":"{ts}","type":"text","text":{{"body":"Mensagem de carga {seq} do cliente {n}"}}}}"#
        );
    }
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{waba}","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"{dpn}","phone_number_id":"{pnid}"}},"contacts":[{contacts}],"messages":[{messages}]}},"field":"messages"}}]}}]}}"#,
        waba = cfg.waba_id,
        dpn = cfg.display_phone_number,
        pnid = cfg.phone_number_id,
    )
    .into_bytes()
}

/// One keep-alive HTTP/1.1 connection to the webhook: the load generator writes requests and
/// reads answers itself (a general-purpose client costs several times more CPU per request,
/// and that CPU is taken from the server being measured).
struct Http1 {
    stream: Option<tokio::io::BufReader<tokio::net::TcpStream>>,
    addr: String,
    host_header: String,
    path: String,
}

impl Http1 {
    fn new(url: &reqwest::Url) -> anyhow::Result<Http1> {
        ensure!(url.scheme() == "http", "the load generator speaks plain http only");
        let host = url.host_str().ok_or_else(|| anyhow!("load target has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Ok(Http1 { stream: None, addr: format!("{host}:{port}"), host_header: format!("{host}:{port}"), path })
    }

    /// POSTs `body`; returns the HTTP status. Any error drops the connection (the next request
    /// opens a new one).
    async fn post(&mut self, signature: &str, body: &[u8]) -> Result<u16, &'static str> {
        let result = self.exchange(signature, body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, signature: &str, body: &[u8]) -> Result<u16, &'static str> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let s = tokio::net::TcpStream::connect(&self.addr).await.map_err(|_| "connect")?;
            let _ = s.set_nodelay(true);
            self.stream = Some(tokio::io::BufReader::with_capacity(4096, s));
        }
        let stream = self.stream.as_mut().ok_or("connect")?;
        let mut request = Vec::with_capacity(body.len() + 256);
        request.extend_from_slice(
            format!(
                "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\n\r\n",
                self.path,
                self.host_header,
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body);
        stream.get_mut().write_all(&request).await.map_err(|_| "other")?;
        let mut line = String::new();
        if stream.read_line(&mut line).await.map_err(|_| "other")? == 0 {
            return Err("other");
        }
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("other")?;
        let mut length: Option<usize> = None;
        let mut close = false;
        loop {
            line.clear();
            if stream.read_line(&mut line).await.map_err(|_| "other")? == 0 {
                return Err("other");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("other"); // never sent by the receivers this measures
                } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut rest = vec![0u8; length.unwrap_or(0)];
        stream.read_exact(&mut rest).await.map_err(|_| "other")?;
        if close || length.is_none() {
            self.stream = None;
        }
        Ok(status)
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// POSTs signed text-message webhooks to `cfg.target_webhook_url` at `cfg.rate_per_sec` with at
/// most `cfg.concurrency` requests in flight, over keep-alive connections, and reports what was
/// acknowledged. Stops by itself after `cfg.duration` (or after `rate × duration` messages);
/// refuses targets that are not on a loopback address.
pub async fn run_load(cfg: LoadConfig) -> anyhow::Result<LoadReport> {
    ensure_loopback(&cfg.target_webhook_url)?;
    let batch = cfg.messages_per_delivery.max(1) as u64;
    let concurrency = cfg.concurrency.max(1);
    let url = reqwest::Url::parse(&cfg.target_webhook_url)?;
    Http1::new(&url)?;
    // Message ids of this run: unique across runs against the same database.
    let run = ids::alnum(12);
    let (total, interval) = if cfg.rate_per_sec == 0 {
        (u64::MAX, Duration::ZERO)
    } else {
        let msgs = (cfg.rate_per_sec as f64 * cfg.duration.as_secs_f64()).ceil() as u64;
        (msgs.div_ceil(batch), Duration::from_secs_f64(batch as f64 / cfg.rate_per_sec as f64))
    };
    let cfg = Arc::new(cfg);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (cfg, next, run, url) = (cfg.clone(), next.clone(), run.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut t = WorkerTally::default();
            let Ok(mut http) = Http1::new(&url) else { return t };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let due = start + interval.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
                if due >= deadline || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let body = delivery_body(&cfg, &run, i);
                let signature = sign_body(&cfg.app_secret, &body);
                let sent_at = Instant::now();
                let outcome = match tokio::time::timeout(cfg.request_timeout, http.post(&signature, &body)).await {
                    Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
                    Ok(Ok(status)) => Err(status.to_string()),
                    Ok(Err(kind)) => Err(kind.to_string()),
                    Err(_) => {
                        http.stream = None;
                        Err("timeout".to_string())
                    }
                };
                t.latencies_us.push(sent_at.elapsed().as_micros() as u64);
                t.deliveries += 1;
                t.messages += batch;
                match outcome {
                    Ok(()) => {
                        t.ack_deliveries += 1;
                        t.ack_messages += batch;
                    }
                    Err(k) => *t.errors.entry(k).or_default() += 1,
                }
            }
            t
        }));
    }
    let mut report = LoadReport::default();
    let mut latencies = Vec::new();
    for w in workers {
        let t = w.await?;
        report.deliveries_sent += t.deliveries;
        report.messages_sent += t.messages;
        report.deliveries_acknowledged += t.ack_deliveries;
        report.messages_acknowledged += t.ack_messages;
        for (k, v) in t.errors {
            *report.errors_by_status.entry(k).or_default() += v;
        }
        latencies.extend(t.latencies_us);
    }
    let elapsed = start.elapsed().as_secs_f64();
    report.elapsed_secs = elapsed;
    report.achieved_msgs_per_sec = if elapsed > 0.0 { report.messages_acknowledged as f64 / elapsed } else { 0.0 };
    latencies.sort_unstable();
    report.latency = Latency {
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().map_or(0.0, |m| *m as f64 / 1000.0),
        mean_ms: if latencies.is_empty() {
            0.0
        } else {
            latencies.iter().sum::<u64>() as f64 / latencies.len() as f64 / 1000.0
        },
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_loopback_targets() {
        assert!(ensure_loopback("http://127.0.0.1:8080/hooks").is_ok());
        assert!(ensure_loopback("http://127.9.0.3/hooks").is_ok());
        assert!(ensure_loopback("http://localhost:1/x").is_ok());
        assert!(ensure_loopback("http://[::1]:80/x").is_ok());
        assert!(ensure_loopback("http://10.0.0.1/x").is_err());
        assert!(ensure_loopback("http://example.com/x").is_err());
    }

    #[test]
    fn delivery_bodies_are_metas_envelope() {
        let mut cfg = LoadConfig::new("http://127.0.0.1:1/h", "s", "123");
        cfg.messages_per_delivery = 3;
        cfg.customers = 2;
        let body: serde_json::Value = serde_json::from_slice(&delivery_body(&cfg, "RUN", 5)).unwrap();
        let value = &body["entry"][0]["changes"][0]["value"];
        assert_eq!(body["object"], "whatsapp_business_account");
        assert_eq!(body["entry"][0]["changes"][0]["field"], "messages");
        assert_eq!(value["metadata"]["phone_number_id"], "123");
        let messages = value["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0]["id"], "wamid.HBgNRUN0000000000000015");
        assert_eq!(messages[0]["from"], "5511900000001");
        let user_id = messages[0]["from_user_id"].as_str().unwrap();
        assert!(ids::is_user_id(user_id), "{user_id}");
        assert_eq!(value["contacts"][0]["user_id"], user_id);
        assert_eq!(messages[0]["text"]["body"], "Mensagem de carga 15 do cliente 1");
        assert_eq!(value["contacts"][1]["wa_id"], "5511900000000");
        assert_eq!(value["contacts"][1]["profile"]["name"], "Cliente 0");
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
