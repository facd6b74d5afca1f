//! Messages as Atende understands them, whatever channel they came from: kinds, directions and
//! the delivery-status order (statuses only move forward; `failed` is final).

use serde::{Deserialize, Serialize};

/// What a message carries. Unknown provider types are kept as `Unsupported`, never dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Audio,
    Voice,
    Video,
    Document,
    Sticker,
    Location,
    Contacts,
    ButtonReply,
    ListReply,
    TemplateButton,
    Reaction,
    Template,
    Interactive,
    Edit,
    Deletion,
    Unsupported,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Audio => "audio",
            MessageKind::Voice => "voice",
            MessageKind::Video => "video",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Location => "location",
            MessageKind::Contacts => "contacts",
            MessageKind::ButtonReply => "button_reply",
            MessageKind::ListReply => "list_reply",
            MessageKind::TemplateButton => "template_button",
            MessageKind::Reaction => "reaction",
            MessageKind::Template => "template",
            MessageKind::Interactive => "interactive",
            MessageKind::Edit => "edit",
            MessageKind::Deletion => "deletion",
            MessageKind::Unsupported => "unsupported",
        }
    }

    /// Kinds whose content is a file fetched from the provider.
    pub fn has_media(self) -> bool {
        matches!(
            self,
            MessageKind::Image
                | MessageKind::Audio
                | MessageKind::Voice
                | MessageKind::Video
                | MessageKind::Document
                | MessageKind::Sticker
        )
    }

    /// The largest file accepted for this kind (WhatsApp's own limits).
    pub fn media_limit_bytes(self) -> u64 {
        const MB: u64 = 1024 * 1024;
        match self {
            MessageKind::Image | MessageKind::Sticker => 5 * MB,
            MessageKind::Audio | MessageKind::Voice | MessageKind::Video => 16 * MB,
            _ => 100 * MB,
        }
    }
}

/// Delivery status of a message. Inbound messages are `Received`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Received => "received",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [Self::Received, Self::Queued, Self::Sent, Self::Delivered, Self::Read, Self::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// Position in the forward-only order; a status may replace only a lower rank.
    pub fn rank(self) -> i64 {
        match self {
            DeliveryStatus::Received | DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward_and_failed_is_final() {
        assert!(DeliveryStatus::Delivered.rank() > DeliveryStatus::Sent.rank());
        assert!(DeliveryStatus::Read.rank() > DeliveryStatus::Delivered.rank());
        assert!(DeliveryStatus::Failed.rank() > DeliveryStatus::Read.rank());
        assert_eq!(DeliveryStatus::parse("delivered"), Some(DeliveryStatus::Delivered));
        assert_eq!(DeliveryStatus::parse("bogus"), None);
    }
}
