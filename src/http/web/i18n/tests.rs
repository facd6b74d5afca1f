//! Texts checked: the default language, unique keys, and every action error code translated.
use super::*;

#[test]
fn portuguese_is_the_default_and_english_on_request() {
    assert_eq!(Lang::from_accept_language(""), Lang::PtBr);
    assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
    assert_eq!(Lang::from_accept_language("de-DE,pt-BR;q=0.8,en;q=0.5"), Lang::PtBr);
    assert_eq!(Lang::from_accept_language("fr"), Lang::PtBr);
    assert_eq!(Lang::PtBr.t("nav.home"), "Início");
    assert_eq!(Lang::En.t("nav.home"), "Home");
}

#[test]
fn every_key_is_unique() {
    let mut keys: Vec<_> = all().map(|(k, _, _)| *k).collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(before, keys.len());
}

/// The stable codes the actions (and pages) raise, read from their source:
/// `invalid("code"` and `code: "code"`.
fn raised_codes() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    // The actions, and the pages that raise codes of their own, with
    // their directory modules.
    let mut dirs = vec![root.join("actions"), root.join("http/web")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut codes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in ["invalid(", "code: \""] {
            for (at, _) in text.match_indices(marker) {
                let rest = text[at + marker.len()..].trim_start();
                let rest = rest.strip_prefix('"').unwrap_or(rest);
                let code: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                let whole = rest[code.len()..].starts_with('"');
                if whole && code.contains('_') {
                    codes.push(code);
                }
            }
        }
    }
    use crate::domain::inbox::RuleError;
    codes.extend(
        [RuleError::TicketClosed, RuleError::NotClosed, RuleError::AlreadyAssigned].map(|e| e.code().to_string()),
    );
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_action_error_code_reads_in_both_languages() {
    let codes = raised_codes();
    assert!(codes.len() > 50, "{codes:?}");
    let missing: Vec<_> =
        codes.iter().filter(|c| !all().any(|(k, _, _)| k.strip_prefix("err.") == Some(c.as_str()))).collect();
    assert!(missing.is_empty(), "add pt-BR and English texts for err.{missing:?}");
}
