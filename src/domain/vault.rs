//! The credential vault's rules (issue 16, docs/SECURITY.md (the vault)): the kinds of credential, what a
//! credential may hold, who may reveal a secret, and the customer's one-time link.

use crate::domain::{Role, UserId};

/// How long a customer's one-time link stays usable.
pub const LINK_TTL_MS: i64 = 24 * 3_600_000;
/// What a message moved into the vault reads afterwards.
pub const REDACTED_BODY: &str = "[movido para o cofre]";

const LABEL_MAX: usize = 120;
const HOST_MAX: usize = 255;
const USERNAME_MAX: usize = 255;
const SECRET_MAX: usize = 4096;
const NOTES_MAX: usize = 2000;

/// What a credential opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    Painel,
    Ssh,
    Ftp,
    Database,
    Other,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 5] = [
        CredentialKind::Painel,
        CredentialKind::Ssh,
        CredentialKind::Ftp,
        CredentialKind::Database,
        CredentialKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Painel => "painel",
            CredentialKind::Ssh => "ssh",
            CredentialKind::Ftp => "ftp",
            CredentialKind::Database => "database",
            CredentialKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<CredentialKind> {
        CredentialKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// A credential as typed (by an agent, a customer's form or a token), before it is sealed.
#[derive(Clone, Debug, Default)]
pub struct CredentialInput {
    pub kind: String,
    pub label: String,
    pub host: String,
    pub username: String,
    pub secret: String,
    pub notes: String,
}

/// A credential that passed validation: trimmed metadata, the secret as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidCredential {
    pub kind: CredentialKind,
    pub label: String,
    pub host: String,
    pub username: String,
    pub secret: String,
    pub notes: String,
}

/// Why a credential was refused, as a stable code and a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    Kind,
    Label,
    Host,
    Username,
    Secret,
    Notes,
}

impl CredentialError {
    pub fn code(self) -> &'static str {
        match self {
            CredentialError::Kind => "invalid_credential_kind",
            CredentialError::Label => "invalid_credential_label",
            CredentialError::Host => "invalid_credential_host",
            CredentialError::Username => "invalid_credential_username",
            CredentialError::Secret => "invalid_credential_secret",
            CredentialError::Notes => "invalid_credential_notes",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CredentialError::Kind => "kind must be painel, ssh, ftp, database or other",
            CredentialError::Label => "the label has at most 120 characters",
            CredentialError::Host => "the host has at most 255 characters and no line breaks",
            CredentialError::Username => "the user has at most 255 characters and no line breaks",
            CredentialError::Secret => "the secret has 1 to 4096 characters",
            CredentialError::Notes => "the notes have at most 2000 characters",
        }
    }
}

fn one_line(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    (s.chars().count() <= max && !s.chars().any(char::is_control)).then(|| s.to_string())
}

/// Checks a credential. The secret keeps its spaces (a password may have them) but must not be
/// blank; the label is optional (pages then name the kind).
pub fn validate(input: &CredentialInput) -> Result<ValidCredential, CredentialError> {
    let kind = CredentialKind::parse(&input.kind).ok_or(CredentialError::Kind)?;
    let label = one_line(&input.label, LABEL_MAX).ok_or(CredentialError::Label)?;
    let host = one_line(&input.host, HOST_MAX).ok_or(CredentialError::Host)?;
    let username = one_line(&input.username, USERNAME_MAX).ok_or(CredentialError::Username)?;
    let secret = input.secret.trim_end_matches(['\r', '\n']).to_string();
    if secret.trim().is_empty() || secret.chars().count() > SECRET_MAX || secret.contains('\0') {
        return Err(CredentialError::Secret);
    }
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > NOTES_MAX || notes.contains('\0') {
        return Err(CredentialError::Notes);
    }
    Ok(ValidCredential { kind, label, host, username, secret, notes })
}

/// Who may read a ticket's secrets: the company's admins, and the person the ticket is assigned
/// to right now (so a transfer moves the access with the ticket, and a former assignee loses it).
pub fn may_reveal(role: Role, me: Option<UserId>, assignee: Option<UserId>) -> bool {
    role.can_manage_tenant() || (me.is_some() && me == assignee)
}

/// A customer's link at `now`: still usable, already used, or expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Usable,
    Used,
    Expired,
}

pub fn link_state(expires_at: i64, used_at: Option<i64>, now: i64) -> LinkState {
    match used_at {
        Some(_) => LinkState::Used,
        None if now >= expires_at => LinkState::Expired,
        None => LinkState::Usable,
    }
}

/// The pt-BR message that carries a one-time link to the customer.
pub fn link_message(url: &str, protocol: Option<&str>) -> String {
    let about = protocol.map(|p| format!(" (protocolo {p})")).unwrap_or_default();
    format!(
        "Para continuarmos o seu atendimento{about}, precisamos dos dados de acesso. Envie-os por este link seguro, \
         que vale por 24 horas e só pode ser usado uma vez:\n{url}\n\nPor segurança, não envie senhas por aqui."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, secret: &str) -> CredentialInput {
        CredentialInput { kind: kind.into(), secret: secret.into(), ..Default::default() }
    }

    #[test]
    fn kinds_read_back_and_unknown_kinds_are_refused() {
        for k in CredentialKind::ALL {
            assert_eq!(CredentialKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(validate(&input("telnet", "x")).unwrap_err(), CredentialError::Kind);
    }

    #[test]
    fn a_secret_keeps_its_spaces_but_may_not_be_blank() {
        let ok = validate(&input("ssh", "  pass word \n")).unwrap();
        assert_eq!(ok.secret, "  pass word ");
        assert_eq!(ok.label, "");
        assert_eq!(validate(&input("ssh", "   ")).unwrap_err(), CredentialError::Secret);
        assert_eq!(validate(&input("ssh", &"x".repeat(4097))).unwrap_err(), CredentialError::Secret);
    }

    #[test]
    fn metadata_is_one_line() {
        let mut i = input("ftp", "s");
        i.host = "ftp.example.com\nEvil: 1".into();
        assert_eq!(validate(&i).unwrap_err(), CredentialError::Host);
        i.host = "ftp.example.com".into();
        i.username = "a".repeat(256);
        assert_eq!(validate(&i).unwrap_err(), CredentialError::Username);
    }

    #[test]
    fn only_admins_and_the_current_assignee_reveal() {
        let (ana, bia) = (Some(UserId(1)), Some(UserId(2)));
        assert!(may_reveal(Role::Agent, ana, ana));
        assert!(!may_reveal(Role::Agent, ana, bia));
        assert!(!may_reveal(Role::Supervisor, ana, bia));
        assert!(!may_reveal(Role::Agent, None, None), "nobody is the assignee of an unassigned ticket");
        assert!(may_reveal(Role::Admin, None, bia));
    }

    #[test]
    fn links_expire_and_are_used_once() {
        assert_eq!(link_state(100, None, 99), LinkState::Usable);
        assert_eq!(link_state(100, None, 100), LinkState::Expired);
        assert_eq!(link_state(100, Some(50), 60), LinkState::Used);
        assert!(link_message("https://x/acesso/t", Some("2026-1")).contains("https://x/acesso/t"));
    }
}
