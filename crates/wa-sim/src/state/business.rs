//! Business messages: accepting a send, its conversation, and the status webhooks that follow
//! (sent, delivered, read, failed).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Conversation, Failure, SendTo, SentRecord, Shared, StatusSource};
use crate::ids;
use crate::payload;
use crate::{MessageStatus, SentMessage};

impl Shared {
    // ---- business messages and their statuses ---------------------------------------------

    /// Records an accepted send and starts its status webhooks. Returns the wamid.
    ///
    /// Like Meta, the simulator accepts a free-form message outside the customer's 24-hour window
    /// (an id comes back) and then fails it with a 131047 status webhook; numbers ending in 0000,
    /// and user ids nobody has, fail with 131026.
    pub(crate) fn accept_send(self: &Arc<Self>, to: &SendTo, kind: &str, request: Value, category: &str) -> String {
        let id = ids::wamid();
        let (user, recipient_phone) = match to {
            SendTo::Phone(phone) => (Some(self.user(Some(phone), None)), Some(phone.clone())),
            SendTo::UserId(user_id) => {
                let user = self.user_by_id(user_id);
                let phone = user.as_ref().filter(|u| u.username.is_none()).and_then(|u| u.phone.clone());
                (user, phone)
            }
        };
        let user_id = match (&user, to) {
            (Some(u), _) => u.user_id.clone(),
            (None, SendTo::UserId(u)) => u.clone(),
            (None, SendTo::Phone(p)) => p.clone(),
        };
        let address = match (&user, to) {
            (_, SendTo::Phone(p)) => p.clone(),
            (Some(u), SendTo::UserId(_)) => u.address(),
            (None, SendTo::UserId(u)) => u.clone(),
        };
        let failure = if user.is_none() || address.ends_with("0000") {
            Some(Failure::Undeliverable)
        } else if kind != "template" && self.outside_service_window(&user_id) {
            Some(Failure::ReEngagement)
        } else {
            None
        };
        let callback = request.get("biz_opaque_callback_data").and_then(Value::as_str).map(str::to_string);
        let timestamp = self.now_secs();
        let received_at = std::time::Instant::now();
        {
            let mut s = self.store();
            let seq = s.next_seq();
            s.sent.push(SentRecord {
                seq,
                category: category.to_string(),
                failure,
                recipient_phone,
                callback,
                msg: SentMessage {
                    id: id.clone(),
                    to: address,
                    user_id: Some(user_id),
                    message_type: kind.to_string(),
                    request,
                    status: MessageStatus::Accepted,
                    status_history: Vec::new(),
                    timestamp,
                    received_at,
                },
            });
        }
        let shared = self.clone();
        let wamid = id.clone();
        tokio::spawn(async move { shared.run_statuses(wamid, failure).await });
        id
    }

    pub(super) fn conversation_for(&self, recipient: &str, origin: &str) -> (String, u64, String) {
        let now = self.now_secs();
        let mut s = self.store();
        let c = s.conversations.entry(recipient.to_string()).or_insert_with(|| Conversation {
            id: ids::alnum(32).to_lowercase(),
            expires: now + 86_400,
            origin: origin.to_string(),
        });
        if c.expires <= now {
            *c = Conversation { id: ids::alnum(32).to_lowercase(), expires: now + 86_400, origin: origin.to_string() };
        }
        (c.id.clone(), c.expires, c.origin.clone())
    }

    /// One `statuses[]` element as Meta sends it: `recipient_id` when the number may be shown,
    /// `recipient_user_id` always, and the request's `biz_opaque_callback_data`.
    pub(super) fn status_json(&self, wamid: &str, status: MessageStatus, ts: u64, r: &StatusSource) -> Value {
        let (category, failure) = (r.category.as_str(), r.failure);
        let mut v = json!({
            "id": wamid,
            "status": status.as_str(),
            "timestamp": ts.to_string(),
        });
        if let Some(phone) = &r.recipient_phone {
            v["recipient_id"] = json!(phone);
        }
        v["recipient_user_id"] = json!(r.user_id);
        if let Some(data) = &r.callback {
            v["biz_opaque_callback_data"] = json!(data);
        }
        match status {
            MessageStatus::Sent | MessageStatus::Delivered => {
                let (conv_id, expires, origin) = self.conversation_for(&r.user_id, category);
                let mut conv = json!({ "id": conv_id, "origin": { "type": origin } });
                if status == MessageStatus::Sent {
                    conv["expiration_timestamp"] = json!(expires.to_string());
                }
                v["conversation"] = conv;
                let service = category == "service";
                v["pricing"] = json!({
                    "billable": !service,
                    "pricing_model": "PMP",
                    "category": category,
                    "type": if service { "free_customer_service" } else { "regular" },
                });
            }
            MessageStatus::Failed => {
                let (code, title, details) = match failure.unwrap_or(Failure::Undeliverable) {
                    Failure::Undeliverable => (
                        131026,
                        "Message Undeliverable",
                        "Message Undeliverable: the recipient is not a WhatsApp user or cannot receive this message.",
                    ),
                    Failure::ReEngagement => (
                        131047,
                        "Re-engagement message",
                        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                    ),
                };
                v["errors"] = json!([{
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": { "details": details },
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
                }]);
            }
            MessageStatus::Read | MessageStatus::Accepted => {}
        }
        v
    }

    /// Records and POSTs one status webhook for a business message.
    pub(super) async fn emit_status(&self, wamid: &str, status: MessageStatus, ts: u64) {
        let source = {
            let mut s = self.store();
            let Some(r) = s.sent.iter_mut().find(|r| r.msg.id == wamid) else { return };
            r.msg.status_history.push(status);
            if status == MessageStatus::Failed || (r.msg.status != MessageStatus::Failed && status > r.msg.status) {
                r.msg.status = status;
            }
            StatusSource {
                recipient_phone: r.recipient_phone.clone(),
                user_id: r.msg.user_id.clone().unwrap_or_default(),
                callback: r.callback.clone(),
                category: r.category.clone(),
                failure: r.failure,
            }
        };
        let status_v = self.status_json(wamid, status, ts, &source);
        let body = self.envelope_one_change(payload::statuses_change(
            &self.cfg.display_phone_number,
            &self.cfg.phone_number_id,
            vec![status_v],
        ));
        self.post_webhook_retrying(&body).await;
    }

    pub(super) fn current_status(&self, wamid: &str) -> Option<MessageStatus> {
        self.store().sent.iter().find(|r| r.msg.id == wamid).map(|r| r.msg.status)
    }

    pub(super) async fn run_statuses(self: Arc<Self>, wamid: String, failure: Option<Failure>) {
        let (d_sent, d_delivered, d_read) = self.cfg.status_delays_ms;
        let start = self.now_secs();
        if failure.is_some() {
            if d_sent != u64::MAX && self.sleep_or_shutdown(Duration::from_millis(d_sent)).await {
                self.emit_status(&wamid, MessageStatus::Failed, self.now_secs()).await;
            }
            return;
        }
        let mut plan = Vec::new();
        let mut at = 0u64;
        for (status, delay) in
            [(MessageStatus::Sent, d_sent), (MessageStatus::Delivered, d_delivered), (MessageStatus::Read, d_read)]
        {
            if delay == u64::MAX {
                break;
            }
            at = at.saturating_add(delay);
            plan.push((status, at));
        }
        if self.faults().out_of_order_statuses {
            if !self.sleep_or_shutdown(Duration::from_millis(at)).await {
                return;
            }
            for (status, offset) in plan.into_iter().rev() {
                self.emit_status(&wamid, status, start + offset / 1000).await;
            }
            return;
        }
        let mut elapsed = 0u64;
        for (status, offset) in plan {
            if !self.sleep_or_shutdown(Duration::from_millis(offset - elapsed)).await {
                return;
            }
            elapsed = offset;
            // The customer may already have read it (phone page); don't step back.
            if self.current_status(&wamid).is_some_and(|s| s >= status) {
                continue;
            }
            self.emit_status(&wamid, status, self.now_secs()).await;
        }
    }

    /// The customer reads the chat: `read` for every sent-or-delivered message to them (named
    /// by their number, or by user id).
    pub(crate) async fn customer_reads(&self, wa_id: &str) -> anyhow::Result<usize> {
        let user_id = if ids::is_user_id(wa_id) {
            Some(wa_id.to_string())
        } else {
            self.store().user_by_phone.get(&ids::digits(wa_id)).cloned()
        };
        let wa_id = ids::digits(wa_id);
        let pending: Vec<String> = self
            .store()
            .sent
            .iter()
            .filter(|r| r.msg.to == wa_id || (user_id.is_some() && r.msg.user_id == user_id))
            .filter(|r| matches!(r.msg.status, MessageStatus::Sent | MessageStatus::Delivered))
            .map(|r| r.msg.id.clone())
            .collect();
        for id in &pending {
            self.emit_status(id, MessageStatus::Read, self.now_secs()).await;
        }
        Ok(pending.len())
    }
}
