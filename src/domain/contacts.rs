//! Contact rules without I/O: consent and how restrictive each kind is, opt-out keyword
//! detection, custom-field keys, and `{{campo}}` template variables filled from a contact.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// What an identity of a contact is: each names at most one contact per tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// A phone number in E.164 (`+5511987654321`).
    Phone,
    /// WhatsApp's id for a phone (`wa_id`, digits as Meta sends them).
    WhatsApp,
    /// WhatsApp's business-scoped user id (`BR.1502576394655843`): stable for a person and
    /// this business, and the only address of a customer who shows a username instead of a number.
    WhatsAppUser,
    /// An e-mail address.
    Email,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::WhatsApp => "whatsapp",
            IdentityKind::WhatsAppUser => "whatsapp_user",
            IdentityKind::Email => "email",
        }
    }
}

/// What a contact agreed to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Replies and service messages only (the default for anyone who wrote to us).
    Transactional,
    /// Also marketing (campaigns).
    MarketingOptIn,
    /// Nothing unsolicited: only answers inside a conversation the customer starts.
    OptedOut,
}

impl Consent {
    pub const ALL: [Consent; 3] = [Consent::Transactional, Consent::MarketingOptIn, Consent::OptedOut];

    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Transactional => "transactional",
            Consent::MarketingOptIn => "marketing_opt_in",
            Consent::OptedOut => "opted_out",
        }
    }

    /// The stored form, plus the spellings a spreadsheet is likely to use (pt-BR and English).
    pub fn parse(s: &str) -> Option<Consent> {
        let s = fold(s);
        let s = s.trim().replace(['-', ' '], "_");
        Some(match s.as_str() {
            "transactional" | "transacional" | "transacao" => Consent::Transactional,
            "marketing_opt_in" | "marketing" | "opt_in" | "optin" | "sim" | "yes" | "aceita" | "aceito" => {
                Consent::MarketingOptIn
            }
            "opted_out" | "opt_out" | "optout" | "nao" | "no" | "sair" | "descadastrado" | "recusa" => {
                Consent::OptedOut
            }
            _ => return None,
        })
    }

    /// Higher is more restrictive: merging two contacts keeps the more restrictive consent.
    fn restrictiveness(self) -> u8 {
        match self {
            Consent::MarketingOptIn => 0,
            Consent::Transactional => 1,
            Consent::OptedOut => 2,
        }
    }

    pub fn most_restrictive(a: Consent, b: Consent) -> Consent {
        if b.restrictiveness() > a.restrictiveness() {
            b
        } else {
            a
        }
    }
}

/// Where a consent came from (kept beside it with its date).
pub mod source {
    pub const API: &str = "api";
    pub const CSV: &str = "csv";
    pub const KEYWORD: &str = "keyword";
    pub const AGENT: &str = "agent";
    pub const MERGE: &str = "merge";
}

/// The opt-out keywords a tenant starts with.
pub const DEFAULT_OPT_OUT_KEYWORDS: &str = "SAIR, PARAR, STOP, CANCELAR, DESCADASTRAR";
const MAX_KEYWORDS: usize = 20;
const MAX_KEYWORD_CHARS: usize = 40;

/// Lower case without accents, so `Sáir`, `sair` and `SAIR` compare equal.
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            'ñ' | 'Ñ' => 'N',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The key two spellings of one tag share: folded ([`fold`]: case and accents ignored), trimmed,
/// inner spaces collapsed — `Promoção`, `promocao` and ` PROMOCAO ` are one tag.
pub fn tag_key(name: &str) -> String {
    fold(name).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A message or keyword reduced to what is compared: folded, trimmed, inner spaces collapsed,
/// and surrounding punctuation (`SAIR!`, `"stop".`) dropped.
pub fn keyword_form(s: &str) -> String {
    let folded = fold(s).to_uppercase();
    let trimmed = folded.trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!' | '?' | '"' | '\'' | ','));
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses the tenant's keyword setting (comma- or line-separated) into compared forms.
pub fn parse_keywords(setting: &str) -> Result<Vec<String>, &'static str> {
    let mut out: Vec<String> = Vec::new();
    for part in setting.split([',', '\n', ';']) {
        let k = keyword_form(part);
        if k.is_empty() {
            continue;
        }
        if k.chars().count() > MAX_KEYWORD_CHARS {
            return Err("each word has at most 40 characters");
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    if out.len() > MAX_KEYWORDS {
        return Err("at most 20 words");
    }
    Ok(out)
}

/// The longest message that can be a keyword: longer ones skip the comparison altogether.
pub const KEYWORD_CANDIDATE_CHARS: usize = MAX_KEYWORD_CHARS + 8;

/// Whether a message could be a keyword at all (cheap test on the ingest path before any
/// setting is read).
pub fn may_be_keyword(body: &str) -> bool {
    let t = body.trim();
    !t.is_empty() && t.len() <= KEYWORD_CANDIDATE_CHARS * 2
}

/// Whether an inbound text is exactly one of the (parsed) opt-out keywords.
pub fn is_opt_out(body: &str, keywords: &[String]) -> bool {
    may_be_keyword(body) && {
        let k = keyword_form(body);
        keywords.contains(&k)
    }
}

/// Custom-field keys are what `{{campo}}` names: 1–40 of `a-z`, `0-9`, `_`, starting with a
/// letter. A label such as `Data de Nascimento` becomes `data_de_nascimento`.
pub fn field_key(label: &str) -> Result<String, &'static str> {
    let mut key = String::new();
    for c in fold(label).trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_').to_string();
    if key.is_empty() || key.len() > 40 || !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("a field key has 1 to 40 letters, digits or _ and starts with a letter");
    }
    if RESERVED_KEYS.contains(&key.as_str()) {
        return Err("nome, telefone and email are built-in variables, not custom fields");
    }
    Ok(key)
}

/// Variables every contact has; custom fields may not shadow them.
pub const RESERVED_KEYS: [&str; 3] = ["nome", "telefone", "email"];

/// What a template may read of a contact.
pub struct TemplateContact<'a> {
    pub name: &'a str,
    /// E.164 (`+5511987654321`).
    pub phone: &'a str,
    pub email: Option<&'a str>,
    pub fields: &'a BTreeMap<String, String>,
}

/// Fills `{{nome}}`, `{{telefone}}`, `{{email}}` and `{{<custom field>}}` (spaces inside the
/// braces allowed, key case ignored). A variable the contact lacks — an unknown key, an unset
/// field, no e-mail — becomes the empty string, so a customer never sees raw braces. An
/// unclosed `{{` is kept as typed.
pub fn fill_template(template: &str, c: &TemplateContact<'_>) -> String {
    fill_with(template, |key| match key {
        "nome" => Some(Cow::Borrowed(c.name)),
        "telefone" => Some(Cow::Borrowed(c.phone)),
        "email" => c.email.map(Cow::Borrowed),
        other => c.fields.get(other).map(|v| Cow::Borrowed(v.as_str())),
    })
}

/// [`fill_template`] with any lookup; `None` becomes the empty string.
pub fn fill_with<'a>(template: &str, lookup: impl Fn(&str) -> Option<Cow<'a, str>>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = after[..end].trim().to_lowercase();
        if let Some(v) = lookup(&key) {
            out.push_str(&v);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_whole_messages_ignoring_case_accents_and_punctuation() {
        let k = parse_keywords(DEFAULT_OPT_OUT_KEYWORDS).unwrap();
        assert_eq!(k, vec!["SAIR", "PARAR", "STOP", "CANCELAR", "DESCADASTRAR"]);
        for yes in ["SAIR", "sair", " Sair \n", "sáir", "stop!", "Parar."] {
            assert!(is_opt_out(yes, &k), "{yes}");
        }
        for no in ["quero sair", "sair agora", "", "s a i r", "stopping"] {
            assert!(!is_opt_out(no, &k), "{no}");
        }
        let custom = parse_keywords("não quero mais\ncancelar").unwrap();
        assert!(is_opt_out("NAO   QUERO MAIS", &custom));
        assert!(is_opt_out("Cancelar", &custom));
        assert!(!is_opt_out("sair", &custom));
        assert!(parse_keywords(&"x".repeat(41)).is_err());
    }

    #[test]
    fn tags_are_one_ignoring_case_accents_and_spaces() {
        assert_eq!(tag_key("Promoção"), "promocao");
        assert_eq!(tag_key(" PROMOÇÃO "), tag_key("promocao"));
        assert_eq!(tag_key("Cliente   VIP"), "cliente vip");
        assert_ne!(tag_key("vip"), tag_key("vips"));
    }

    #[test]
    fn the_most_restrictive_consent_wins() {
        use Consent::*;
        assert_eq!(Consent::most_restrictive(MarketingOptIn, OptedOut), OptedOut);
        assert_eq!(Consent::most_restrictive(OptedOut, Transactional), OptedOut);
        assert_eq!(Consent::most_restrictive(MarketingOptIn, Transactional), Transactional);
        assert_eq!(Consent::parse("Opt-in"), Some(MarketingOptIn));
        assert_eq!(Consent::parse("NÃO"), Some(OptedOut));
        assert_eq!(Consent::parse("transacional"), Some(Transactional));
        assert_eq!(Consent::parse("maybe"), None);
    }

    #[test]
    fn field_keys_come_from_labels() {
        assert_eq!(field_key("Data de Nascimento").unwrap(), "data_de_nascimento");
        assert_eq!(field_key("  CPF ").unwrap(), "cpf");
        assert_eq!(field_key("Código do cliente!").unwrap(), "codigo_do_cliente");
        assert!(field_key("123").is_err());
        assert!(field_key("Nome").is_err());
        assert!(field_key("").is_err());
    }

    #[test]
    fn templates_fill_contact_variables_and_blank_what_is_missing() {
        let mut fields = BTreeMap::new();
        fields.insert("cidade".to_string(), "Recife".to_string());
        let c = TemplateContact { name: "Ana", phone: "+5581987654321", email: None, fields: &fields };
        assert_eq!(
            fill_template("Olá {{nome}}, de {{ cidade }} ({{TELEFONE}}) {{email}}{{plano}}!", &c),
            "Olá Ana, de Recife (+5581987654321) !"
        );
        assert_eq!(fill_template("sem variáveis", &c), "sem variáveis");
        assert_eq!(fill_template("aberto {{nome", &c), "aberto {{nome");
        assert_eq!(fill_template("{{}}{{nome}}", &c), "Ana");
    }
}

/// Which contacts a list shows or a campaign reaches: a search on name, e-mail or phone digits,
/// a tag, a consent kind — each optional, all of them at once. People save them by name
/// ("filtros salvos") to pick them again, as a campaign's audience too.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactCriteria {
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// `marketing_opt_in`, `transactional`, `opted_out`, or empty for any.
    #[serde(default)]
    pub consent: String,
}

impl ContactCriteria {
    pub fn is_empty(&self) -> bool {
        self.search.trim().is_empty() && self.tag_id.is_none() && self.consent.is_empty()
    }

    /// The consent named, if it is one a contact can have (anything else: refused by callers).
    pub fn consent_known(&self) -> bool {
        self.consent.is_empty() || ["marketing_opt_in", "transactional", "opted_out"].contains(&self.consent.as_str())
    }
}
