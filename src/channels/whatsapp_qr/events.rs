//! Reads an Evolution API v2 webhook: `{event, instance, data, apikey, …}`. Customer messages
//! (and those the business writes on its own phone, `fromMe`) become [`InboundMessage`]s, acks
//! become [`StatusUpdate`]s, and the session's own events (a new QR, the connection opening or
//! dropping, the phone unlinking) become [`SessionEvent`]s. Groups, broadcasts and status posts
//! are not conversations and are skipped. The parser never panics on any JSON.

use serde_json::{Map, Value};

use super::client::{read_qr, Qr};
use crate::domain::inbound::{Delivery, InboundMessage, StatusUpdate};
use crate::domain::message::{DeliveryStatus, MessageKind};

/// What the session reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A new QR to show (they rotate about every 20 s until one is scanned).
    Qr(Qr),
    /// The session is open; `phone` is the linked number's digits when the gateway says.
    Open { phone: Option<String> },
    /// The gateway is (re)opening the session.
    Connecting,
    /// The session dropped but is still linked: reconnecting brings it back.
    Closed { reason: Option<i64> },
    /// The phone unlinked the device (or the session was refused): a new QR is needed.
    LoggedOut,
}

/// One webhook body, read.
#[derive(Debug, Default)]
pub struct Event {
    pub instance: String,
    /// The instance token the gateway puts in every body: checked against the connection's.
    pub apikey: Option<String>,
    pub delivery: Delivery,
    pub session: Option<SessionEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.replace('\0', "")),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let root: Value = serde_json::from_slice(body)?;
    let mut out = Event {
        instance: text(&root, "/instance").unwrap_or_default(),
        apikey: text(&root, "/apikey"),
        ..Event::default()
    };
    let event = text(&root, "/event").unwrap_or_default().to_ascii_lowercase().replace('_', ".");
    let data = root.get("data").cloned().unwrap_or(Value::Null);
    // One object per message; some releases batch them in an array or under `messages`.
    let items: Vec<&Value> = match &data {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) => match o.get("messages") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => vec![&data],
        },
        _ => Vec::new(),
    };
    match event.as_str() {
        "messages.upsert" => {
            for item in items {
                if let Some(m) = read_message(&out.instance, item) {
                    out.delivery.messages.push(m);
                }
            }
        }
        "messages.update" => {
            for item in items {
                if let Some(s) = read_status(&out.instance, item) {
                    out.delivery.statuses.push(s);
                }
            }
        }
        "qrcode.updated" => out.session = data.get("qrcode").and_then(read_qr).map(SessionEvent::Qr),
        "connection.update" => {
            let reason = data.get("statusReason").and_then(Value::as_i64);
            out.session = match text(&data, "/state").as_deref() {
                Some("open") => Some(SessionEvent::Open { phone: text(&data, "/wuid").and_then(|j| phone_of(&j)) }),
                Some("connecting") => Some(SessionEvent::Connecting),
                // 401: logged out on the phone; 403: banned or forbidden; "refused": too many
                // unscanned QRs. None of them comes back without a new scan.
                Some("close") if matches!(reason, Some(401 | 403)) => Some(SessionEvent::LoggedOut),
                Some("refused") => Some(SessionEvent::LoggedOut),
                Some("close") => Some(SessionEvent::Closed { reason }),
                _ => None,
            };
        }
        "status.instance" if text(&data, "/status").as_deref() == Some("closed") => {
            out.session = Some(SessionEvent::LoggedOut);
        }
        "logout.instance" => out.session = Some(SessionEvent::LoggedOut),
        _ => {}
    }
    Ok(out)
}

/// The digits of a person's JID (`5511…@s.whatsapp.net`, or `…:device@…`); `None` for groups,
/// broadcasts, newsletters and anything else that is not one person's number.
fn phone_of(jid: &str) -> Option<String> {
    let (user, server) = jid.split_once('@')?;
    if server != "s.whatsapp.net" && server != "c.us" {
        return None;
    }
    let user = user.split(':').next().unwrap_or(user);
    (!user.is_empty() && user.len() <= 20 && user.chars().all(|c| c.is_ascii_digit())).then(|| user.to_string())
}

/// The message types WhatsApp Web sends, each with what it becomes here.
fn kind_of(message_type: &str, content: &Value) -> MessageKind {
    match message_type {
        "conversation" | "extendedTextMessage" => MessageKind::Text,
        "imageMessage" => MessageKind::Image,
        "videoMessage" | "ptvMessage" => MessageKind::Video,
        "audioMessage" if content.get("ptt").and_then(Value::as_bool) == Some(true) => MessageKind::Voice,
        "audioMessage" => MessageKind::Audio,
        "documentMessage" | "documentWithCaptionMessage" => MessageKind::Document,
        "stickerMessage" => MessageKind::Sticker,
        "locationMessage" | "liveLocationMessage" => MessageKind::Location,
        "contactMessage" | "contactsArrayMessage" => MessageKind::Contacts,
        "reactionMessage" => MessageKind::Reaction,
        "buttonsResponseMessage" => MessageKind::ButtonReply,
        "listResponseMessage" => MessageKind::ListReply,
        "templateButtonReplyMessage" => MessageKind::TemplateButton,
        "editedMessage" => MessageKind::Edit,
        _ => MessageKind::Unsupported,
    }
}

fn read_message(instance: &str, item: &Value) -> Option<InboundMessage> {
    let jid = text(item, "/key/remoteJid")?;
    // A `lid` address hides the number; the phone JID then rides in `remoteJidAlt`.
    let (from, user_id) = match phone_of(&jid) {
        Some(phone) => (Some(phone), None),
        None if jid.ends_with("@lid") => {
            (text(item, "/key/remoteJidAlt").and_then(|j| phone_of(&j)), Some(jid.clone()))
        }
        None => return None,
    };
    let provider_id = text(item, "/key/id")?;
    let from_me = item.pointer("/key/fromMe").and_then(Value::as_bool).unwrap_or(false);
    let message = item.get("message").cloned().unwrap_or(Value::Null);
    let message_type = text(item, "/messageType")
        .or_else(|| {
            message.as_object().and_then(|o| o.keys().find(|k| k.ends_with("Message") || *k == "conversation").cloned())
        })
        .unwrap_or_default();
    // `documentWithCaptionMessage` wraps a document one level down.
    let content = match message_type.as_str() {
        "documentWithCaptionMessage" => message.pointer("/documentWithCaptionMessage/message/documentMessage"),
        other => message.get(other),
    }
    .cloned()
    .unwrap_or(Value::Null);
    let kind = kind_of(&message_type, &content);
    let mut m = InboundMessage {
        phone_number_id: instance.to_string(),
        from,
        user_id,
        // The push name of a message the business wrote is its own.
        profile_name: if from_me { None } else { text(item, "/pushName") },
        username: None,
        provider_id,
        sent_at_ms: text(item, "/messageTimestamp")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
            .saturating_mul(1000),
        kind,
        body: None,
        media_id: None,
        media_mime: None,
        filename: None,
        refers_to: text(&content, "/contextInfo/stanzaId"),
        from_me,
        raw: stored_form(item, &message_type, &content).to_string(),
    };
    match kind {
        MessageKind::Text => {
            m.body = text(&message, "/conversation").or_else(|| text(&content, "/text"));
        }
        MessageKind::Image | MessageKind::Video | MessageKind::Audio | MessageKind::Voice | MessageKind::Sticker => {
            m.body = text(&content, "/caption");
            m.media_mime = text(&content, "/mimetype");
            m.media_id = Some(m.provider_id.clone());
        }
        MessageKind::Document => {
            m.body = text(&content, "/caption");
            m.media_mime = text(&content, "/mimetype");
            m.filename = text(&content, "/fileName").or_else(|| text(&content, "/title"));
            m.media_id = Some(m.provider_id.clone());
        }
        MessageKind::Location => m.body = text(&content, "/name").or_else(|| text(&content, "/address")),
        MessageKind::Contacts => m.body = text(&content, "/displayName"),
        MessageKind::Reaction => {
            m.body = text(&content, "/text");
            m.refers_to = text(&content, "/key/id");
        }
        MessageKind::ButtonReply => m.body = text(&content, "/selectedDisplayText"),
        MessageKind::ListReply => m.body = text(&content, "/title"),
        MessageKind::TemplateButton => m.body = text(&content, "/selectedDisplayText"),
        MessageKind::Edit => {
            m.body = text(&content, "/message/protocolMessage/editedMessage/conversation");
            m.refers_to = text(&content, "/message/protocolMessage/key/id");
        }
        _ => {}
    }
    Some(m)
}

/// The message as stored: its key, sender name, type, time and the one content member its
/// type names, without the file itself (`base64`) or anything else the body carried.
fn stored_form(item: &Value, message_type: &str, content: &Value) -> Value {
    let mut out = Map::new();
    for key in ["key", "pushName", "messageType", "messageTimestamp"] {
        if let Some(v) = item.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    let mut content = content.clone();
    if let Some(o) = content.as_object_mut() {
        for heavy in ["base64", "jpegThumbnail", "mediaKey", "fileEncSha256"] {
            o.remove(heavy);
        }
    }
    if !message_type.is_empty() {
        out.insert("message".into(), Value::Object(Map::from_iter([(message_type.to_string(), content)])));
    }
    Value::Object(out)
}

fn read_status(instance: &str, item: &Value) -> Option<StatusUpdate> {
    // Acks of what the business sent; the customer's own messages need none.
    if item.get("fromMe").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let provider_id = text(item, "/keyId").or_else(|| text(item, "/key/id"))?;
    let status = match text(item, "/status")?.as_str() {
        "SERVER_ACK" => DeliveryStatus::Sent,
        "DELIVERY_ACK" => DeliveryStatus::Delivered,
        "READ" | "PLAYED" => DeliveryStatus::Read,
        "ERROR" => DeliveryStatus::Failed,
        _ => return None,
    };
    Some(StatusUpdate {
        phone_number_id: instance.to_string(),
        provider_id,
        status,
        at_ms: 0,
        recipient: text(item, "/remoteJid").and_then(|j| phone_of(&j)),
        recipient_user_id: None,
        callback_data: None,
        error_code: None,
        error_title: (status == DeliveryStatus::Failed).then(|| "WhatsApp did not deliver the message".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(event: &str, data: Value) -> Vec<u8> {
        json!({"event": event, "instance": "loja", "data": data, "destination": "http://x", "date_time": "2026-12-03T10:00:00.000-03:00",
               "sender": "5511940000001@s.whatsapp.net", "server_url": "http://gw", "apikey": "tok"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn customer_texts_and_phone_echoes_are_read() {
        let body = envelope(
            "messages.upsert",
            json!({"key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": false, "id": "3EB0A1"},
                   "pushName": "Maria", "message": {"conversation": "Oi, tudo bem?"}, "messageType": "conversation",
                   "messageTimestamp": 1764763200, "instanceId": "u", "source": "android"}),
        );
        let e = parse(&body).unwrap();
        assert_eq!((e.instance.as_str(), e.apikey.as_deref()), ("loja", Some("tok")));
        let m = &e.delivery.messages[0];
        assert_eq!(m.from.as_deref(), Some("5511987654321"));
        assert_eq!((m.kind, m.body.as_deref(), m.from_me), (MessageKind::Text, Some("Oi, tudo bem?"), false));
        assert_eq!((m.sent_at_ms, m.profile_name.as_deref()), (1_764_763_200_000, Some("Maria")));

        let echo = envelope(
            "MESSAGES_UPSERT",
            json!({"key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": true, "id": "3EB0B2"},
                   "pushName": "Loja", "message": {"extendedTextMessage": {"text": "Já te respondo"}}, "messageType": "extendedTextMessage"}),
        );
        let m = &parse(&echo).unwrap().delivery.messages[0];
        assert!(m.from_me);
        assert_eq!((m.body.as_deref(), m.profile_name.as_deref()), (Some("Já te respondo"), None));
    }

    #[test]
    fn media_is_fetched_by_message_id_and_never_stored_inline() {
        let body = envelope(
            "messages.upsert",
            json!({"key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": false, "id": "IMG1"},
                   "message": {"imageMessage": {"caption": "nota", "mimetype": "image/jpeg", "url": "https://mmg.whatsapp.net/x"},
                               "base64": "AAAA"},
                   "messageType": "imageMessage"}),
        );
        let m = &parse(&body).unwrap().delivery.messages[0];
        assert_eq!(
            (m.kind, m.media_id.as_deref(), m.body.as_deref()),
            (MessageKind::Image, Some("IMG1"), Some("nota"))
        );
        assert!(!m.raw.contains("AAAA"), "{}", m.raw);
        let voice = envelope(
            "messages.upsert",
            json!({"key": {"remoteJid": "5511987654321@s.whatsapp.net", "id": "V1"},
                   "message": {"audioMessage": {"ptt": true, "mimetype": "audio/ogg; codecs=opus"}}, "messageType": "audioMessage"}),
        );
        assert_eq!(parse(&voice).unwrap().delivery.messages[0].kind, MessageKind::Voice);
    }

    #[test]
    fn groups_and_broadcasts_are_not_conversations() {
        for jid in ["120363000000000000@g.us", "status@broadcast", "abc@newsletter"] {
            let body = envelope(
                "messages.upsert",
                json!({"key": {"remoteJid": jid, "id": "G"}, "message": {"conversation": "x"}, "messageType": "conversation"}),
            );
            assert!(parse(&body).unwrap().delivery.messages.is_empty(), "{jid}");
        }
    }

    #[test]
    fn acks_and_session_events_are_read() {
        let ack = envelope(
            "messages.update",
            json!({"keyId": "3EB0C3", "remoteJid": "5511987654321@s.whatsapp.net", "fromMe": true, "status": "DELIVERY_ACK"}),
        );
        let s = &parse(&ack).unwrap().delivery.statuses[0];
        assert_eq!((s.provider_id.as_str(), s.status), ("3EB0C3", DeliveryStatus::Delivered));

        let qr =
            envelope("qrcode.updated", json!({"qrcode": {"instance": "loja", "pairingCode": null, "code": "2@q"}}));
        assert_eq!(parse(&qr).unwrap().session, Some(SessionEvent::Qr(Qr { code: "2@q".into(), pairing_code: None })));
        let open = envelope(
            "connection.update",
            json!({"state": "open", "statusReason": 200, "wuid": "5511940000001:12@s.whatsapp.net"}),
        );
        assert_eq!(parse(&open).unwrap().session, Some(SessionEvent::Open { phone: Some("5511940000001".into()) }));
        let dropped = envelope("connection.update", json!({"state": "close", "statusReason": 428}));
        assert_eq!(parse(&dropped).unwrap().session, Some(SessionEvent::Closed { reason: Some(428) }));
        let unlinked = envelope("connection.update", json!({"state": "close", "statusReason": 401}));
        assert_eq!(parse(&unlinked).unwrap().session, Some(SessionEvent::LoggedOut));
    }

    #[test]
    fn anything_else_is_read_without_panicking() {
        for body in [
            &b"[]"[..],
            b"{}",
            b"{\"event\":1,\"data\":[1,null,\"x\"]}",
            b"{\"event\":\"messages.upsert\",\"data\":{\"key\":7}}",
        ] {
            let e = parse(body).unwrap();
            assert!(e.delivery.messages.is_empty() && e.session.is_none());
        }
        assert!(parse(b"not json").is_err());
    }
}
