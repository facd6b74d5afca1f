//! Chat interno, the pure parts: the key that makes a direct conversation unique per pair, the
//! limits of names and messages, and how a message's text reads — plain text, `@name` mentions
//! of members and `#YYYYMMDD-NNNNNN` ticket protocols.

use crate::domain::UserId;

/// The longest message (characters).
pub const BODY_MAX: usize = 4000;
/// The longest group name (characters).
pub const NAME_MAX: usize = 80;
/// The most members a group takes.
pub const MEMBERS_MAX: usize = 200;
/// The composer says "digitando…" at most this often; a reader shows it this long after a beat.
pub const TYPING_BEAT_MS: i64 = 3_000;
pub const TYPING_SHOWN_MS: i64 = 6_000;
/// Ticket links looked up per page of messages (the rest stay text).
pub const LINKS_MAX: usize = 50;

/// `direct` (two people) or `group`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Direct,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "direct" => Some(Kind::Direct),
            "group" => Some(Kind::Group),
            _ => None,
        }
    }
}

/// The unique key of the direct conversation between two people, whichever of them starts it.
pub fn direct_key(a: UserId, b: UserId) -> String {
    let (lo, hi) = if a.0 <= b.0 { (a.0, b.0) } else { (b.0, a.0) };
    format!("{lo}:{hi}")
}

/// A group name: trimmed, 1 to [`NAME_MAX`] characters, no control characters.
pub fn clean_name(name: &str) -> Option<String> {
    let name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    let n = name.chars().count();
    (n > 0 && n <= NAME_MAX).then_some(name)
}

/// A message's text: trimmed at the ends, NUL removed; `None` when too long.
pub fn clean_body(body: &str) -> Option<String> {
    let body: String = body.trim().chars().filter(|c| *c != '\0').collect();
    (body.chars().count() <= BODY_MAX).then_some(body)
}

/// A piece of a message's text, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `@Name` of a member (the text as written, the member).
    Mention(String, UserId),
    /// `#20261202-000123`: the protocol without `#`.
    Protocol(String),
}

/// Case- and accent-insensitive form for matching names.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// The member an `@` at the start of `rest` names, and how many characters it takes: the
/// member's full name, or their first name when no other member shares it; the longest match
/// wins, and a name must end where a word ends.
fn mention_at(rest: &str, members: &[(UserId, String)]) -> Option<(usize, UserId)> {
    let folded_rest: Vec<char> = fold(rest).chars().collect();
    let rest_chars: Vec<char> = rest.chars().collect();
    // `fold` keeps one character per character, so positions match.
    if folded_rest.len() != rest_chars.len() {
        return None;
    }
    let first = |name: &str| name.split_whitespace().next().map(fold).unwrap_or_default();
    let mut best: Option<(usize, UserId)> = None;
    for (id, name) in members {
        let full = fold(name.trim());
        let given = first(name);
        let given_unique = members.iter().filter(|(_, other)| first(other) == given).count() == 1;
        let candidates = [Some(full), given_unique.then_some(given)];
        for candidate in candidates.into_iter().flatten() {
            let c: Vec<char> = candidate.chars().collect();
            if c.is_empty() || c.len() > folded_rest.len() || folded_rest[..c.len()] != c[..] {
                continue;
            }
            if folded_rest.get(c.len()).is_some_and(|next| next.is_alphanumeric()) {
                continue;
            }
            if best.is_none_or(|(len, _)| c.len() > len) {
                best = Some((c.len(), *id));
            }
        }
    }
    best
}

/// A protocol `YYYYMMDD-NNNNNN` (six digits or more) at the start of `rest`, not followed by a
/// digit: its length in bytes (all ASCII).
fn protocol_at(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.len() < 15 || digits(0) != 8 || b[8] != b'-' {
        return None;
    }
    let seq = digits(9);
    (6..=9).contains(&seq).then_some(9 + seq)
}

/// Splits a message's text into text, mentions of `members` and ticket protocols.
pub fn pieces(text: &str, members: &[(UserId, String)]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let at_word_start = prev.is_none_or(|p| !p.is_alphanumeric());
        if c == '@' && at_word_start {
            if let Some((chars, id)) = mention_at(&rest[1..], members) {
                let end = 1 + rest[1..].char_indices().nth(chars).map_or(rest.len() - 1, |(i, _)| i);
                if !plain.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut plain)));
                }
                out.push(Piece::Mention(rest[..end].to_string(), id));
                prev = rest[..end].chars().last();
                rest = &rest[end..];
                continue;
            }
        }
        if c == '#' && at_word_start {
            if let Some(len) = protocol_at(&rest[1..]) {
                if !plain.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut plain)));
                }
                out.push(Piece::Protocol(rest[1..=len].to_string()));
                prev = Some('0');
                rest = &rest[1 + len..];
                continue;
            }
        }
        plain.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    if !plain.is_empty() {
        out.push(Piece::Text(plain));
    }
    out
}

/// The members a text mentions (each once, in order of first mention).
pub fn mentioned(text: &str, members: &[(UserId, String)]) -> Vec<UserId> {
    let mut out = Vec::new();
    for p in pieces(text, members) {
        if let Piece::Mention(_, id) = p {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// The protocols a text names (each once).
pub fn protocols(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in pieces(text, &[]) {
        if let Piece::Protocol(p) = p {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<(UserId, String)> {
        vec![(UserId(1), "Ana Souza".into()), (UserId(2), "Ana Lima".into()), (UserId(3), "Bruno Araújo".into())]
    }

    #[test]
    fn the_direct_key_is_the_same_either_way() {
        assert_eq!(direct_key(UserId(7), UserId(3)), direct_key(UserId(3), UserId(7)));
        assert_eq!(direct_key(UserId(3), UserId(7)), "3:7");
    }

    #[test]
    fn mentions_take_full_names_and_unique_first_names() {
        let m = members();
        assert_eq!(mentioned("oi @bruno, tudo bem?", &m), vec![UserId(3)]);
        assert_eq!(mentioned("@Ana Lima e @ana souza", &m), vec![UserId(2), UserId(1)]);
        // "Ana" alone is ambiguous; an e-mail is not a mention; neither is a longer word.
        assert!(mentioned("@Ana veja", &m).is_empty());
        assert!(mentioned("bruno@empresa.com", &m).is_empty());
        assert!(mentioned("@brunoo", &m).is_empty());
        assert_eq!(mentioned("@bruno araujo!", &m), vec![UserId(3)]);
    }

    #[test]
    fn protocols_are_found_only_whole() {
        assert_eq!(protocols("veja #20261202-000123 e #20261202-0001"), vec!["20261202-000123".to_string()]);
        assert!(protocols("x#20261202-000123").is_empty());
        assert!(protocols("#20261202-0001234567").is_empty());
        let p = pieces("a #20261202-000123.", &[]);
        assert_eq!(
            p,
            vec![Piece::Text("a ".into()), Piece::Protocol("20261202-000123".into()), Piece::Text(".".into())]
        );
    }

    #[test]
    fn pieces_keep_every_character() {
        let m = members();
        let text = "Olá @Bruno Araújo, ver #20261202-000123 ✓ @ninguém";
        let back: String = pieces(text, &m)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Mention(t, _) => t,
                Piece::Protocol(p) => format!("#{p}"),
            })
            .collect();
        assert_eq!(back, text);
    }

    #[test]
    fn names_and_bodies_are_bounded() {
        assert_eq!(clean_name("  Equipe  ").as_deref(), Some("Equipe"));
        assert!(clean_name("   ").is_none());
        assert!(clean_name(&"x".repeat(NAME_MAX + 1)).is_none());
        assert!(clean_body(&"x".repeat(BODY_MAX + 1)).is_none());
        assert_eq!(clean_body(" a\0b ").as_deref(), Some("ab"));
    }
}
