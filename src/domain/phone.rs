//! Phone numbers: normalisation to E.164 and the key that matches a Brazilian mobile number with
//! or without its ninth digit (WhatsApp still reports many BR numbers in the old 8-digit form),
//! and the spaced form people read (`+55 11 91234-5678`).

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

/// Normalised digits as people read them: Brazilian numbers as `+55 11 91234-5678` (mobiles)
/// and `+55 11 3456-7890` (landlines); North American ones as `+1 555 123 4567`; others as the
/// country code and the rest in groups of three (the last of up to four). Anything that is not
/// only digits (a WhatsApp user id, an old free-text value) is shown as it is.
pub fn display(digits: &str) -> String {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.to_string();
    }
    if let Some(rest) = digits.strip_prefix("55").filter(|r| r.len() == 10 || r.len() == 11) {
        let (ddd, number) = rest.split_at(2);
        let (head, tail) = number.split_at(number.len() - 4);
        return format!("+55 {ddd} {head}-{tail}");
    }
    if let Some(rest) = digits.strip_prefix('1').filter(|r| r.len() == 10) {
        return format!("+1 {} {} {}", &rest[..3], &rest[3..6], &rest[6..]);
    }
    let cc = country_code_len(digits).min(digits.len());
    let (code, rest) = digits.split_at(cc);
    let mut groups = Vec::new();
    let mut left = rest;
    while left.len() > 4 {
        let (g, r) = left.split_at(if left.len() == 8 { 4 } else { 3 });
        groups.push(g);
        left = r;
    }
    if !left.is_empty() {
        groups.push(left);
    }
    format!("+{code} {}", groups.join(" ")).trim_end().to_string()
}

/// How many leading digits are the country code (ITU E.164 assignments: 1 and 7 alone, the
/// listed two-digit codes, three digits for everything else).
fn country_code_len(digits: &str) -> usize {
    const TWO: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO.iter().any(|c| digits.starts_with(c)) {
        2
    } else {
        3
    }
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

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(display("5511912345678"), "+55 11 91234-5678");
        assert_eq!(display("551134567890"), "+55 11 3456-7890");
        assert_eq!(display("15551234567"), "+1 555 123 4567");
        assert_eq!(display("351912345678"), "+351 912 345 678");
        assert_eq!(display("447911123456"), "+44 791 112 3456");
        assert_eq!(display("4930123456"), "+49 3012 3456");
        assert_eq!(display("79161234567"), "+7 916 123 4567");
        assert_eq!(display(""), "");
        assert_eq!(display("wa:abc123"), "wa:abc123", "a user id is not a phone");
    }
}
