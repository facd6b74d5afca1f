//! Phone numbers: normalisation to E.164 and the key that matches a Brazilian mobile number with
//! or without its ninth digit (WhatsApp still reports many BR numbers in the old 8-digit form).

/// Digits of a number in international form (no `+`), or `None` when it cannot be one.
/// `default_country` (e.g. `"55"`) is prefixed to national numbers of 10–11 digits.
pub fn normalize(input: &str, default_country: Option<&str>) -> Option<String> {
    let trimmed = input.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with("00") {
        digits = digits.trim_start_matches("00").to_string();
    }
    if !international {
        if let Some(cc) = default_country {
            // A Brazilian national number: DDD (2 digits) + 8 or 9 digits, maybe with a leading 0.
            let national = digits.trim_start_matches('0');
            if (10..=11).contains(&national.len()) && !digits.starts_with(cc) {
                digits = format!("{cc}{national}");
            }
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    Some(digits)
}

/// E.164 form (`+5511987654321`) of normalised digits.
pub fn e164(digits: &str) -> String {
    // A contact known only by its WhatsApp user id has no phone: no `+` alone either.
    if digits.is_empty() {
        return String::new();
    }
    format!("+{digits}")
}

/// The key two spellings of one number share: Brazilian mobiles lose the ninth digit
/// (`55 DD 9XXXX-XXXX` and `55 DD XXXX-XXXX` are the same phone).
pub fn match_key(digits: &str) -> String {
    let b = digits.as_bytes();
    if b.len() == 13 && digits.starts_with("55") && b[4] == b'9' && matches!(b[5], b'6'..=b'9') {
        let mut key = String::with_capacity(12);
        key.push_str(&digits[..4]);
        key.push_str(&digits[5..]);
        return key;
    }
    digits.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_common_spellings() {
        assert_eq!(normalize("+55 (11) 98765-4321", None).as_deref(), Some("5511987654321"));
        assert_eq!(normalize("0055 11 98765 4321", None).as_deref(), Some("5511987654321"));
        assert_eq!(normalize("(11) 98765-4321", Some("55")).as_deref(), Some("5511987654321"));
        assert_eq!(normalize("011 98765-4321", Some("55")).as_deref(), Some("5511987654321"));
        assert_eq!(normalize("5511987654321", Some("55")).as_deref(), Some("5511987654321"));
        assert_eq!(normalize("12345", None), None);
        assert_eq!(normalize("not a phone", None), None);
    }

    #[test]
    fn brazilian_mobiles_match_with_and_without_the_ninth_digit() {
        assert_eq!(match_key("5511987654321"), match_key("551187654321"));
        assert_eq!(match_key("551187654321"), "551187654321");
        // Landlines and other countries are left alone.
        assert_eq!(match_key("551132654321"), "551132654321");
        assert_eq!(match_key("15551234567"), "15551234567");
        // A 13-digit BR number whose fifth digit is 9 but is not a mobile pattern stays whole.
        assert_eq!(match_key("5511912345678").len(), 13);
    }
}
