//! A connection's lifecycle: the states every provider reports in the same words, so the
//! Conexões page, the API and webhooks read one vocabulary whatever the channel.

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening a session (WhatsApp Web after a restart, a gateway instance being created).
    Connecting,
    /// Waiting for the phone to scan a QR code (or enter a pairing code).
    Qr,
    /// Receiving and sending.
    Connected,
    /// Switched off by an admin, or the session ended; nothing is received or sent.
    Disconnected,
    /// The provider refuses it (an expired or revoked token, a logged-out session): an admin must
    /// reconnect it.
    Failed,
}

impl ConnectionState {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Qr => "qr",
            ConnectionState::Connected => "connected",
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionState> {
        [
            ConnectionState::Connecting,
            ConnectionState::Qr,
            ConnectionState::Connected,
            ConnectionState::Disconnected,
            ConnectionState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// The state of a Cloud API number: it has no session, so it is connected unless switched off
    /// or its token was refused.
    pub fn of_cloud_api(active: bool, needs_reauth: bool) -> ConnectionState {
        match (active, needs_reauth) {
            (false, _) => ConnectionState::Disconnected,
            (true, true) => ConnectionState::Failed,
            (true, false) => ConnectionState::Connected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_and_cloud_numbers_follow_their_flags() {
        for s in ["connecting", "qr", "connected", "disconnected", "failed"] {
            assert_eq!(ConnectionState::parse(s).map(ConnectionState::as_str), Some(s));
        }
        assert_eq!(ConnectionState::parse("online"), None);
        assert_eq!(ConnectionState::of_cloud_api(true, false), ConnectionState::Connected);
        assert_eq!(ConnectionState::of_cloud_api(true, true), ConnectionState::Failed);
        assert_eq!(ConnectionState::of_cloud_api(false, true), ConnectionState::Disconnected);
    }
}
