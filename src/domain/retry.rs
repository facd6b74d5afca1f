//! The retry ladder for durable jobs: at once, after 30 s, then exponential back-off.

use std::time::Duration;

/// Delay before the next try of a job that has failed `failed_attempts` times (1 = first failure).
pub fn backoff(failed_attempts: u32) -> Duration {
    match failed_attempts {
        0 | 1 => Duration::ZERO,
        2 => Duration::from_secs(30),
        n => {
            // 60 s, 120 s, 240 s … capped at one hour.
            let exp = (n - 2).min(16);
            Duration::from_secs((30u64 << exp).min(3600))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_immediate_then_thirty_seconds_then_doubles_to_an_hour() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_secs(30));
        assert_eq!(backoff(3), Duration::from_secs(60));
        assert_eq!(backoff(4), Duration::from_secs(120));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
