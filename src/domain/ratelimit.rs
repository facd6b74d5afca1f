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
}
