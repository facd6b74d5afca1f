//! Validation of names people type: tenant slugs, e-mail addresses, passwords.

/// Slugs are what operators type in commands and URLs: 2–40 of `a-z`, `0-9`, `-`.
pub fn slug(s: &str) -> Result<String, &'static str> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() < 2 || s.len() > 40 {
        return Err("slug must be 2 to 40 characters");
    }
    if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err("slug may contain only a-z, 0-9 and -");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("slug may not start or end with -");
    }
    Ok(s)
}

/// A light e-mail check: one `@`, something on both sides, a dot in the domain, lower-cased.
pub fn email(s: &str) -> Result<String, &'static str> {
    let s = s.trim().to_lowercase();
    let Some((local, domain)) = s.split_once('@') else {
        return Err("invalid e-mail address");
    };
    if local.is_empty() || domain.len() < 3 || !domain.contains('.') || domain.contains('@') || s.len() > 254 {
        return Err("invalid e-mail address");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("invalid e-mail address");
    }
    Ok(s)
}

/// Passwords: at least 10 characters, at most 256 (Argon2 input stays bounded).
pub fn password(s: &str) -> Result<(), &'static str> {
    let n = s.chars().count();
    if n < 10 {
        return Err("password must have at least 10 characters");
    }
    if n > 256 {
        return Err("password must have at most 256 characters");
    }
    Ok(())
}

/// Display names: 1–120 characters after trimming, no control characters.
/// Longest search text accepted anywhere: longer ones are a mistake or an attack (SQLite's LIKE
/// refuses very long patterns as "too complex").
pub const SEARCH_MAX_CHARS: usize = 200;

/// A search text: at most [`SEARCH_MAX_CHARS`] characters.
pub fn search(s: &str) -> Result<(), &'static str> {
    if s.chars().count() > SEARCH_MAX_CHARS {
        return Err("search text is too long (200 characters at most)");
    }
    Ok(())
}

pub fn name(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 120 || s.chars().any(char::is_control) {
        return Err("name must be 1 to 120 characters");
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug(" Demo ").unwrap(), "demo");
        assert!(slug("a").is_err());
        assert!(slug("with space").is_err());
        assert!(slug("-x").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ana@Example.COM ").unwrap(), "ana@example.com");
        assert!(email("ana").is_err());
        assert!(email("ana@x").is_err());
        assert!(email("a b@x.com").is_err());
    }

    #[test]
    fn passwords() {
        assert!(password("short").is_err());
        assert!(password("long enough!").is_ok());
    }
}
