//! Prometheus metrics kept in memory: HTTP requests by route and status, latency histograms by
//! route, and job outcomes. Queue depth is read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const BUCKETS_MS: [f64; 12] = [1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS_MS.len()],
    count: u64,
    sum_ms: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    pub jobs_completed: AtomicU64,
    pub jobs_retried: AtomicU64,
    pub jobs_dead: AtomicU64,
    /// `atende bench` only: every request's (route, server time in ms) while switched on.
    sampling: std::sync::atomic::AtomicBool,
    samples: Mutex<Vec<(String, f64)>>,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed_ms: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if self.sampling.load(Ordering::Relaxed) {
            if let Ok(mut s) = self.samples.lock() {
                s.push((route.to_string(), elapsed_ms));
            }
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_string()).or_default();
            h.count += 1;
            h.sum_ms += elapsed_ms;
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                if elapsed_ms <= *b {
                    h.buckets[i] += 1;
                }
            }
        }
    }

    /// Benchmarks: starts (or stops) keeping each request's exact server time.
    pub fn set_sampling(&self, on: bool) {
        self.sampling.store(on, Ordering::Relaxed);
    }

    /// Benchmarks: the samples kept since the last call, emptied.
    pub fn take_samples(&self) -> Vec<(String, f64)> {
        self.samples.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }

    /// Renders the Prometheus text format; `jobs_by_state` comes from the database.
    pub fn render(&self, jobs_by_state: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP atende_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE atende_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((method, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "atende_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP atende_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE atende_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = escape(route);
                for (i, b) in BUCKETS_MS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "atende_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{}\"}} {}",
                        b / 1000.0,
                        h.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "atende_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "atende_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum_ms / 1000.0
                );
                let _ = writeln!(out, "atende_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
            }
        }
        out.push_str("# HELP atende_jobs Jobs in the queue by state.\n# TYPE atende_jobs gauge\n");
        // Every state is always present, so dashboards see a zero rather than a gap.
        for state in ["queued", "running", "done", "dead"] {
            let n = jobs_by_state.iter().find(|(s, _)| s == state).map(|(_, n)| *n).unwrap_or(0);
            let _ = writeln!(out, "atende_jobs{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP atende_job_outcomes_total Job runs by outcome in this process.\n# TYPE atende_job_outcomes_total counter\n");
        for (name, v) in
            [("completed", &self.jobs_completed), ("retried", &self.jobs_retried), ("dead", &self.jobs_dead)]
        {
            let _ = writeln!(out, "atende_job_outcomes_total{{outcome=\"{name}\"}} {}", v.load(Ordering::Relaxed));
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe_request("GET", "/healthz", 200, 3.0);
        m.observe_request("GET", "/healthz", 200, 30.0);
        let text = m.render(&[("queued".into(), 4)]);
        assert!(text.contains("atende_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"));
        assert!(text.contains("atende_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1"));
        assert!(text.contains("atende_jobs{state=\"queued\"} 4"));
    }
}
