//! Reading and writing the few cookies Atende uses (session, CSRF, language).

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

pub const SESSION: &str = "atende_session";
pub const CSRF: &str = "atende_csrf";
/// Names the login waiting for its second step (minutes long).
pub const LOGIN_STEP: &str = "atende_login_step";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, `Secure` behind TLS.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; atende_session=xyz; b=2".parse().unwrap());
        assert_eq!(get(&h, SESSION).as_deref(), Some("xyz"));
        assert_eq!(get(&h, CSRF), None);
        assert!(set(SESSION, "v", 60, true).contains("HttpOnly; SameSite=Lax; Max-Age=60; Secure"));
    }
}
