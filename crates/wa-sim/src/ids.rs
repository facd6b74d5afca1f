//! Identifiers and clocks in Meta's formats.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::distributions::Alphanumeric;
use rand::Rng;

/// Unix seconds now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A message id shaped like Meta's: `wamid.HBg…` followed by letters and digits (no `/` or `+`,
/// so it is safe in paths and query strings).
pub(crate) fn wamid() -> String {
    format!("wamid.HBgN{}", alnum(48))
}

/// A numeric id like Meta's media and conversation ids (16 digits, no leading zero).
pub(crate) fn numeric_id() -> String {
    let n: u64 = rand::thread_rng().gen_range(1_000_000_000_000_000..10_000_000_000_000_000);
    n.to_string()
}

/// Random letters and digits (download tokens, fbtrace ids).
pub(crate) fn alnum(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Standard base64 with padding.
pub(crate) fn base64_std(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let idx = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, &v) in idx.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[v as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A business-scoped user id shaped like Meta's (`BR.1502576394655843`: the user's ISO country,
/// a dot, digits), the same for the same `seed` (a phone or a username) and business.
pub(crate) fn user_id(business: &str, country: &str, seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{business}\n{seed}").as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    // Fifteen to nineteen digits, as in Meta's examples; never a leading zero.
    let n = 100_000_000_000_000 + u64::from_be_bytes(n) % 9_000_000_000_000_000_000;
    format!("{country}.{n}")
}

/// The ISO country of a phone number by its calling code (the few the simulator's customers
/// use; others are said to be US).
pub(crate) fn country_of(phone: &str) -> &'static str {
    const CODES: &[(&str, &str)] = &[
        ("351", "PT"),
        ("55", "BR"),
        ("54", "AR"),
        ("52", "MX"),
        ("57", "CO"),
        ("56", "CL"),
        ("44", "GB"),
        ("34", "ES"),
        ("49", "DE"),
        ("1", "US"),
    ];
    CODES.iter().find(|(code, _)| phone.starts_with(code)).map(|(_, c)| *c).unwrap_or("US")
}

/// Whether `s` is shaped like a business-scoped user id: a two-letter country, a dot, an
/// optional `ENT.` (a parent id), then 1 to 128 letters and digits.
pub(crate) fn is_user_id(s: &str) -> bool {
    let Some((country, rest)) = s.split_once('.') else { return false };
    let rest = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=128).contains(&rest.len())
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Keeps the digits of a phone number (`+55 (11) 91234-5678` → `5511912345678`).
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64_std(b""), "");
        assert_eq!(base64_std(b"f"), "Zg==");
        assert_eq!(base64_std(b"fo"), "Zm8=");
        assert_eq!(base64_std(b"foo"), "Zm9v");
        assert_eq!(base64_std(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn ids_have_meta_shapes() {
        assert!(wamid().starts_with("wamid."));
        assert_eq!(numeric_id().len(), 16);
        assert_eq!(digits("+55 (11) 91234-5678"), "5511912345678");
        let id = user_id("W", country_of("5511912345678"), "5511912345678");
        assert!(id.starts_with("BR.") && is_user_id(&id), "{id}");
        assert_eq!(id, user_id("W", "BR", "5511912345678"), "stable for a person and business");
        assert_ne!(id, user_id("W2", "BR", "5511912345678"), "scoped to the business");
        assert!(is_user_id("US.ENT.11815799212886844830"));
        for bad in ["5511912345678", "br.123", "BR.", "BRA.1", "BR.12-3"] {
            assert!(!is_user_id(bad), "{bad}");
        }
    }
}
