//! Texts with `{{variable}}` placeholders, filled for a message, a URL or a JSON body.

/// Whether two texts are the same words, case, accents and spacing ignored.
pub(super) fn same_words(a: &str, b: &str) -> bool {
    let norm = |s: &str| crate::domain::contacts::fold(s).split_whitespace().collect::<Vec<_>>().join(" ");
    norm(a) == norm(b)
}

/// Replaces each `{{key}}` whose value `lookup` knows (keys trimmed and lower-cased); the
/// others stay as written.
pub(super) fn fill_known(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        match lookup(&after[..end].trim().to_lowercase()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Replaces every `{{key}}` with its escaped value (unknown: empty).
pub(super) fn fill_with_escape(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    escape: fn(&str) -> String,
) -> String {
    crate::domain::contacts::fill_with(template, |k| lookup(k).map(|v| std::borrow::Cow::Owned(escape(&v))))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The inside of a JSON string holding `s` (no quotes).
pub(super) fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}
