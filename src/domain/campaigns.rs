//! Campaigns, the pure part: a campaign's and a recipient's states and the moves between them,
//! which variation a recipient gets, the pacing between sends, the callback data that names a
//! recipient in Meta's status webhooks, and the checks on what people fill in.

use serde::{Deserialize, Serialize};

/// Texts a campaign may vary between.
pub const MAX_VARIATIONS: usize = 5;
/// WhatsApp's limit for a text message.
pub const MAX_TEXT: usize = 4096;
/// The fastest pace people may set: the Cloud API's default throughput (80 messages a second).
pub const MAX_RATE_PER_MINUTE: i64 = 80 * 60;
/// Random spacing, as a share of the interval between two sends, at most ±90 %.
pub const MAX_SPACING_PCT: i64 = 90;
/// A reply within this long after a campaign reached a contact counts as a reply to it.
pub const REPLY_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

/// A campaign's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written; nothing is frozen yet.
    Draft,
    /// Started: the audience is frozen and recipients go out at the pace set.
    Running,
    Paused,
    /// Every recipient has an outcome (some may be `unknown`, for a person to decide).
    Finished,
    Cancelled,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Finished => "finished",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Draft, Status::Running, Status::Paused, Status::Finished, Status::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What people do to a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Start,
    Pause,
    Resume,
    Cancel,
}

impl Command {
    pub fn parse(s: &str) -> Option<Command> {
        match s {
            "start" => Some(Command::Start),
            "pause" => Some(Command::Pause),
            "resume" => Some(Command::Resume),
            "cancel" => Some(Command::Cancel),
            _ => None,
        }
    }

    /// The states the command applies to, and the state it leads to.
    pub fn moves(self) -> (&'static [Status], Status) {
        match self {
            Command::Start => (&[Status::Draft], Status::Running),
            Command::Pause => (&[Status::Running], Status::Paused),
            Command::Resume => (&[Status::Paused], Status::Running),
            Command::Cancel => (&[Status::Draft, Status::Running, Status::Paused], Status::Cancelled),
        }
    }
}

/// One recipient's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    Queued,
    /// Committed before the provider call: from here on the message may have gone.
    Sending,
    Sent,
    Delivered,
    Read,
    Replied,
    Failed,
    OptedOut,
    /// Not sent by rule (outside the window with no template, a template parameter missing, no
    /// WhatsApp address).
    Skipped,
    /// The call may have happened (a crash or a lost answer): never resent blindly.
    Unknown,
}

impl RecipientState {
    pub const ALL: [RecipientState; 10] = [
        RecipientState::Queued,
        RecipientState::Sending,
        RecipientState::Sent,
        RecipientState::Delivered,
        RecipientState::Read,
        RecipientState::Replied,
        RecipientState::Failed,
        RecipientState::OptedOut,
        RecipientState::Skipped,
        RecipientState::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RecipientState::Queued => "queued",
            RecipientState::Sending => "sending",
            RecipientState::Sent => "sent",
            RecipientState::Delivered => "delivered",
            RecipientState::Read => "read",
            RecipientState::Replied => "replied",
            RecipientState::Failed => "failed",
            RecipientState::OptedOut => "opted_out",
            RecipientState::Skipped => "skipped",
            RecipientState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<RecipientState> {
        RecipientState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// How far a message that went has got; statuses only ever move it forward.
    fn progress(self) -> Option<u8> {
        match self {
            RecipientState::Sending | RecipientState::Unknown => Some(0),
            RecipientState::Sent => Some(1),
            RecipientState::Delivered => Some(2),
            RecipientState::Read => Some(3),
            RecipientState::Replied => Some(4),
            _ => None,
        }
    }

    /// The message reached WhatsApp (whatever happened next).
    pub fn went(self) -> bool {
        self.progress().is_some_and(|p| p >= 1)
    }
}

/// Where a status webhook about a recipient's message moves it: forward only; `failed` only
/// before delivery (Meta reports an undeliverable message after accepting it). `None`: stays.
pub fn after_status(current: RecipientState, status: &str) -> Option<RecipientState> {
    let incoming = match status {
        "sent" => RecipientState::Sent,
        "delivered" => RecipientState::Delivered,
        "read" => RecipientState::Read,
        "failed" => {
            return matches!(current, RecipientState::Sending | RecipientState::Unknown | RecipientState::Sent)
                .then_some(RecipientState::Failed)
        }
        _ => return None,
    };
    let (Some(now), Some(next)) = (current.progress(), incoming.progress()) else { return None };
    (next > now).then_some(incoming)
}

/// The variation a recipient gets: spread evenly over the texts, the same on every run.
pub fn variation_for(recipient_id: i64, variations: usize) -> usize {
    if variations == 0 {
        return 0;
    }
    // A multiplicative hash spreads neighbouring ids (one contact list) over all variations.
    let mixed = (recipient_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (mixed % variations as u64) as usize
}

/// Microseconds from one send to the next at `rate_per_minute` (µs, so 80 a second is 12,500
/// and not a rounded 13 ms), moved by up to ±`spacing_pct` % of itself; `unit` is a random
/// number in [0, 1).
pub fn interval_us(rate_per_minute: i64, spacing_pct: i64, unit: f64) -> i64 {
    let base = 60_000_000.0 / rate_per_minute.clamp(1, MAX_RATE_PER_MINUTE) as f64;
    let spread = spacing_pct.clamp(0, MAX_SPACING_PCT) as f64 / 100.0;
    let factor = 1.0 + spread * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    (base * factor).round().max(1.0) as i64
}

/// Who a campaign goes to; frozen into recipients when it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// Every contact of the company.
    #[serde(default)]
    pub all: bool,
    /// Contacts with any of these tags.
    #[serde(default)]
    pub tags: Vec<i64>,
    /// These numbers (digits, international form); numbers not yet contacts are left out.
    #[serde(default)]
    pub phones: Vec<String>,
    /// The contacts a saved filter matches when the campaign starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_id: Option<i64>,
}

impl Audience {
    pub fn is_empty(&self) -> bool {
        !self.all && self.tags.is_empty() && self.phones.is_empty() && self.filter_id.is_none()
    }
}

const CALLBACK_PREFIX: &str = "atende:campaign:";

/// The `biz_opaque_callback_data` a campaign message carries: the recipient row, so a status
/// webhook settles a send whose answer was lost.
pub fn callback_data(recipient_id: i64) -> String {
    format!("{CALLBACK_PREFIX}{recipient_id}")
}

/// The recipient a [`callback_data`] value names (anything else is not a campaign's).
pub fn parse_callback_data(data: &str) -> Option<i64> {
    data.strip_prefix(CALLBACK_PREFIX)?.parse().ok().filter(|id: &i64| *id > 0)
}

/// What people fill in, checked: the reason of the first thing wrong, as (code, message).
pub fn check_fields(
    name: &str,
    variations: &[String],
    has_template_or_file: bool,
    rate_per_minute: i64,
    spacing_pct: i64,
    daily_cap: Option<i64>,
) -> Result<(), (&'static str, String)> {
    let name_len = name.trim().chars().count();
    if name_len == 0 || name_len > 120 {
        return Err(("invalid_name", "the campaign needs a name of at most 120 characters".into()));
    }
    if variations.len() > MAX_VARIATIONS {
        return Err(("too_many_variations", format!("a campaign has at most {MAX_VARIATIONS} variations")));
    }
    if variations.is_empty() && !has_template_or_file {
        return Err(("message_required", "write a message, attach a file or choose a template".into()));
    }
    if let Some(v) = variations.iter().find(|v| v.trim().is_empty() || v.chars().count() > MAX_TEXT) {
        let what = if v.trim().is_empty() { "empty" } else { "too long" };
        return Err(("invalid_message", format!("a variation is {what} (1 to {MAX_TEXT} characters)")));
    }
    if !(1..=MAX_RATE_PER_MINUTE).contains(&rate_per_minute) {
        return Err(("invalid_rate", format!("the rate is 1 to {MAX_RATE_PER_MINUTE} messages a minute")));
    }
    if !(0..=MAX_SPACING_PCT).contains(&spacing_pct) {
        return Err(("invalid_spacing", format!("the random spacing is 0 to {MAX_SPACING_PCT} %")));
    }
    if daily_cap.is_some_and(|c| c < 1) {
        return Err(("invalid_daily_cap", "the daily cap is at least 1".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_a_recipient_forward_only() {
        use RecipientState::*;
        assert_eq!(after_status(Sending, "sent"), Some(Sent));
        assert_eq!(after_status(Unknown, "delivered"), Some(Delivered));
        assert_eq!(after_status(Sent, "read"), Some(Read));
        assert_eq!(after_status(Read, "delivered"), None);
        assert_eq!(after_status(Delivered, "delivered"), None);
        assert_eq!(after_status(Replied, "read"), None);
        assert_eq!(after_status(Sent, "failed"), Some(Failed));
        assert_eq!(after_status(Delivered, "failed"), None);
        assert_eq!(after_status(Queued, "sent"), None, "a queued recipient was never sent");
        assert_eq!(after_status(OptedOut, "read"), None);
        assert_eq!(after_status(Sent, "deleted"), None);
    }

    #[test]
    fn variations_spread_evenly_and_stay_put() {
        let mut counts = [0usize; 3];
        for id in 1..=3000 {
            counts[variation_for(id, 3)] += 1;
            assert_eq!(variation_for(id, 3), variation_for(id, 3));
        }
        for c in counts {
            assert!((900..=1100).contains(&c), "{counts:?}");
        }
        assert_eq!(variation_for(7, 1), 0);
        assert_eq!(variation_for(7, 0), 0);
    }

    #[test]
    fn the_interval_follows_the_rate_and_the_spacing() {
        assert_eq!(interval_us(60, 0, 0.7), 1_000_000);
        assert_eq!(interval_us(4800, 0, 0.0), 12_500);
        assert_eq!(interval_us(60, 50, 0.0), 500_000);
        assert_eq!(interval_us(60, 50, 1.0), 1_500_000);
        assert_eq!(interval_us(60, 50, 0.5), 1_000_000);
        assert_eq!(interval_us(0, 500, 0.0), 6_000_000, "a bad rate or spacing is clamped");
    }

    #[test]
    fn callback_data_names_a_recipient_and_nothing_else() {
        assert_eq!(parse_callback_data(&callback_data(42)), Some(42));
        for other in ["atende:42", "atende:campaign:", "atende:campaign:-3", "atende:campaign:x", "campaign:4"] {
            assert_eq!(parse_callback_data(other), None, "{other}");
        }
        assert_eq!(crate::domain::outbound::parse_callback_data(&callback_data(42)), None);
    }

    #[test]
    fn fields_are_checked_with_stable_codes() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_fields("Natal", &v(&["Oi {{nome}}"]), false, 60, 20, Some(500)).is_ok());
        assert!(check_fields("Natal", &[], true, 60, 0, None).is_ok(), "a template alone");
        let code = |r: Result<(), (&'static str, String)>| r.err().map(|e| e.0);
        assert_eq!(code(check_fields(" ", &v(&["a"]), false, 60, 0, None)), Some("invalid_name"));
        assert_eq!(code(check_fields("a", &[], false, 60, 0, None)), Some("message_required"));
        assert_eq!(code(check_fields("a", &v(&["a"; 6]), false, 60, 0, None)), Some("too_many_variations"));
        assert_eq!(code(check_fields("a", &v(&["a", " "]), false, 60, 0, None)), Some("invalid_message"));
        assert_eq!(code(check_fields("a", &v(&["a"]), false, 0, 0, None)), Some("invalid_rate"));
        assert_eq!(code(check_fields("a", &v(&["a"]), false, 60, 95, None)), Some("invalid_spacing"));
        assert_eq!(code(check_fields("a", &v(&["a"]), false, 60, 0, Some(0))), Some("invalid_daily_cap"));
    }

    #[test]
    fn commands_apply_only_where_they_make_sense() {
        assert!(Command::Start.moves().0.contains(&Status::Draft));
        assert!(!Command::Resume.moves().0.contains(&Status::Running));
        assert!(!Command::Cancel.moves().0.contains(&Status::Finished));
        assert_eq!(Command::parse("pause"), Some(Command::Pause));
        assert_eq!(Status::parse("paused"), Some(Status::Paused));
    }
}
