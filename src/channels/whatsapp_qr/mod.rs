//! WhatsApp by QR code (WhatsApp Web multi-device) through an Evolution API v2 gateway the
//! operator runs: [`client`] calls it, [`events`] reads its webhooks. Evolution's JSON lives only
//! here.

pub mod client;
pub mod events;

/// Checks the instance token a webhook body carries against the connection's (Evolution does not
/// sign its webhooks; the token in the body is the proof that it comes from the gateway).
pub fn token_is_valid(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| !expected.is_empty() && crate::crypto::constant_time_eq(g, expected))
}
