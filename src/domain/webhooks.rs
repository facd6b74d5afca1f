//! Outgoing webhooks as pure rules: the event names, which live events become which webhook
//! events, the signature header, the retry schedule and the SSRF address classification.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Every event a subscription may ask for.
pub const EVENTS: [&str; 14] = [
    "message.created",
    "message.status",
    "ticket.created",
    "ticket.updated",
    "ticket.closed",
    "ticket.reminder",
    "ticket.sla_warning",
    "ticket.sla_breached",
    "contact.created",
    "contact.updated",
    "connection.updated",
    "report.alert",
    "task.created",
    "task.completed",
];

/// The name of a test delivery (sent on request to check an endpoint; no subscription asks for it).
pub const TEST_EVENT: &str = "webhook.test";

/// How long failed deliveries are retried, counted from the first try of the window.
pub const RETRY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub fn is_event(name: &str) -> bool {
    EVENTS.contains(&name)
}

/// The webhook events a live event stands for: most map one to one; a ticket update that
/// closed the ticket is also `ticket.closed`. Events webhooks do not carry map to none.
pub fn webhook_events(kind: &str, data: &serde_json::Value) -> Vec<&'static str> {
    match kind {
        "ticket.updated" => {
            if data.get("change").and_then(|c| c.as_str()) == Some("closed") {
                vec!["ticket.updated", "ticket.closed"]
            } else {
                vec!["ticket.updated"]
            }
        }
        other => EVENTS.iter().copied().filter(|e| *e == other).collect(),
    }
}

/// When to try again after the `failed_in_window`-th failed try of a window that started at
/// `window_start`: at once, after 30 s, then doubling up to an hour between tries, the last
/// one exactly when the window ends. `None` once the window is over: a dead letter.
pub fn next_attempt_at(window_start: i64, failed_in_window: u32, now: i64) -> Option<i64> {
    let deadline = window_start + RETRY_WINDOW.as_millis() as i64;
    if now >= deadline {
        return None;
    }
    let delay = super::retry::backoff(failed_in_window).as_millis() as i64;
    Some((now + delay).min(deadline))
}

/// Why a destination address is refused when private networks are not allowed; `None` when it
/// is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified address")
    } else if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_private() {
        Some("private address")
    } else if ip.is_link_local() {
        Some("link-local address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT) address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
    // addresses reach the IPv4 address inside: judge that one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return forbidden_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return forbidden_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if ip.is_unspecified() {
        Some("unspecified address")
    } else if ip.is_loopback() {
        Some("loopback address")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique-local address")
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        Some("link-local address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        forbidden_reason(s.parse().unwrap()).is_some()
    }

    #[test]
    fn private_and_special_addresses_are_refused_and_public_ones_allowed() {
        for s in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(refused(s), "{s} must be refused");
        }
        for s in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!refused(s), "{s} must be allowed");
        }
    }

    #[test]
    fn retries_are_at_once_then_30_s_then_doubling_until_the_window_closes() {
        let start = 1_000_000;
        assert_eq!(next_attempt_at(start, 1, start), Some(start));
        assert_eq!(next_attempt_at(start, 2, start + 10), Some(start + 10 + 30_000));
        assert_eq!(next_attempt_at(start, 3, start + 40_000), Some(start + 40_000 + 60_000));
        assert_eq!(next_attempt_at(start, 4, start), Some(start + 120_000));
        assert_eq!(next_attempt_at(start, 30, start), Some(start + 3_600_000));
        // The last try is at the end of the window, then it is over.
        let end = start + 24 * 3_600_000;
        assert_eq!(next_attempt_at(start, 30, end - 60_000), Some(end));
        assert_eq!(next_attempt_at(start, 31, end), None);
    }

    #[test]
    fn a_closing_update_is_also_ticket_closed_and_unknown_kinds_are_not_delivered() {
        let closed = serde_json::json!({ "change": "closed" });
        assert_eq!(webhook_events("ticket.updated", &closed), vec!["ticket.updated", "ticket.closed"]);
        assert_eq!(webhook_events("ticket.updated", &serde_json::json!({})), vec!["ticket.updated"]);
        assert_eq!(webhook_events("message.created", &closed), vec!["message.created"]);
        assert!(webhook_events("message.media", &closed).is_empty());
    }
}
