//! The Painel's alerts as pure rules: what is wrong now (from a few live figures and the
//! company's thresholds), and which alerts were raised or cleared since the last look — the
//! transitions the `report.alert` webhook event carries.

use std::collections::BTreeMap;

/// Something on the Painel that wants attention.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    /// `long_wait`, `dead_webhooks`, `messages_high`, `messages_low`.
    pub code: &'static str,
    pub value: i64,
    pub threshold: i64,
}

/// The live figures and thresholds the alerts are judged on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs {
    /// The longest current wait, in seconds.
    pub longest_wait_s: i64,
    /// Webhook deliveries given up on (dead letters).
    pub dead_webhooks: i64,
    /// Customer messages per minute this hour, and the mean of the previous 24 hours.
    pub rate: f64,
    pub mean: f64,
    /// How far into the current hour we are, in ms.
    pub into_hour_ms: i64,
    /// Thresholds (0: that alert is off).
    pub wait_alert_minutes: i64,
    pub band_low_pct: i64,
    pub band_high_pct: i64,
}

/// A quiet first few minutes of an hour say little: "too few messages" waits this long.
const LOW_AFTER_MS: i64 = 10 * 60_000;

/// The alerts that hold now.
pub fn evaluate(i: &Inputs) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if i.wait_alert_minutes > 0 && i.longest_wait_s > i.wait_alert_minutes * 60 {
        alerts.push(Alert { code: "long_wait", value: i.longest_wait_s / 60, threshold: i.wait_alert_minutes });
    }
    if i.dead_webhooks > 0 {
        alerts.push(Alert { code: "dead_webhooks", value: i.dead_webhooks, threshold: 0 });
    }
    if i.mean > 0.0 {
        let pct = (i.rate / i.mean * 100.0).round() as i64;
        if i.band_high_pct > 0 && pct > i.band_high_pct {
            alerts.push(Alert { code: "messages_high", value: pct, threshold: i.band_high_pct });
        }
        if i.band_low_pct > 0 && pct < i.band_low_pct && i.into_hour_ms >= LOW_AFTER_MS {
            alerts.push(Alert { code: "messages_low", value: pct, threshold: i.band_low_pct });
        }
    }
    alerts
}

/// What changed between the alerts active before (code → since) and those that hold now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub raised: Vec<Alert>,
    pub cleared: Vec<String>,
}

pub fn changes(before: &BTreeMap<String, i64>, now: &[Alert]) -> Changes {
    Changes {
        raised: now.iter().filter(|a| !before.contains_key(a.code)).cloned().collect(),
        cleared: before.keys().filter(|code| !now.iter().any(|a| a.code == code.as_str())).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            wait_alert_minutes: 15,
            band_low_pct: 70,
            band_high_pct: 130,
            into_hour_ms: 30 * 60_000,
            ..Default::default()
        }
    }

    #[test]
    fn a_wait_alerts_only_beyond_the_threshold_and_never_when_off() {
        let at = |s, m| evaluate(&Inputs { longest_wait_s: s, wait_alert_minutes: m, ..inputs() });
        assert!(at(15 * 60, 15).is_empty());
        assert_eq!(at(15 * 60 + 1, 15), vec![Alert { code: "long_wait", value: 15, threshold: 15 }]);
        assert!(at(10 * 3600, 0).is_empty());
    }

    #[test]
    fn the_message_band_is_relative_to_the_mean_and_low_waits_ten_minutes() {
        let at = |rate, into| evaluate(&Inputs { rate, mean: 2.0, into_hour_ms: into, ..inputs() });
        assert_eq!(at(2.7, 60_000)[0], Alert { code: "messages_high", value: 135, threshold: 130 });
        assert!(at(2.6, 60_000).is_empty(), "130 % is inside the band");
        assert!(at(1.0, 9 * 60_000).is_empty(), "too early in the hour for low");
        assert_eq!(at(1.0, 10 * 60_000)[0].code, "messages_low");
        // No history: no band.
        assert!(evaluate(&Inputs { rate: 50.0, mean: 0.0, ..inputs() }).is_empty());
    }

    #[test]
    fn changes_name_what_was_raised_and_what_cleared() {
        let before: BTreeMap<String, i64> = [("long_wait".to_string(), 1), ("dead_webhooks".to_string(), 1)].into();
        let now = [
            Alert { code: "dead_webhooks", value: 3, threshold: 0 },
            Alert { code: "messages_high", value: 200, threshold: 130 },
        ];
        let c = changes(&before, &now);
        assert_eq!(c.raised, vec![now[1].clone()]);
        assert_eq!(c.cleared, vec!["long_wait".to_string()]);
        assert_eq!(changes(&BTreeMap::new(), &[]), Changes::default());
    }
}
