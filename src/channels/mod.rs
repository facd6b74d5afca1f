//! Provider adapters: each turns a provider's payloads into Atende's inbound items
//! ([`crate::domain::inbound`]) and Atende's sends into provider calls, and nothing else. Every
//! provider's failures read as one [`ProviderError`], so the send and media jobs settle them the
//! same way whatever the channel.

pub mod guard;
pub mod webhook;
pub mod whatsapp_cloud;
pub mod whatsapp_qr;

/// Why a provider call failed, classified by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again: 5xx, timeouts, connection errors, throughput limits.
    #[error("{reason}")]
    Transient { code: Option<i64>, reason: String },
    /// Too many messages to this recipient in a short time; back off for them only.
    #[error("{title}")]
    RecipientThrottled { code: i64, title: String },
    /// Will never succeed as sent (undeliverable, outside the window, bad parameters).
    #[error("{title}")]
    Permanent { code: Option<i64>, title: String },
    /// The credentials were refused: an admin must reconnect.
    #[error("{title}")]
    Auth { code: i64, title: String },
    /// The session is down (WhatsApp Web): wait for it to come back, then send.
    #[error("{reason}")]
    Disconnected { reason: String },
}

impl ProviderError {
    pub fn code(&self) -> Option<i64> {
        match self {
            ProviderError::Transient { code, .. } | ProviderError::Permanent { code, .. } => *code,
            ProviderError::RecipientThrottled { code, .. } | ProviderError::Auth { code, .. } => Some(*code),
            ProviderError::Disconnected { .. } => None,
        }
    }

    /// The reason shown to people.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl From<whatsapp_cloud::graph::GraphError> for ProviderError {
    fn from(e: whatsapp_cloud::graph::GraphError) -> ProviderError {
        use whatsapp_cloud::graph::GraphError;
        match e {
            GraphError::Transient { code, reason } => ProviderError::Transient { code, reason },
            GraphError::RecipientThrottled { code, title } => ProviderError::RecipientThrottled { code, title },
            GraphError::Permanent { code, title } => ProviderError::Permanent { code, title },
            GraphError::Auth { code, title } => ProviderError::Auth { code, title },
        }
    }
}
