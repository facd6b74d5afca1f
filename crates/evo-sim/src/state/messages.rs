//! Messages in both directions: customers and the phone writing (`messages.upsert`), the
//! business sending through the API (the answer, `send.message`, then `messages.update`
//! acks), reads, and the media the gateway holds for `getBase64FromMediaMessage`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{wait_all, Conn, Instance, LogLine, Media, SentRecord, Shared};
use crate::error::ApiError;
use crate::webhook::Pending;
use crate::{ids, CustomerMessage, SentKind, SentMessage};

/// How long after a send its `SERVER_ACK` comes, and the `DELIVERY_ACK` after that: long
/// enough that the HTTP answer usually arrives first, as with a real phone network.
const ACK_DELAY: Duration = Duration::from_millis(100);

/// A send through the API, validated by the HTTP layer.
pub(crate) struct Outgoing {
    /// Digits of `number`.
    pub number: String,
    pub kind: SentKind,
    pub text: Option<String>,
    /// `(bytes, mimetype, fileName)` for media.
    pub media: Option<(Vec<u8>, String, Option<String>)>,
}

/// A fake CDN URL like the ones WhatsApp media messages carry.
fn media_url() -> String {
    format!("https://mmg.whatsapp.net/v/t62.7118-24/{}_n.enc?ccb=11-4", ids::phone_message_id())
}

/// The instance by name, open (anything a phone or the API does needs the connection).
fn open_instance<'a>(
    instances: &'a mut std::collections::HashMap<String, Instance>,
    name: &str,
) -> Result<&'a mut Instance, ApiError> {
    let inst = instances.get_mut(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
    if inst.conn != Conn::Open {
        return Err(ApiError::connection_closed());
    }
    Ok(inst)
}

impl Shared {
    /// A customer writes: `messages.upsert`, awaited.
    pub(crate) async fn customer_sends(
        &self,
        name: &str,
        phone: &str,
        push_name: &str,
        msg: CustomerMessage,
    ) -> anyhow::Result<String> {
        let number = ids::digits(phone);
        anyhow::ensure!(!number.is_empty(), "the customer's number needs digits");
        let (id, pending) = {
            let mut instances = self.lock();
            let inst = open_instance(&mut instances, name)?;
            let id = ids::phone_message_id();
            let (message_type, message, summary) = self.customer_message(inst, &id, msg);
            inst.log(LogLine {
                from: "customer",
                peer: number.clone(),
                push_name: push_name.to_string(),
                text: summary,
                timestamp: ids::now_secs(),
            });
            let data = json!({
                "key": { "remoteJid": ids::jid(&number), "fromMe": false, "id": id },
                "pushName": push_name,
                "status": "DELIVERY_ACK",
                "message": message,
                "messageType": message_type,
                "messageTimestamp": ids::now_secs(),
                "instanceId": inst.id,
                "source": "android",
            });
            (id, self.post(inst, "messages.upsert", data))
        };
        pending.wait().await?;
        Ok(id)
    }

    /// Builds a customer message's `message` object, storing its media: (messageType,
    /// message, a summary for the page).
    fn customer_message(&self, inst: &mut Instance, id: &str, msg: CustomerMessage) -> (&'static str, Value, String) {
        let (message_type, bytes, mime, body, summary, file_name, caption) = match msg {
            CustomerMessage::Text(text) => return ("conversation", json!({ "conversation": text }), text),
            CustomerMessage::Image { bytes, mime, caption } => {
                let mut m = json!({ "url": media_url(), "mimetype": mime, "fileLength": bytes.len().to_string(),
                                    "height": 640, "width": 480 });
                if let Some(c) = &caption {
                    m["caption"] = json!(c);
                }
                let summary = format!("[imagem] {}", caption.clone().unwrap_or_default());
                ("imageMessage", bytes, mime, m, summary, None, caption)
            }
            CustomerMessage::Audio { bytes, mime, voice } => {
                // Opus voice notes run at about 4 KB per second.
                let seconds = (bytes.len() / 4000).max(1);
                let m = json!({ "url": media_url(), "mimetype": mime, "fileLength": bytes.len().to_string(),
                                "seconds": seconds, "ptt": voice });
                ("audioMessage", bytes, mime, m, "[áudio]".to_string(), None, None)
            }
            CustomerMessage::Document { bytes, mime, filename } => {
                let m = json!({ "url": media_url(), "mimetype": mime, "fileLength": bytes.len().to_string(),
                                "fileName": filename, "title": filename });
                let summary = format!("[documento] {filename}");
                ("documentMessage", bytes, mime, m, summary, Some(filename), None)
            }
        };
        let mut message = Map::new();
        message.insert(message_type.to_string(), body);
        if inst.webhook.base64 {
            // Evolution puts the media inline at data.message.base64 when webhookBase64 is on.
            message.insert("base64".to_string(), Value::String(ids::b64(&bytes)));
        }
        let media = Media { message_type, bytes: Arc::new(bytes), mime, file_name, caption };
        inst.media.insert(id.to_string(), media);
        (message_type, Value::Object(message), summary)
    }

    /// The business writes on the phone: `messages.upsert` with `fromMe: true`, awaited.
    pub(crate) async fn phone_sends(&self, name: &str, to_phone: &str, text: &str) -> anyhow::Result<String> {
        let number = ids::digits(to_phone);
        anyhow::ensure!(!number.is_empty(), "the customer's number needs digits");
        let (id, pending) = {
            let mut instances = self.lock();
            let inst = open_instance(&mut instances, name)?;
            let id = ids::phone_message_id();
            inst.log(LogLine {
                from: "phone",
                peer: number.clone(),
                push_name: ids::PROFILE_NAME.to_string(),
                text: text.to_string(),
                timestamp: ids::now_secs(),
            });
            let data = json!({
                "key": { "remoteJid": ids::jid(&number), "fromMe": true, "id": id },
                "pushName": ids::PROFILE_NAME,
                "status": "SERVER_ACK",
                "message": { "conversation": text },
                "messageType": "conversation",
                "messageTimestamp": ids::now_secs(),
                "instanceId": inst.id,
                "source": "android",
            });
            (id, self.post(inst, "messages.upsert", data))
        };
        pending.wait().await?;
        Ok(id)
    }

    /// A send through the API: records it, queues `send.message`, and schedules its acks.
    /// Returns the 201 answer.
    pub(crate) fn send(self: &Arc<Self>, name: &str, out: Outgoing) -> Result<Value, ApiError> {
        let mut instances = self.lock();
        let inst = open_instance(&mut instances, name)?;
        if out.number.is_empty() || out.number == ids::NOT_ON_WHATSAPP {
            return Err(ApiError::BadRequest(vec![
                json!({ "jid": ids::jid(&out.number), "exists": false, "number": out.number }),
            ]));
        }
        let id = ids::api_message_id();
        let now = ids::now_secs();
        let (message_type, message) = api_message(&out);
        let msg = SentMessage {
            id: id.clone(),
            number: out.number.clone(),
            kind: out.kind,
            text: out.text.clone(),
            media_len: out.media.as_ref().map(|m| m.0.len()),
            mimetype: out.media.as_ref().map(|m| m.1.clone()),
            file_name: out.media.as_ref().and_then(|m| m.2.clone()),
            status: "PENDING".into(),
            timestamp: now,
        };
        if let Some((bytes, mime, file_name)) = out.media {
            let media = Media { message_type, bytes: Arc::new(bytes), mime, file_name, caption: out.text.clone() };
            inst.media.insert(id.clone(), media);
        }
        let summary = out.text.clone().unwrap_or_else(|| format!("[{message_type}]"));
        inst.log(LogLine {
            from: "api",
            peer: out.number.clone(),
            push_name: String::new(),
            text: summary,
            timestamp: now,
        });
        inst.sent.push(SentRecord { msg, internal_id: ids::uuid() });
        let answer = json!({
            "key": { "remoteJid": ids::jid(&out.number), "fromMe": true, "id": id },
            "pushName": "",
            "status": "PENDING",
            "message": message,
            "messageType": message_type,
            "messageTimestamp": now,
            "instanceId": inst.id,
            "source": "unknown",
        });
        let _ = self.post(inst, "send.message", answer.clone());
        let (shared, name) = (self.clone(), name.to_string());
        tokio::spawn(async move {
            for status in ["SERVER_ACK", "DELIVERY_ACK"] {
                if !shared.sleep_or_shutdown(ACK_DELAY).await {
                    return;
                }
                let _ = shared.ack(&name, &id, status);
            }
        });
        Ok(answer)
    }

    /// Moves a sent message to `status` and queues its `messages.update` (never backwards).
    fn ack(&self, name: &str, id: &str, status: &str) -> Pending {
        const ORDER: [&str; 4] = ["PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ"];
        let rank = |s: &str| ORDER.iter().position(|o| *o == s).unwrap_or(0);
        let mut instances = self.lock();
        let Some(inst) = instances.get_mut(name) else { return Pending::none() };
        let Some(rec) = inst.sent.iter_mut().find(|r| r.msg.id == id) else { return Pending::none() };
        if rank(status) <= rank(&rec.msg.status) {
            return Pending::none();
        }
        rec.msg.status = status.to_string();
        let data = json!({
            "keyId": id,
            "remoteJid": ids::jid(&rec.msg.number),
            "fromMe": true,
            "participant": null,
            "status": status,
            "instanceId": inst.id,
            "messageId": rec.internal_id,
        });
        let inst = &*inst;
        self.post(inst, "messages.update", data)
    }

    /// The customer reads the chat: `READ` for each unread API-sent message to them, awaited.
    pub(crate) async fn customer_reads(&self, name: &str, phone: &str) -> anyhow::Result<usize> {
        let number = ids::digits(phone);
        let ids: Vec<String> = {
            let mut instances = self.lock();
            let inst = open_instance(&mut instances, name)?;
            inst.sent
                .iter()
                .filter(|r| r.msg.number == number && r.msg.status != "READ")
                .map(|r| r.msg.id.clone())
                .collect()
        };
        let pending: Vec<Pending> = ids.iter().map(|id| self.ack(name, id, "READ")).collect();
        wait_all(pending).await?;
        Ok(ids.len())
    }

    /// `POST /chat/getBase64FromMediaMessage`: a held media message by id.
    pub(crate) fn media_base64(&self, name: &str, id: &str) -> Result<Value, ApiError> {
        let instances = self.lock();
        let inst = instances.get(name).ok_or_else(|| ApiError::NotFound(name.to_string()))?;
        let media = inst.media.get(id).ok_or_else(|| ApiError::bad(format!("Message \"{id}\" not found")))?;
        let mut answer = json!({
            "mediaType": media.message_type,
            "size": { "fileLength": media.bytes.len() },
            "mimetype": media.mime,
            "base64": ids::b64(&media.bytes),
        });
        // Evolution leaves out what the message does not have (JSON drops undefined).
        if let Some(f) = &media.file_name {
            answer["fileName"] = json!(f);
        }
        if let Some(c) = &media.caption {
            answer["caption"] = json!(c);
        }
        Ok(answer)
    }
}

/// The `message` object of an API send's answer, and its messageType.
fn api_message(out: &Outgoing) -> (&'static str, Value) {
    let mime = out.media.as_ref().map(|m| m.1.clone()).unwrap_or_default();
    let len = out.media.as_ref().map_or(0, |m| m.0.len()).to_string();
    let (message_type, mut body) = match out.kind {
        SentKind::Text => return ("conversation", json!({ "conversation": out.text.clone().unwrap_or_default() })),
        SentKind::Image => ("imageMessage", json!({ "url": media_url(), "mimetype": mime, "fileLength": len })),
        SentKind::Video => ("videoMessage", json!({ "url": media_url(), "mimetype": mime, "fileLength": len })),
        SentKind::Document => {
            let name = out.media.as_ref().and_then(|m| m.2.clone()).unwrap_or_default();
            let m = json!({ "url": media_url(), "mimetype": mime, "fileLength": len, "fileName": name, "title": name });
            ("documentMessage", m)
        }
        SentKind::Audio => {
            let m = json!({ "url": media_url(), "mimetype": "audio/ogg; codecs=opus", "fileLength": len, "ptt": true });
            ("audioMessage", m)
        }
    };
    if let Some(c) = &out.text {
        body["caption"] = json!(c);
    }
    let mut message = Map::new();
    message.insert(message_type.to_string(), body);
    (message_type, Value::Object(message))
}
