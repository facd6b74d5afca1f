//! The official WhatsApp Cloud API (Meta's Graph API): webhook parsing and signatures, and the
//! Graph client for sends and media.

pub mod graph;
pub mod inbound;

/// Meta's public Graph API; the demo and the tests point connections at the simulator instead.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v21.0";

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of the raw body.
pub fn signature_is_valid(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let expected = crate::crypto::hmac_sha256_hex(app_secret.as_bytes(), body);
    crate::crypto::constant_time_eq(&given.to_ascii_lowercase(), &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_must_match_the_body_and_secret() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = format!("sha256={}", crate::crypto::hmac_sha256_hex(b"s3cret", body));
        assert!(signature_is_valid("s3cret", body, Some(&good)));
        assert!(!signature_is_valid("other", body, Some(&good)));
        assert!(!signature_is_valid("s3cret", b"{}", Some(&good)));
        assert!(!signature_is_valid("s3cret", body, None));
        assert!(!signature_is_valid("s3cret", body, Some("sha1=abc")));
    }
}
