//! A sliding-window counter per key (login attempts per IP and per account, API calls per token).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub struct RateLimiter {
    max: usize,
    window_ms: i64,
    hits: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimiter {
    pub fn new(max: usize, window_ms: i64) -> Self {
        Self { max, window_ms, hits: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` when `key` already has `max` hits in the window; does not record.
    pub fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = hits.get_mut(key) else {
            return Ok(());
        };
        while q.front().is_some_and(|t| *t <= now - self.window_ms) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = q.front().copied().unwrap_or(now);
            let wait_ms = (oldest + self.window_ms - now).max(1000);
            return Err((wait_ms as u64).div_ceil(1000));
        }
        Ok(())
    }

    /// Hits of `key` still inside the window at `now`.
    pub fn count(&self, key: &str, now: i64) -> usize {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = hits.get_mut(key) else {
            return 0;
        };
        while q.front().is_some_and(|t| *t <= now - self.window_ms) {
            q.pop_front();
        }
        q.len()
    }

    pub fn record(&self, key: &str, now: i64) {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget windows that have passed.
            let window = self.window_ms;
            hits.retain(|_, q| q.back().is_some_and(|t| *t > now - window));
        }
        hits.entry(key.to_string()).or_default().push_back(now);
    }

    /// Check and record in one step.
    pub fn hit(&self, key: &str, now: i64) -> Result<(), u64> {
        self.check(key, now)?;
        self.record(key, now);
        Ok(())
    }

    /// Takes back one hit recorded at `at` (an attempt that turned out not to count). Checking
    /// with [`RateLimiter::hit`] first and forgiving afterwards keeps concurrent attempts from
    /// all passing the check before any is recorded.
    pub fn forgive(&self, key: &str, at: i64) {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = hits.get_mut(key) {
            if let Some(i) = q.iter().rposition(|t| *t == at) {
                q.remove(i);
            }
        }
    }

    pub fn clear(&self, key: &str) {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_hits_until_the_window_slides() {
        let rl = RateLimiter::new(3, 60_000);
        for t in 0..3 {
            assert!(rl.hit("ip", t).is_ok());
        }
        assert_eq!(rl.hit("ip", 10), Err(60));
        assert!(rl.hit("other", 10).is_ok());
        assert!(rl.hit("ip", 60_001).is_ok());
    }

    #[test]
    fn counts_only_the_hits_inside_the_window() {
        let rl = RateLimiter::new(3, 1000);
        assert_eq!(rl.count("k", 0), 0);
        rl.record("k", 0);
        rl.record("k", 500);
        assert_eq!(rl.count("k", 900), 2);
        assert_eq!(rl.count("k", 1200), 1);
        rl.forgive("k", 500);
        assert_eq!(rl.count("k", 1200), 0);
    }
}

/// A token bucket per key: `rate` tokens per second refill a bucket of `burst + rate` tokens;
/// each request takes one. Allows short bursts while holding the sustained rate.
pub struct TokenBuckets {
    rate_per_sec: f64,
    capacity: f64,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl TokenBuckets {
    pub fn new(rate_per_sec: u32, burst: u32) -> Self {
        let rate = f64::from(rate_per_sec.max(1));
        Self { rate_per_sec: rate, capacity: rate + f64::from(burst), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key` at `now` (ms); `Err(seconds until one is available)` when empty.
    pub fn take(&self, key: &str, now: i64) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Bound memory under a flood of distinct keys: full buckets carry no state worth keeping.
            let (rate, capacity) = (self.rate_per_sec, self.capacity);
            buckets.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 / 1000.0 * rate < capacity);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.capacity, now));
        let elapsed = (now - *at).max(0) as f64 / 1000.0;
        *tokens = (*tokens + elapsed * self.rate_per_sec).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.rate_per_sec;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    #[test]
    fn a_bucket_allows_the_burst_then_refills_at_the_rate() {
        let b = TokenBuckets::new(2, 3);
        for _ in 0..5 {
            assert!(b.take("t", 0).is_ok());
        }
        assert_eq!(b.take("t", 0), Err(1));
        assert!(b.take("other", 0).is_ok());
        // Half a second refills one token at 2/s.
        assert!(b.take("t", 500).is_ok());
        assert!(b.take("t", 500).is_err());
    }
}
