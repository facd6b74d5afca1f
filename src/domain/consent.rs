//! The consent rule every send obeys, in one place: what a contact agreed to (transactional,
//! marketing opt-in, opted out) against what a message is (a reply inside a conversation the
//! customer started, an unsolicited message, marketing). Also the sources a change is recorded
//! with and the built-in confirmation texts of the opt-out / opt-in keywords.

use super::contacts::Consent;

/// What a send is, for the consent rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendNature {
    /// Marketing: a template of category MARKETING, or a send flagged marketing (campaigns).
    pub marketing: bool,
    /// A template (a business-initiated message, even inside the window).
    pub template: bool,
    /// The customer wrote within the last 24 hours: this is a reply in their conversation.
    pub customer_started: bool,
}

/// Why a send is refused; `code()` is the stable error code of the API and the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Marketing to a contact without `marketing_opt_in`.
    MarketingConsentRequired,
    /// Anything unsolicited (a template, or any message outside the customer's conversation) to
    /// an opted-out contact.
    ContactOptedOut,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::MarketingConsentRequired => "marketing_consent_required",
            Refusal::ContactOptedOut => "contact_opted_out",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::MarketingConsentRequired => {
                "this contact has not opted in to marketing messages: only transactional messages may be sent"
            }
            Refusal::ContactOptedOut => {
                "this contact opted out: only replies inside a conversation the customer started may be sent"
            }
        }
    }
}

/// The rule. An opted-out contact gets only replies inside a conversation they started (never a
/// template, never marketing); marketing needs `marketing_opt_in`; everything else is allowed.
pub fn may_send(consent: Consent, send: SendNature) -> Result<(), Refusal> {
    match consent {
        Consent::OptedOut if send.marketing || send.template || !send.customer_started => Err(Refusal::ContactOptedOut),
        Consent::OptedOut => Ok(()),
        Consent::Transactional if send.marketing => Err(Refusal::MarketingConsentRequired),
        Consent::Transactional | Consent::MarketingOptIn => Ok(()),
    }
}

/// The customer wrote within the last 24 hours (whatever the channel: on WhatsApp Web there is
/// no window, but "a conversation the customer started" still means a recent message of theirs).
pub fn customer_started(last_inbound_at: Option<i64>, now: i64) -> bool {
    last_inbound_at.is_some_and(|at| now - at < 24 * 3_600_000)
}

/// How a change came about (stored in `consent_events.source` and `contacts.consent_source`).
pub mod source {
    pub use super::super::contacts::source::*;
    /// A signal from Meta: the `user_preferences` webhook or error 131050 on a send.
    pub const META: &str = "meta";
    /// The contact was created with this consent.
    pub const CREATED: &str = "created";
}

/// What Meta's signals mean for a contact's consent, from its current one; `None`: no change.
/// Stopping marketing takes a marketing opt-in back to transactional (an opted-out contact stays
/// out); resuming gives back the marketing opt-in only when it was Meta's stop that removed it.
pub fn after_meta_signal(current: Consent, current_source: Option<&str>, stop: bool) -> Option<Consent> {
    match (stop, current) {
        (true, Consent::MarketingOptIn) => Some(Consent::Transactional),
        (false, Consent::Transactional) if current_source == Some(source::META) => Some(Consent::MarketingOptIn),
        _ => None,
    }
}

/// The opt-in keywords a tenant starts with.
pub const DEFAULT_OPT_IN_KEYWORDS: &str = "VOLTAR, ACEITO";
/// Sent once when an opt-out keyword takes a contact out (the company may write its own).
pub const DEFAULT_OPT_OUT_REPLY: &str =
    "Pronto, você não receberá mais mensagens promocionais. Para voltar a receber, envie VOLTAR.";
/// Sent once when an opt-in keyword gives marketing consent.
pub const DEFAULT_OPT_IN_REPLY: &str = "Obrigado! Você voltará a receber nossas novidades. Para sair, envie SAIR.";
/// Longest confirmation text a company may write.
pub const REPLY_MAX_CHARS: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;
    use Consent::*;

    const REPLY: SendNature = SendNature { marketing: false, template: false, customer_started: true };
    const COLD_TEXT: SendNature = SendNature { marketing: false, template: false, customer_started: false };
    const UTILITY: SendNature = SendNature { marketing: false, template: true, customer_started: false };
    const PROMO: SendNature = SendNature { marketing: true, template: true, customer_started: true };

    #[test]
    fn opted_out_contacts_get_only_replies_in_their_conversation() {
        assert_eq!(may_send(OptedOut, REPLY), Ok(()));
        assert_eq!(may_send(OptedOut, COLD_TEXT), Err(Refusal::ContactOptedOut));
        assert_eq!(may_send(OptedOut, UTILITY), Err(Refusal::ContactOptedOut));
        assert_eq!(may_send(OptedOut, PROMO), Err(Refusal::ContactOptedOut));
        let template_in_window = SendNature { template: true, ..REPLY };
        assert_eq!(may_send(OptedOut, template_in_window), Err(Refusal::ContactOptedOut));
    }

    #[test]
    fn marketing_needs_the_opt_in_and_transactional_messages_do_not() {
        assert_eq!(may_send(Transactional, PROMO), Err(Refusal::MarketingConsentRequired));
        assert_eq!(
            may_send(Transactional, SendNature { template: false, ..PROMO }).unwrap_err().code(),
            "marketing_consent_required"
        );
        assert_eq!(may_send(Transactional, UTILITY), Ok(()));
        assert_eq!(may_send(Transactional, COLD_TEXT), Ok(()));
        assert_eq!(may_send(MarketingOptIn, PROMO), Ok(()));
    }

    #[test]
    fn meta_signals_move_marketing_consent_only() {
        assert_eq!(after_meta_signal(MarketingOptIn, Some("api"), true), Some(Transactional));
        assert_eq!(after_meta_signal(OptedOut, None, true), None);
        assert_eq!(after_meta_signal(Transactional, Some("meta"), false), Some(MarketingOptIn));
        assert_eq!(after_meta_signal(Transactional, Some("agent"), false), None);
        assert_eq!(after_meta_signal(OptedOut, Some("meta"), false), None);
    }

    #[test]
    fn a_conversation_is_the_customers_for_24_hours() {
        assert!(customer_started(Some(1_000), 1_000 + 23 * 3_600_000));
        assert!(!customer_started(Some(1_000), 1_000 + 24 * 3_600_000));
        assert!(!customer_started(None, 5));
    }
}
