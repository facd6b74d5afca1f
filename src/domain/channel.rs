//! The kinds of channel a connection can be, and what each can do. Sending, the composer and
//! automation read capabilities from here instead of asking "is this WhatsApp Cloud?", so a new
//! channel is one more variant with its own answers.

/// A connection's kind, as stored in `connections.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// Meta's official WhatsApp Cloud API (a business number, webhooks signed by the app secret).
    WhatsAppCloud,
    /// WhatsApp Web (multi-device) linked by a QR code, through an Evolution API v2 gateway the
    /// operator runs.
    WhatsAppQr,
}

/// What a channel can carry. Where a capability is missing the sender degrades (buttons become
/// numbered text) or refuses with a reason, never silently drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Free-form messages only within 24 h of the customer's last message (templates after).
    pub customer_window_hours: Option<u32>,
    /// Reply buttons render as buttons.
    pub buttons: bool,
    /// List messages render as a list.
    pub lists: bool,
    /// Pre-approved templates exist (and are required outside the window).
    pub templates: bool,
    pub reactions: bool,
    pub edits: bool,
    /// Voice notes (push-to-talk audio) play as such.
    pub voice_notes: bool,
    /// The largest file it sends, in bytes.
    pub max_media_bytes: u64,
    /// It has a session that is linked by scanning a QR code and can drop.
    pub qr_session: bool,
    /// The business can also write from its own phone (those messages arrive as `from_me`).
    pub phone_echo: bool,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 2] = [ChannelKind::WhatsAppCloud, ChannelKind::WhatsAppQr];

    pub const fn as_str(self) -> &'static str {
        match self {
            ChannelKind::WhatsAppCloud => "whatsapp_cloud",
            ChannelKind::WhatsAppQr => "whatsapp_qr",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const fn capabilities(self) -> Capabilities {
        match self {
            ChannelKind::WhatsAppCloud => Capabilities {
                customer_window_hours: Some(24),
                buttons: true,
                lists: true,
                templates: true,
                reactions: true,
                edits: false,
                voice_notes: true,
                // Meta's limit for documents; images are 5 MB, audio and video 16 MB.
                max_media_bytes: 100 * 1024 * 1024,
                qr_session: false,
                phone_echo: false,
            },
            ChannelKind::WhatsAppQr => Capabilities {
                customer_window_hours: None,
                // WhatsApp Web's buttons are unreliable for unofficial clients: numbered text.
                buttons: false,
                lists: false,
                templates: false,
                reactions: true,
                edits: true,
                voice_notes: true,
                max_media_bytes: 64 * 1024 * 1024,
                qr_session: true,
                phone_echo: true,
            },
        }
    }
}

/// Whether a free-form message may go now to a customer who last wrote at `last_inbound_at`
/// (Unix ms) on a connection of `kind`: always on channels without a customer-service window;
/// within it on the others (an unknown kind is held to the strictest rule).
pub fn free_form_allowed(kind: &str, last_inbound_at: Option<i64>, now: i64) -> bool {
    let hours = ChannelKind::parse(kind).map_or(Some(24), |k| k.capabilities().customer_window_hours);
    match hours {
        None => true,
        Some(h) => last_inbound_at.is_some_and(|at| now - at < i64::from(h) * 3_600_000),
    }
}

/// Buttons or a list as numbered text, for a channel that cannot render them: the customer
/// answers with the number (or the title), which the chatbot reads back with [`chosen_option`].
pub fn numbered_choices(prompt: &str, options: &[&str]) -> String {
    let mut out = prompt.trim_end().to_string();
    for (i, option) in options.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, option.trim()));
    }
    out
}

/// Which option (0-based) a customer's reply to [`numbered_choices`] picks: its number ("2",
/// "2.", " 2) ") or its title, ignoring case; `None` for anything else.
pub fn chosen_option(reply: &str, options: &[&str]) -> Option<usize> {
    let reply = reply.trim();
    let digits = reply.trim_end_matches(['.', ')', ' ']);
    if let Ok(n) = digits.parse::<usize>() {
        return (1..=options.len()).contains(&n).then(|| n - 1);
    }
    let lower = reply.to_lowercase();
    options.iter().position(|o| o.trim().to_lowercase() == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_differ_where_the_channels_do() {
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChannelKind::parse("telegram"), None);
        let cloud = ChannelKind::WhatsAppCloud.capabilities();
        let qr = ChannelKind::WhatsAppQr.capabilities();
        assert!(cloud.templates && cloud.buttons && cloud.customer_window_hours == Some(24));
        assert!(!qr.buttons && qr.qr_session && qr.phone_echo && qr.customer_window_hours.is_none());
    }

    #[test]
    fn only_windowed_channels_hold_free_form_messages_to_the_window() {
        let day = 24 * 3_600_000;
        assert!(free_form_allowed("whatsapp_cloud", Some(1), day));
        assert!(!free_form_allowed("whatsapp_cloud", Some(0), day));
        assert!(!free_form_allowed("whatsapp_cloud", None, day));
        assert!(free_form_allowed("whatsapp_qr", None, 10 * day));
        assert!(!free_form_allowed("fax", Some(0), day));
    }

    #[test]
    fn choices_fall_back_to_numbered_text_and_read_back() {
        let options = ["Vendas", "Suporte técnico", "Financeiro"];
        let text = numbered_choices("Como podemos ajudar?", &options);
        assert_eq!(text, "Como podemos ajudar?\n1. Vendas\n2. Suporte técnico\n3. Financeiro");
        assert_eq!(chosen_option("2", &options), Some(1));
        assert_eq!(chosen_option(" 3) ", &options), Some(2));
        assert_eq!(chosen_option("suporte TÉCNICO", &options), Some(1));
        assert_eq!(chosen_option("4", &options), None);
        assert_eq!(chosen_option("0", &options), None);
        assert_eq!(chosen_option("quero falar com alguém", &options), None);
    }
}
