//! Webhook posting (signed, with retries) and what customers send: their messages, media and
//! batches, and the business reading them.

use std::time::Duration;

use anyhow::anyhow;
use serde_json::{json, Value};

use super::{InboundRecord, Shared, SimUser, RETRIES};
use crate::ids;
use crate::payload;
use crate::samples;
use crate::{sign_body, BatchDelivery, BatchShape, CustomerMessage, Delivery};

impl Shared {
    // ---- webhooks -------------------------------------------------------------------------

    /// POSTs a signed webhook (twice with the duplicate fault). Returns the first answer's status
    /// and how many POSTs were made.
    pub(crate) async fn post_webhook(&self, body: &Value) -> anyhow::Result<(u16, u32)> {
        let url = self.webhook_url().ok_or_else(|| anyhow!("wa-sim: no webhook URL set"))?;
        let bytes = serde_json::to_vec(body)?;
        let signature = sign_body(&self.cfg.app_secret, &bytes);
        let times = if self.faults().duplicate_deliveries { 2 } else { 1 };
        let mut first = None;
        for _ in 0..times {
            let resp = self
                .client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Hub-Signature-256", &signature)
                .body(bytes.clone())
                .send()
                .await?;
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            first.get_or_insert(status);
        }
        Ok((first.unwrap_or(0), times))
    }

    /// Like [`Shared::post_webhook`] but retries (with backoff) on errors and non-2xx answers, as
    /// Meta does; used for status webhooks in the background.
    pub(super) async fn post_webhook_retrying(&self, body: &Value) {
        let mut backoff = Duration::from_millis(200);
        for attempt in 1..=RETRIES {
            match self.post_webhook(body).await {
                Ok((status, _)) if (200..300).contains(&status) => return,
                Ok((status, _)) => tracing::warn!(status, attempt, "wa-sim: webhook not acknowledged"),
                Err(e) => tracing::warn!(error = %e, attempt, "wa-sim: webhook delivery failed"),
            }
            if attempt == RETRIES || !self.sleep_or_shutdown(backoff).await {
                return;
            }
            backoff *= 2;
        }
    }

    pub(crate) fn set_template_status(&self, name: &str, language: &str, status: &str) -> bool {
        if crate::templates::find(name, language).is_none() {
            return false;
        }
        let key = (name.to_string(), language.to_string());
        self.store().template_status.insert(key, status.to_ascii_uppercase());
        true
    }

    /// Meta's `user_preferences` webhook (field `user_preferences`, category `marketing_messages`).
    pub(crate) async fn customer_sets_marketing(&self, wa_id: &str, stop: bool) -> anyhow::Result<u16> {
        let digits = crate::ids::digits(wa_id);
        {
            let mut store = self.store();
            if stop {
                store.marketing_stopped.insert(digits.clone());
            } else {
                store.marketing_stopped.remove(&digits);
            }
        }
        let value = serde_json::json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": self.cfg.display_phone_number, "phone_number_id": self.cfg.phone_number_id },
            "user_preferences": [{
                "wa_id": digits,
                "detail": if stop { "User requested to stop marketing messages" } else { "User requested to resume marketing messages" },
                "category": "marketing_messages",
                "value": if stop { "stop" } else { "resume" },
                "timestamp": self.now_secs(),
            }]
        });
        let body = self.envelope_one_change(serde_json::json!({ "field": "user_preferences", "value": value }));
        self.post_webhook(&body).await.map(|(status, _)| status)
    }

    pub(super) fn envelope_one_change(&self, change: Value) -> Value {
        payload::envelope(vec![payload::entry(&self.cfg.waba_id, vec![change])])
    }

    // ---- customer messages ----------------------------------------------------------------

    /// The wamid of the newest business message of `kind` sent to the user.
    pub(super) fn last_sent_of_kind(&self, user_id: &str, kind: &str) -> Option<String> {
        self.store()
            .sent
            .iter()
            .rev()
            .find(|r| r.msg.user_id.as_deref() == Some(user_id) && r.msg.message_type == kind)
            .map(|r| r.msg.id.clone())
    }

    /// The newest list message sent to the user that offers row `row_id`: its wamid and the
    /// row's description (Meta echoes both in the `list_reply`).
    fn list_with_row(&self, user_id: &str, row_id: &str) -> Option<(String, Option<String>)> {
        self.store().sent.iter().rev().filter(|r| r.msg.user_id.as_deref() == Some(user_id)).find_map(|r| {
            let sections = r.msg.request["interactive"]["action"]["sections"].as_array()?;
            let row = sections
                .iter()
                .filter_map(|s| s["rows"].as_array())
                .flatten()
                .find(|row| row["id"].as_str() == Some(row_id))?;
            Some((r.msg.id.clone(), row["description"].as_str().map(str::to_string)))
        })
    }

    pub(super) fn media_object(&self, bytes: Vec<u8>, mime: &str) -> serde_json::Map<String, Value> {
        let id = self.add_media(bytes, mime);
        let s = self.store();
        let sha = s.media.get(&id).map(|m| m.sha256_b64.clone()).unwrap_or_default();
        let mut o = serde_json::Map::new();
        o.insert("mime_type".into(), json!(mime));
        o.insert("sha256".into(), json!(sha));
        o.insert("id".into(), json!(id));
        o
    }

    /// Builds one `messages[]` element for `msg` (storing its media), records it for the phone
    /// page, and returns `(wamid, json)`.
    /// `from` is the number Meta shows (none for a user who shows a username and is not in the
    /// business's contact book); every message names its sender's user id in `from_user_id`.
    pub(crate) fn build_customer_message(
        &self,
        user: &SimUser,
        shown_phone: Option<&str>,
        msg: &CustomerMessage,
    ) -> (String, Value) {
        let id = ids::wamid();
        let ts = self.now_secs();
        let mut m = json!({ "id": id, "timestamp": ts.to_string() });
        if let Some(phone) = shown_phone {
            m["from"] = json!(phone);
        }
        m["from_user_id"] = json!(user.user_id);
        let from = user.user_id.as_str();
        let (kind, summary): (&str, String) = match msg {
            CustomerMessage::Text(body) => {
                m["text"] = json!({ "body": body });
                ("text", body.clone())
            }
            CustomerMessage::ReplyText { context_id, text } => {
                m["text"] = json!({ "body": text });
                m["context"] = json!({ "from": self.cfg.display_phone_number, "id": context_id });
                ("text", text.clone())
            }
            CustomerMessage::Image { caption } => {
                let mut o = self.media_object(samples::jpeg(), "image/jpeg");
                if let Some(c) = caption {
                    o.insert("caption".into(), json!(c));
                }
                m["image"] = Value::Object(o);
                ("image", format!("[image] {}", caption.clone().unwrap_or_default()))
            }
            CustomerMessage::Audio { voice } => {
                let mut o = self.media_object(samples::ogg_opus(), "audio/ogg; codecs=opus");
                o.insert("voice".into(), json!(voice));
                m["audio"] = Value::Object(o);
                ("audio", if *voice { "[voice note]".into() } else { "[audio]".into() })
            }
            CustomerMessage::Video => {
                m["video"] = Value::Object(self.media_object(samples::mp4(), "video/mp4"));
                ("video", "[video]".into())
            }
            CustomerMessage::Document { filename } => {
                let mut o = self.media_object(samples::pdf(), "application/pdf");
                o.insert("filename".into(), json!(filename));
                m["document"] = Value::Object(o);
                ("document", format!("[document] {filename}"))
            }
            CustomerMessage::Sticker => {
                let mut o = self.media_object(samples::webp(), "image/webp");
                o.insert("animated".into(), json!(false));
                m["sticker"] = Value::Object(o);
                ("sticker", "[sticker]".into())
            }
            CustomerMessage::Location { latitude, longitude, name } => {
                let mut o = json!({ "latitude": latitude, "longitude": longitude });
                if let Some(n) = name {
                    o["name"] = json!(n);
                    o["address"] = json!(format!("{n}, São Paulo - SP, Brasil"));
                }
                m["location"] = o;
                ("location", format!("[location] {latitude}, {longitude} {}", name.clone().unwrap_or_default()))
            }
            CustomerMessage::Contacts => {
                m["contacts"] = json!([{
                    "name": { "formatted_name": "Maria Silva", "first_name": "Maria", "last_name": "Silva" },
                    "phones": [{ "phone": "+55 11 91234-5678", "wa_id": "5511912345678", "type": "CELL" }],
                    "emails": [{ "email": "maria.silva@example.com", "type": "WORK" }],
                    "org": { "company": "Exemplo Ltda" }
                }]);
                ("contacts", "[contact] Maria Silva".into())
            }
            CustomerMessage::ButtonReply { id: bid, title } => {
                m["interactive"] = json!({ "type": "button_reply", "button_reply": { "id": bid, "title": title } });
                if let Some(ctx) = self.last_sent_of_kind(from, "interactive") {
                    m["context"] = json!({ "from": self.cfg.display_phone_number, "id": ctx });
                }
                ("interactive", title.clone())
            }
            CustomerMessage::ListReply { id: rid, title } => {
                // The reply quotes the list that offered the row, with the row's description.
                let (context, description) = match self.list_with_row(from, rid) {
                    Some((list, description)) => (Some(list), description),
                    None => (self.last_sent_of_kind(from, "interactive"), None),
                };
                let mut reply = json!({ "id": rid, "title": title });
                if let Some(d) = description {
                    reply["description"] = json!(d);
                }
                m["interactive"] = json!({ "type": "list_reply", "list_reply": reply });
                if let Some(ctx) = context {
                    m["context"] = json!({ "from": self.cfg.display_phone_number, "id": ctx });
                }
                ("interactive", title.clone())
            }
            CustomerMessage::TemplateButton { payload: p, text } => {
                m["button"] = json!({ "payload": p, "text": text });
                if let Some(ctx) = self.last_sent_of_kind(from, "template") {
                    m["context"] = json!({ "from": self.cfg.display_phone_number, "id": ctx });
                }
                ("button", text.clone())
            }
            CustomerMessage::Reaction { message_id, emoji } => {
                m["reaction"] = json!({ "message_id": message_id, "emoji": emoji });
                ("reaction", format!("[reaction] {emoji}"))
            }
            CustomerMessage::Unsupported => {
                m["errors"] = json!([{
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": { "details": "Message type is currently not supported." }
                }]);
                ("unsupported", "[unsupported message]".into())
            }
        };
        m["type"] = json!(kind);
        let mut s = self.store();
        let seq = s.next_seq();
        s.inbound.push(InboundRecord {
            seq,
            wa_id: user.address(),
            user_id: user.user_id.clone(),
            id: id.clone(),
            kind: kind.to_string(),
            summary,
            timestamp: ts,
            read: false,
            acknowledged: None,
        });
        (id, m)
    }

    pub(crate) async fn customer_sends(
        &self,
        from_wa_id: &str,
        profile_name: &str,
        message: CustomerMessage,
    ) -> anyhow::Result<Delivery> {
        let from = ids::digits(from_wa_id);
        anyhow::ensure!(!from.is_empty(), "wa-sim: the customer's wa_id has no digits");
        self.customer_sends_as(Some(&from), None, profile_name, message).await
    }

    /// A customer sends a message, shown with the number given (Meta shows a username user's
    /// number only while it is in the business's contact book): without one, the webhook names
    /// them by user id (and username) only.
    pub(crate) async fn customer_sends_as(
        &self,
        phone: Option<&str>,
        username: Option<&str>,
        profile_name: &str,
        message: CustomerMessage,
    ) -> anyhow::Result<Delivery> {
        anyhow::ensure!(phone.is_some() || username.is_some(), "wa-sim: a customer needs a number or a username");
        let user = self.user(phone, username);
        let (id, m) = self.build_customer_message(&user, phone, &message);
        let body = self.envelope_one_change(payload::messages_change(
            &self.cfg.display_phone_number,
            &self.cfg.phone_number_id,
            vec![payload::contact(phone, &user.user_id, profile_name, user.username.as_deref())],
            vec![m],
        ));
        let result = self.post_webhook(&body).await;
        self.set_acknowledged(std::slice::from_ref(&id), matches!(result, Ok((200..=299, _))));
        let (status, attempts) = result?;
        Ok(Delivery { message_id: id, user_id: user.user_id, status, payload: body, attempts })
    }

    pub(crate) async fn customer_sends_batch(
        &self,
        items: Vec<(String, String, CustomerMessage)>,
        shape: BatchShape,
    ) -> anyhow::Result<BatchDelivery> {
        let (dpn, pnid) = (&self.cfg.display_phone_number, &self.cfg.phone_number_id);
        let mut ids_out = Vec::new();
        let mut parts = Vec::new();
        for (from, name, msg) in &items {
            let from = ids::digits(from);
            let user = self.user(Some(&from), None);
            let (id, m) = self.build_customer_message(&user, Some(&from), msg);
            ids_out.push(id);
            parts.push((payload::contact(Some(&from), &user.user_id, name, user.username.as_deref()), m));
        }
        let body = match shape {
            BatchShape::OneChange => {
                let (contacts, messages): (Vec<Value>, Vec<Value>) = parts.into_iter().unzip();
                self.envelope_one_change(payload::messages_change(dpn, pnid, contacts, messages))
            }
            BatchShape::ChangePerMessage => {
                let changes = parts.into_iter().map(|(c, m)| payload::messages_change(dpn, pnid, vec![c], vec![m]));
                payload::envelope(vec![payload::entry(&self.cfg.waba_id, changes.collect())])
            }
            BatchShape::EntryPerMessage => payload::envelope(
                parts
                    .into_iter()
                    .map(|(c, m)| {
                        payload::entry(&self.cfg.waba_id, vec![payload::messages_change(dpn, pnid, vec![c], vec![m])])
                    })
                    .collect(),
            ),
        };
        let result = self.post_webhook(&body).await;
        self.set_acknowledged(&ids_out, matches!(result, Ok((200..=299, _))));
        let (status, _) = result?;
        Ok(BatchDelivery { message_ids: ids_out, status, payload: body })
    }

    pub(super) fn set_acknowledged(&self, ids: &[String], ok: bool) {
        let mut s = self.store();
        let mut left = ids.len();
        for r in s.inbound.iter_mut().rev() {
            if left == 0 {
                break;
            }
            if ids.contains(&r.id) {
                r.acknowledged = Some(ok);
                left -= 1;
            }
        }
    }

    /// The business marked `message_id` as read: it and the same customer's earlier messages are read.
    pub(crate) fn mark_inbound_read(&self, message_id: &str) -> bool {
        let mut s = self.store();
        let Some(pos) = s.inbound.iter().position(|r| r.id == message_id) else { return false };
        let user_id = s.inbound[pos].user_id.clone();
        for r in s.inbound[..=pos].iter_mut().filter(|r| r.user_id == user_id) {
            r.read = true;
        }
        true
    }
}
