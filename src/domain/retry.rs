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

/// The longest wait between two reconnection attempts of a dropped session.
pub const RECONNECT_CAP: Duration = Duration::from_secs(300);

/// Delay before reconnection attempt `attempt` (0 = the first, right after the drop): 1 s, 2 s,
/// 4 s … capped at five minutes, each cut to a random point between half and all of it
/// (`jitter` in 0..=1) so sessions dropped together by one outage do not retry in step.
pub fn reconnect_delay(attempt: u32, jitter: f64) -> Duration {
    let full = Duration::from_secs(1u64 << attempt.min(16)).min(RECONNECT_CAP);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_exponentially_with_jitter_up_to_five_minutes() {
        assert_eq!(reconnect_delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(reconnect_delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(reconnect_delay(3, 0.0), Duration::from_secs(4));
        assert_eq!(reconnect_delay(30, 1.0), RECONNECT_CAP);
        assert_eq!(reconnect_delay(30, 0.0), RECONNECT_CAP / 2);
        assert!(reconnect_delay(5, 0.3) > reconnect_delay(5, 0.2));
    }

    #[test]
    fn ladder_is_immediate_then_thirty_seconds_then_doubles_to_an_hour() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_secs(30));
        assert_eq!(backoff(3), Duration::from_secs(60));
        assert_eq!(backoff(4), Duration::from_secs(120));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
