//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 6 digits, 30 s):
//! the codes of authenticator apps (Google Authenticator, Authy, 1Password…), the base32 form
//! people type into them, the `otpauth://` address their QR code carries, and recovery codes.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per code.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
/// Codes one step before and after now are accepted: phones' clocks drift, people type slowly.
const DRIFT_STEPS: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (what authenticator apps take).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 as people copy it: any case, spaces and padding ignored; `None` on other
/// characters.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=' && *c != '-') {
        let value = BASE32.iter().position(|&b| char::from(b) == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The time step of a moment in milliseconds since the epoch.
pub fn step_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECS)
}

/// The HOTP value of `secret` at counter `step` (RFC 4226 §5.3, dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    // HMAC takes a key of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(DIGITS)
}

/// The step a typed code belongs to, when it is right for a step near `now_ms` that is later
/// than `last_used_step` (a code works once: a code seen over someone's shoulder is spent).
pub fn verify(secret: &[u8], typed: &str, now_ms: i64, last_used_step: i64) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    let now = step_of(now_ms);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|&step| step > last_used_step)
        .find(|&step| bool::from(code_at(secret, step).ct_eq(&value)))
}

/// The address an authenticator app reads from the enrolment QR code (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let issuer_enc = uri_component(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={secret_base32}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        uri_component(account)
    )
}

fn uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A recovery code as shown (`abcd-efgh-jk`, from random bytes): 10 base32 characters, 50 bits.
pub fn recovery_code_from(bytes: &[u8; 7]) -> String {
    let text = base32_encode(bytes).to_lowercase();
    format!("{}-{}-{}", &text[..4], &text[4..8], &text[8..10])
}

/// A typed recovery code in the form it is stored and compared in (case, spaces and dashes
/// ignored).
pub fn normalize_recovery_code(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        // Appendix B gives 8 digits; 6 digits are the same number modulo 10^6.
        for (secs, eight) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_at(RFC_SECRET, step_of(secs * 1000)), eight % 1_000_000, "at {secs}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("mzxw 6ytb oi==").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZ1"), None);
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn a_code_works_near_its_time_and_only_once() {
        let now = 1_700_000_000_000;
        let step = step_of(now);
        let code = format!("{:06}", code_at(RFC_SECRET, step));
        assert_eq!(verify(RFC_SECRET, &code, now, 0), Some(step));
        // Typed a little late (the next step) or with spaces.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(RFC_SECRET, &spaced, now + 30_000, 0), Some(step));
        // Spent: the same step is refused after it was used.
        assert_eq!(verify(RFC_SECRET, &code, now, step), None);
        // Too old.
        assert_eq!(verify(RFC_SECRET, &code, now + 90_000, 0), None);
        // Not six digits.
        assert_eq!(verify(RFC_SECRET, "12345", now, 0), None);
        assert_eq!(verify(RFC_SECRET, "12345a", now, 0), None);
        let wrong = format!("{:06}", (code_at(RFC_SECRET, step) + 1) % 1_000_000);
        let neighbours: Vec<u32> = (step - 1..=step + 1).map(|s| code_at(RFC_SECRET, s)).collect();
        if !neighbours.contains(&wrong.parse().unwrap_or(0)) {
            assert_eq!(verify(RFC_SECRET, &wrong, now, 0), None);
        }
    }

    #[test]
    fn the_enrolment_address_names_the_issuer_and_account() {
        let uri = otpauth_uri("Atende (Demo)", "ana@demo.local", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Atende%20%28Demo%29:ana@demo.local?secret=JBSWY3DPEHPK3PXP&issuer=Atende%20%28Demo%29&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_typed_loosely() {
        let code = recovery_code_from(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(code.len(), 12);
        assert_eq!(normalize_recovery_code(&code.to_uppercase().replace('-', " ")), code.replace('-', ""));
    }
}
