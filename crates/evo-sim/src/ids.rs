//! Identifiers, QR strings, JIDs and clocks in the formats Evolution and WhatsApp Web use.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;

/// A 1×1 PNG: the QR image Evolution renders is never decoded by Atende (it draws its own
/// from `code`), so any valid PNG data URL is enough.
pub(crate) const QR_PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Evolution's profile name for the simulated phone (the business's WhatsApp display name).
pub(crate) const PROFILE_NAME: &str = "Empresa Simulada";

/// The number that WhatsApp reports as not registered: sends to it are refused like
/// `exists: false` numbers are.
pub(crate) const NOT_ON_WHATSAPP: &str = "5500000000000";

/// Unix seconds now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Standard base64 with padding.
pub(crate) fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard base64 (padding optional, surrounding whitespace ignored).
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if s.is_empty() {
        return None;
    }
    STANDARD
        .decode(&s)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok())
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| rng.gen()).collect()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A version-4 UUID in its usual lowercase text form (Evolution's `instanceId`).
pub(crate) fn uuid() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// An instance token as Evolution generates one when none is given: an uppercase UUID.
pub(crate) fn token() -> String {
    uuid().to_uppercase()
}

/// The id Baileys gives messages sent through the API (`3EB0` + uppercase hex).
pub(crate) fn api_message_id() -> String {
    format!("3EB0{}", hex_upper(&random_bytes(10)))
}

/// The id a phone gives the messages it sends (32 uppercase hex digits, as Android does).
pub(crate) fn phone_message_id() -> String {
    hex_upper(&random_bytes(16))
}

/// The per-session part of a WhatsApp Web QR string: the noise key, identity key and ADV
/// secret (they stay while the QR rotates; only the reference before them changes).
pub(crate) fn qr_keys() -> String {
    format!(",{},{},{}", b64(&random_bytes(32)), b64(&random_bytes(32)), b64(&random_bytes(32)))
}

/// A QR string like WhatsApp Web shows: `2@<reference>,<noise key>,<identity key>,<adv secret>`,
/// with a fresh reference each time.
pub(crate) fn qr_code(keys: &str) -> String {
    format!("2@{}{keys}", b64(&random_bytes(48)))
}

/// An 8-character pairing code (letters and digits WhatsApp uses for "link with phone number").
pub(crate) fn pairing_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ123456789";
    let mut rng = rand::thread_rng();
    (0..8).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// The digits of a number or JID (`5511…@s.whatsapp.net` → `5511…`).
pub(crate) fn digits(number: &str) -> String {
    let user = number.split('@').next().unwrap_or_default();
    // A device suffix (`5511…:12@s.whatsapp.net`) is not part of the number.
    let user = user.split(':').next().unwrap_or_default();
    user.chars().filter(char::is_ascii_digit).collect()
}

/// The user JID of a number.
pub(crate) fn jid(digits: &str) -> String {
    format!("{digits}@s.whatsapp.net")
}

/// Now as ISO 8601 in Brasília time (`2026-12-03T09:15:02.123-03:00`), as Evolution's
/// `date_time` is rendered with the server's default timezone.
pub(crate) fn date_time_brt() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format_brt(ms)
}

/// `ms` since the Unix epoch, shifted to UTC−3 and formatted.
pub(crate) fn format_brt(ms: u128) -> String {
    let local_ms = i128::try_from(ms).unwrap_or(i128::MAX) - 3 * 3600 * 1000;
    let secs = local_ms.div_euclid(1000) as i64;
    let millis = local_ms.rem_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}-03:00", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brt_dates() {
        assert_eq!(format_brt(0), "1969-12-31T21:00:00.000-03:00");
        // 2024-02-29T12:34:56.789Z
        assert_eq!(format_brt(1_709_210_096_789), "2024-02-29T09:34:56.789-03:00");
    }

    #[test]
    fn ids_have_their_shapes() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(api_message_id().starts_with("3EB0"));
        let keys = qr_keys();
        let (a, b) = (qr_code(&keys), qr_code(&keys));
        assert!(a.starts_with("2@") && a != b && a.ends_with(&keys));
        assert_eq!(a.split(',').count(), 4);
        assert_eq!(pairing_code().len(), 8);
        assert_eq!(digits("+55 (11) 99999-0000"), "5511999990000");
        assert_eq!(digits("5511999990000:3@s.whatsapp.net"), "5511999990000");
        assert_eq!(b64_decode(&b64(b"hello")), Some(b"hello".to_vec()));
        assert_eq!(b64_decode("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(b64_decode("not base64!"), None);
    }
}
