//! Keyword rules: company-level triggers checked on every customer message of an open ticket,
//! before the chatbot's step. A rule names words (accents and case ignored), how they match —
//! a whole word, anywhere in the text, or the whole message — and what a match does: hand the
//! ticket to people (optionally into a department), raise its priority, add a tag, reply.
//! [`evaluate`] gathers what every matching rule asks; the automation job applies it.

use super::contacts::{fold, keyword_form, parse_keywords};
use super::inbox::Priority;

/// How a rule's words are found in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMode {
    /// A whole word or phrase: "cancelar" in "quero cancelar já", not in "descancelar".
    Word,
    /// Anywhere, inside other words too: "reclam" in "reclamação".
    Contains,
    /// The whole message (surrounding spaces and punctuation ignored).
    Exact,
}

impl MatchMode {
    pub const ALL: [MatchMode; 3] = [MatchMode::Word, MatchMode::Contains, MatchMode::Exact];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Word => "word",
            MatchMode::Contains => "contains",
            MatchMode::Exact => "exact",
        }
    }

    pub fn parse(s: &str) -> Option<MatchMode> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One rule as stored. `words` is the admin's text (comma-, semicolon- or line-separated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordRule {
    /// 0 for a rule not stored yet (and for the company's urgent words, see [`urgent_words_rule`]).
    pub id: i64,
    pub words: String,
    pub mode: MatchMode,
    /// Hand a ticket that is with the chatbot to people.
    pub handoff: bool,
    /// Where the hand-off goes; None: the ticket's own department (or none).
    pub department_id: Option<i64>,
    /// Raise the ticket's priority to this (never lowered).
    pub priority: Option<Priority>,
    /// A tag to add to the ticket (empty: none).
    pub tag: String,
    /// A text to answer with, once per ticket (empty: none).
    pub reply: String,
}

/// The most rules a company keeps.
pub const MAX_RULES: usize = 50;
/// The longest reply.
pub const MAX_REPLY_CHARS: usize = 4096;
/// The longest tag name (as tags are elsewhere).
pub const MAX_TAG_CHARS: usize = 40;

/// Why a rule was refused: a stable code and what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

impl KeywordRule {
    /// Checks the rule alone (the departments it names are checked against the store by the
    /// caller).
    pub fn check(&self) -> Result<(), Refusal> {
        let words = parse_keywords(&self.words).map_err(|m| refuse("invalid_keywords", m))?;
        if words.is_empty() {
            return Err(refuse("invalid_keywords", "a rule needs at least one word"));
        }
        if !self.handoff && self.priority.is_none() && self.tag.trim().is_empty() && self.reply.trim().is_empty() {
            return Err(refuse("invalid_keyword_rule", "a rule must hand off, set a priority, add a tag or reply"));
        }
        if self.department_id.is_some() && !self.handoff {
            return Err(refuse("invalid_keyword_rule", "a department is where a hand-off goes: tick the hand-off"));
        }
        if self.tag.trim().chars().count() > MAX_TAG_CHARS {
            return Err(refuse("invalid_keyword_rule", "a tag has at most 40 characters"));
        }
        if self.reply.chars().count() > MAX_REPLY_CHARS {
            return Err(refuse("invalid_message", "a message has at most 4096 characters"));
        }
        Ok(())
    }

    /// Whether the customer's text sets the rule off.
    pub fn matches(&self, text: &str) -> bool {
        let words = parse_keywords(&self.words).unwrap_or_default();
        matches(self.mode, &words, text)
    }
}

/// Whether `text` holds one of `words` (already in [`keyword_form`], as [`parse_keywords`]
/// returns them) the way `mode` says.
pub fn matches(mode: MatchMode, words: &[String], text: &str) -> bool {
    let words = || words.iter().filter(|w| !w.is_empty());
    match mode {
        MatchMode::Word => super::flow::mentions_any(text, &words().cloned().collect::<Vec<_>>()),
        MatchMode::Contains => {
            let folded = fold(text).to_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
            words().any(|w| folded.contains(w.as_str()))
        }
        MatchMode::Exact => {
            let whole = keyword_form(text);
            words().any(|w| whole == *w)
        }
    }
}

/// The company's urgent words (the older, single setting) read as one rule: whole words that
/// hand the ticket to people with high priority.
pub fn urgent_words_rule(words: &str) -> Option<KeywordRule> {
    let parsed = parse_keywords(words).ok()?;
    (!parsed.is_empty()).then(|| KeywordRule {
        id: 0,
        words: words.to_string(),
        mode: MatchMode::Word,
        handoff: true,
        department_id: None,
        priority: Some(Priority::High),
        tag: String::new(),
        reply: String::new(),
    })
}

/// What the rules a message sets off ask for, together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Some: hand the ticket to people, into this department when Some(Some(d)) (the first
    /// matching rule that names one).
    pub handoff: Option<Option<i64>>,
    /// The highest priority asked.
    pub priority: Option<Priority>,
    /// Tags to add, each once.
    pub tags: Vec<String>,
    /// Replies with the rule each comes from (a rule replies once per ticket).
    pub replies: Vec<(i64, String)>,
}

impl Outcome {
    pub fn is_empty(&self) -> bool {
        *self == Outcome::default()
    }
}

/// Gathers what the rules matching `text` ask, in the rules' order.
pub fn evaluate(rules: &[KeywordRule], text: &str) -> Outcome {
    let mut out = Outcome::default();
    if text.trim().is_empty() {
        return out;
    }
    for rule in rules.iter().filter(|r| r.matches(text)) {
        if rule.handoff {
            out.handoff = match out.handoff {
                None | Some(None) => Some(rule.department_id),
                kept => kept,
            };
        }
        out.priority = out.priority.max(rule.priority);
        let tag = rule.tag.trim();
        if !tag.is_empty() && !out.tags.iter().any(|t| super::contacts::tag_key(t) == super::contacts::tag_key(tag)) {
            out.tags.push(tag.to_string());
        }
        let reply = rule.reply.trim();
        if !reply.is_empty() {
            out.replies.push((rule.id, reply.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(words: &str, mode: MatchMode) -> KeywordRule {
        KeywordRule {
            id: 1,
            words: words.into(),
            mode,
            handoff: true,
            department_id: None,
            priority: Some(Priority::High),
            tag: String::new(),
            reply: String::new(),
        }
    }

    #[test]
    fn the_three_modes_ignore_accents_and_case() {
        let word = rule("reclamação, procon, cancelar", MatchMode::Word);
        assert!(word.matches("quero fazer uma reclamação"));
        assert!(word.matches("QUERO FAZER UMA RECLAMACAO!"));
        assert!(word.matches("Vou no PROCON."));
        assert!(!word.matches("descancelar a assinatura"), "a word inside another word");
        assert!(!word.matches("reclamações"), "another word");
        let contains = rule("reclam", MatchMode::Contains);
        assert!(contains.matches("Fiz três RECLAMAÇÕES") && contains.matches("reclamar"));
        assert!(!contains.matches("recla mar"));
        let phrase = rule("falar com atendente", MatchMode::Contains);
        assert!(phrase.matches("quero   FALAR com  atendente agora"));
        let exact = rule("cancelar", MatchMode::Exact);
        assert!(exact.matches("  Cancelar! ") && exact.matches("CANCELAR"));
        assert!(!exact.matches("quero cancelar"));
        assert!(!word.matches("") && !contains.matches("   "));
    }

    #[test]
    fn rules_are_checked_and_modes_round_trip() {
        for m in MatchMode::ALL {
            assert_eq!(MatchMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(MatchMode::parse("regex"), None);
        assert!(rule("procon", MatchMode::Word).check().is_ok());
        assert_eq!(rule(" , ", MatchMode::Word).check().unwrap_err().code, "invalid_keywords");
        let nothing = KeywordRule { handoff: false, priority: None, ..rule("oi", MatchMode::Exact) };
        assert_eq!(nothing.check().unwrap_err().code, "invalid_keyword_rule");
        let reply = KeywordRule { reply: "Olá!".into(), ..nothing.clone() };
        assert!(reply.check().is_ok());
        let nowhere = KeywordRule { department_id: Some(3), ..reply.clone() };
        assert_eq!(nowhere.check().unwrap_err().code, "invalid_keyword_rule");
        let long = KeywordRule { reply: "x".repeat(4097), ..reply.clone() };
        assert_eq!(long.check().unwrap_err().code, "invalid_message");
        let tag = KeywordRule { tag: "t".repeat(41), ..reply };
        assert_eq!(tag.check().unwrap_err().code, "invalid_keyword_rule");
    }

    #[test]
    fn matching_rules_add_up() {
        let complaint =
            KeywordRule { department_id: Some(7), tag: "Reclamação".into(), ..rule("procon", MatchMode::Word) };
        let urgent = KeywordRule {
            id: 2,
            handoff: false,
            priority: Some(Priority::Urgent),
            tag: "reclamacao".into(),
            reply: "Já vamos atender.".into(),
            ..rule("advogado", MatchMode::Contains)
        };
        let other = KeywordRule { id: 3, reply: "Nunca".into(), ..rule("boleto", MatchMode::Exact) };
        let rules = [complaint, urgent, other];
        let out = evaluate(&rules, "Vou chamar meu advogado e o Procon");
        assert_eq!(out.handoff, Some(Some(7)));
        assert_eq!(out.priority, Some(Priority::Urgent));
        assert_eq!(out.tags, ["Reclamação"], "one tag, whatever its accents");
        assert_eq!(out.replies, [(2, "Já vamos atender.".to_string())]);
        assert!(evaluate(&rules, "bom dia").is_empty());
        assert!(evaluate(&rules, "").is_empty());
        let urgent_words = urgent_words_rule("reclamação, procon").unwrap();
        assert!(urgent_words.matches("uma reclamação") && urgent_words.handoff);
        assert_eq!(urgent_words_rule(" "), None);
    }
}
