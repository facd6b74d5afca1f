//! What every channel's webhook becomes: channel-neutral messages and delivery statuses. Each
//! provider adapter in `channels/` parses its own wire format into these; receiving
//! (`actions::receive`) stores them the same way whatever the channel.

use crate::domain::message::{DeliveryStatus, MessageKind};

#[derive(Debug, Default)]
pub struct Delivery {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Meta's `user_preferences` changes (a customer stopped or resumed marketing messages).
    pub preferences: Vec<PreferenceUpdate>,
}

/// One `user_preferences` entry: `{wa_id, category: "marketing_messages", value: "stop"|"resume"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferenceUpdate {
    pub phone_number_id: String,
    pub wa_id: String,
    /// `stop` (true) or `resume` (false).
    pub stop: bool,
    pub at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The provider account it arrived on (Cloud API: `metadata.phone_number_id`; a gateway: its
    /// instance), checked against the connection the webhook names.
    pub phone_number_id: String,
    /// The customer's WhatsApp id (their number, digits only); absent for a customer who shows
    /// a username instead of a number.
    pub from: Option<String>,
    /// The customer's business-scoped user id (`from_user_id`, else their `contacts[].user_id`).
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    /// The customer's WhatsApp username (`contacts[].profile.username`), when they have one.
    pub username: Option<String>,
    /// Meta's message id (`wamid…`), the de-duplication key.
    pub provider_id: String,
    /// When the customer sent it, Unix milliseconds.
    pub sent_at_ms: i64,
    pub kind: MessageKind,
    /// Text, caption, button title, reaction emoji, location name…
    pub body: Option<String>,
    pub media_id: Option<String>,
    pub media_mime: Option<String>,
    pub filename: Option<String>,
    /// The message this one quotes (`context.id`), or the one a reaction/edit refers to.
    pub refers_to: Option<String>,
    /// The business wrote it from its own phone (WhatsApp Web's `fromMe`): stored as sent, by
    /// "Celular", and never a reason for automation to answer.
    pub from_me: bool,
    /// The message object as the provider sent it, reduced to the members it documents, as JSON
    /// text (serialised in the request's task rather than in the single ingest writer).
    pub raw: String,
}

#[derive(Debug, Clone)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    pub provider_id: String,
    pub status: DeliveryStatus,
    pub at_ms: i64,
    pub recipient: Option<String>,
    /// The recipient's business-scoped user id (`recipient_user_id`).
    pub recipient_user_id: Option<String>,
    /// What we sent as `biz_opaque_callback_data`, echoed back by Meta.
    pub callback_data: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
}
