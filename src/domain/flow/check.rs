//! Checks a question's answer by its kind and gives the form it is saved in.

use chrono::NaiveDate;

use super::{AnswerKind, MAX_VALUE_CHARS};

/// The answer as saved when it is valid for `kind`: text trimmed (1 to 1,000 characters), a
/// number as typed, an e-mail lower-cased, a phone as E.164 (`+5511987654321`), a CPF/CNPJ as
/// its digits, a date as dd/mm/aaaa.
pub fn check_answer(kind: AnswerKind, reply: &str) -> Option<String> {
    let reply = reply.trim();
    match kind {
        AnswerKind::Text => (!reply.is_empty() && reply.chars().count() <= MAX_VALUE_CHARS).then(|| reply.to_string()),
        AnswerKind::Number => is_number(reply).then(|| reply.to_string()),
        AnswerKind::Email => crate::domain::validate::email(reply).ok(),
        AnswerKind::Phone => phone(reply),
        AnswerKind::CpfCnpj => {
            if !reply.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '/' | ' ')) {
                return None;
            }
            let digits: String = reply.chars().filter(char::is_ascii_digit).collect();
            (is_cpf(&digits) || is_cnpj(&digits)).then_some(digits)
        }
        AnswerKind::Date => parse_date(reply).map(|d| d.format("%d/%m/%Y").to_string()),
    }
}

/// What a question says to an invalid answer unless the flow says otherwise.
pub fn default_invalid(kind: AnswerKind) -> &'static str {
    match kind {
        AnswerKind::Text => "Não entendi. Responda com uma mensagem de texto.",
        AnswerKind::Number => "Não entendi. Informe um número.",
        AnswerKind::Email => "Não entendi. Informe um e-mail válido, como nome@exemplo.com.",
        AnswerKind::Phone => "Não entendi. Informe um telefone com DDD, como (11) 98765-4321.",
        AnswerKind::CpfCnpj => "Não entendi. Informe um CPF ou CNPJ válido.",
        AnswerKind::Date => "Não entendi. Informe uma data no formato dd/mm/aaaa.",
    }
}

/// `12`, `-3`, `4,5`, `4.5`, `1.234,56`.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if s.len() > 30 {
        return false;
    }
    // Brazilian thousands: 1.234.567,89
    if let Some((int, frac)) = s.split_once(',') {
        let groups: Vec<&str> = int.split('.').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && digits(groups[0])
            && groups[1..].iter().all(|g| g.len() == 3 && digits(g));
        return (digits(int) || grouped) && digits(frac);
    }
    match s.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(s),
    }
}

/// A Brazilian phone with DDD (8 or 9 digits after it), or an international one written with
/// `+` or `00`; as E.164.
fn phone(s: &str) -> Option<String> {
    if !s.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '(' | ')' | '-' | '.' | ' ')) {
        return None;
    }
    let digits = crate::domain::phone::normalize(s, Some("55"))?;
    let brazilian = digits.starts_with("55") && (12..=13).contains(&digits.len()) && !digits[2..].starts_with('0');
    let international = (s.starts_with('+') || s.starts_with("00")) && !digits.starts_with("55") && digits.len() >= 10;
    (brazilian || international).then(|| crate::domain::phone::e164(&digits))
}

fn all_same(d: &[u32]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

fn to_digits(s: &str, n: usize) -> Option<Vec<u32>> {
    let d: Vec<u32> = s.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    (d.len() == n && !all_same(&d)).then_some(d)
}

/// A CPF's 11 digits with valid check digits (not all the same digit).
pub fn is_cpf(digits: &str) -> bool {
    let Some(d) = to_digits(digits, 11) else { return false };
    let check = |len: usize| {
        let sum: u32 = d[..len].iter().enumerate().map(|(i, x)| x * (len as u32 + 1 - i as u32)).sum();
        (sum * 10 % 11) % 10
    };
    check(9) == d[9] && check(10) == d[10]
}

/// A CNPJ's 14 digits with valid check digits (not all the same digit).
pub fn is_cnpj(digits: &str) -> bool {
    let Some(d) = to_digits(digits, 14) else { return false };
    let check = |len: usize| {
        let sum: u32 = d[..len]
            .iter()
            .enumerate()
            // From the right: 2, 3, … 9, then 2 again.
            .map(|(i, x)| x * ((len - 1 - i) as u32 % 8 + 2))
            .sum();
        let r = sum % 11;
        if r < 2 {
            0
        } else {
            11 - r
        }
    };
    check(12) == d[12] && check(13) == d[13]
}

/// dd/mm/aaaa (also d/m/aaaa, with `-` or `.`), a date that exists.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = s.trim().split(['/', '-', '.']).collect();
    let [d, m, y] = parts.as_slice() else { return None };
    let ok = |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !ok(d, 2) || !ok(m, 2) || y.len() != 4 || !ok(y, 4) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}
