//! The simulator's shared state: configuration, what was sent and received, media, and the
//! webhook sender with its status machinery.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::ids;
use crate::payload;
use crate::samples;
use crate::{
    sign_body, BatchDelivery, BatchShape, CustomerMessage, Delivery, Faults, MessageStatus, SentMessage, SimConfig,
};

/// A business message and its place in the global order.
pub(crate) struct SentRecord {
    pub seq: u64,
    pub msg: SentMessage,
    /// Pricing category (`service`, `utility`, `marketing`, `authentication`).
    pub category: String,
    /// Why Meta will fail it after accepting it, if it will.
    pub failure: Option<Failure>,
    /// The number statuses name as `recipient_id` (absent when sent by user id to someone who
    /// shows a username instead of a number).
    pub recipient_phone: Option<String>,
    /// `biz_opaque_callback_data` of the request, echoed in every status.
    pub callback: Option<String>,
}

/// A WhatsApp user the simulator knows: their business-scoped user id, and their number and
/// username when they have them.
#[derive(Clone, Debug)]
pub(crate) struct SimUser {
    pub user_id: String,
    pub phone: Option<String>,
    pub username: Option<String>,
}

impl SimUser {
    /// How the phone page and [`SentMessage::to`] name the chat: the number, else the user id.
    pub(crate) fn address(&self) -> String {
        self.phone.clone().unwrap_or_else(|| self.user_id.clone())
    }
}

/// A send Meta accepts and then fails with a `failed` status webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 131026: the number cannot receive messages (the simulator's numbers ending in 0000).
    Undeliverable,
    /// 131047: free-form message more than 24 hours after the customer's last message.
    ReEngagement,
}

/// Who a send addresses: `to` (a number, digits) or `recipient` (a business-scoped user id).
pub(crate) enum SendTo {
    Phone(String),
    UserId(String),
}

/// What a status webhook says about its message's recipient.
struct StatusSource {
    recipient_phone: Option<String>,
    user_id: String,
    callback: Option<String>,
    category: String,
    failure: Option<Failure>,
}

/// Meta's customer-service window: free-form messages up to 24 hours after the customer's last.
const SERVICE_WINDOW_SECS: u64 = 24 * 60 * 60;

/// A customer message, for the phone page.
pub(crate) struct InboundRecord {
    pub seq: u64,
    /// The customer's number, or their user id when they show a username instead.
    pub wa_id: String,
    pub user_id: String,
    pub id: String,
    pub kind: String,
    pub summary: String,
    pub timestamp: u64,
    /// The business marked it as read.
    pub read: bool,
    /// Whether the webhook was acknowledged with 2xx (None while in flight).
    pub acknowledged: Option<bool>,
}

/// An uploaded (or customer-sent) media file.
pub(crate) struct MediaItem {
    pub bytes: Arc<Vec<u8>>,
    pub mime: String,
    pub sha256_hex: String,
    pub sha256_b64: String,
}

/// A media download URL's token.
pub(crate) struct Download {
    pub media_id: String,
    pub expires: Instant,
}

struct Conversation {
    id: String,
    expires: u64,
    origin: String,
}

/// Mutable state behind one lock (never held across an await).
#[derive(Default)]
pub(crate) struct Store {
    seq: u64,
    pub sent: Vec<SentRecord>,
    pub inbound: Vec<InboundRecord>,
    pub media: HashMap<String, MediaItem>,
    pub downloads: HashMap<String, Download>,
    send_times: VecDeque<Instant>,
    conversations: HashMap<String, Conversation>,
    /// Known users by user id, and the user ids of numbers and usernames.
    users: HashMap<String, SimUser>,
    user_by_phone: HashMap<String, String>,
    user_by_username: HashMap<String, String>,
}

impl Store {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// Everything the server, the handle and the background tasks share.
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub base_url: String,
    webhook_url: RwLock<Option<String>>,
    faults: RwLock<Faults>,
    store: Mutex<Store>,
    /// Graph requests seen (for the every-Nth faults).
    pub graph_requests: AtomicU64,
    /// 5xx faults served (alternates code 2 and 1).
    pub faults_served: AtomicU64,
    /// Seconds the simulator's clock runs ahead of the real one (tests move it forward).
    clock_offset_secs: AtomicU64,
    client: reqwest::Client,
    shutdown: watch::Receiver<bool>,
}

const RETRIES: u32 = 5;

impl Shared {
    pub(crate) fn new(cfg: SimConfig, base_url: String, shutdown: watch::Receiver<bool>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .no_proxy()
            .user_agent("facebookexternalua")
            .build()?;
        Ok(Shared {
            webhook_url: RwLock::new(cfg.webhook_url.clone()),
            faults: RwLock::new(cfg.faults.clone()),
            cfg,
            base_url,
            store: Mutex::new(Store::default()),
            graph_requests: AtomicU64::new(0),
            faults_served: AtomicU64::new(0),
            clock_offset_secs: AtomicU64::new(0),
            client,
            shutdown,
        })
    }

    /// Unix seconds on the simulator's clock: webhook timestamps and the 24-hour window.
    pub(crate) fn now_secs(&self) -> u64 {
        ids::now_secs() + self.clock_offset_secs.load(Ordering::Relaxed)
    }

    /// Moves the simulator's clock forward (never back).
    pub(crate) fn advance_clock(&self, by: Duration) {
        self.clock_offset_secs.fetch_add(by.as_secs(), Ordering::Relaxed);
    }

    /// The user with this number and/or username, registered with a new user id the first time
    /// (the same person keeps one user id; a username-only user who later shares a number
    /// keeps theirs and gains the number).
    pub(crate) fn user(&self, phone: Option<&str>, username: Option<&str>) -> SimUser {
        let mut s = self.store();
        let known = username
            .and_then(|u| s.user_by_username.get(u))
            .or_else(|| phone.and_then(|p| s.user_by_phone.get(p)))
            .cloned();
        let user_id = known.unwrap_or_else(|| {
            let seed = username.map(|u| format!("@{u}")).or(phone.map(str::to_string)).unwrap_or_default();
            ids::user_id(&self.cfg.waba_id, phone.map_or("BR", ids::country_of), &seed)
        });
        let user = s.users.entry(user_id.clone()).or_insert_with(|| SimUser {
            user_id: user_id.clone(),
            phone: None,
            username: None,
        });
        if user.phone.is_none() {
            user.phone = phone.map(str::to_string);
        }
        if user.username.is_none() {
            user.username = username.map(str::to_string);
        }
        let user = user.clone();
        if let Some(p) = &user.phone {
            s.user_by_phone.insert(p.clone(), user_id.clone());
        }
        if let Some(u) = &user.username {
            s.user_by_username.insert(u.clone(), user_id);
        }
        user
    }

    /// The user with this user id, if the simulator knows them.
    pub(crate) fn user_by_id(&self, user_id: &str) -> Option<SimUser> {
        self.store().users.get(user_id).cloned()
    }

    /// True when the user wrote to the business and their last message is more than 24 hours
    /// old on the simulator's clock. A user who never wrote through the simulator is not
    /// judged: the simulator cannot know their history (Atende's tests also post raw webhooks).
    pub(crate) fn outside_service_window(&self, user_id: &str) -> bool {
        let now = self.now_secs();
        let s = self.store();
        s.inbound
            .iter()
            .rev()
            .find(|r| r.user_id == user_id)
            .is_some_and(|r| now.saturating_sub(r.timestamp) > SERVICE_WINDOW_SECS)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn webhook_url(&self) -> Option<String> {
        self.webhook_url.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_webhook_url(&self, url: Option<String>) {
        *self.webhook_url.write().unwrap_or_else(|e| e.into_inner()) = url;
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Sleeps; returns false (early) when the simulator shuts down.
    pub(crate) async fn sleep_or_shutdown(&self, d: Duration) -> bool {
        let mut rx = self.shutdown.clone();
        if *rx.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = rx.changed() => false,
        }
    }

    pub(crate) fn sent_messages(&self) -> Vec<SentMessage> {
        self.store().sent.iter().map(|r| r.msg.clone()).collect()
    }

    /// Stores a media file; returns its id.
    pub(crate) fn add_media(&self, bytes: Vec<u8>, mime: &str) -> String {
        let digest = Sha256::digest(&bytes);
        let item = MediaItem {
            sha256_hex: hex::encode(digest),
            sha256_b64: ids::base64_std(&digest),
            bytes: Arc::new(bytes),
            mime: mime.to_string(),
        };
        let id = ids::numeric_id();
        self.store().media.insert(id.clone(), item);
        id
    }

    /// Takes a slot in the 1-second send window; false when the rate limit is hit.
    pub(crate) fn take_rate_slot(&self) -> bool {
        let Some(limit) = self.cfg.rate_per_sec else { return true };
        let now = Instant::now();
        let mut s = self.store();
        while let Some(&t) = s.send_times.front() {
            if now.duration_since(t) >= Duration::from_secs(1) {
                s.send_times.pop_front();
            } else {
                break;
            }
        }
        if s.send_times.len() >= limit as usize {
            return false;
        }
        s.send_times.push_back(now);
        true
    }

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
    async fn post_webhook_retrying(&self, body: &Value) {
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

    fn envelope_one_change(&self, change: Value) -> Value {
        payload::envelope(vec![payload::entry(&self.cfg.waba_id, vec![change])])
    }

    // ---- customer messages ----------------------------------------------------------------

    /// The wamid of the newest business message of `kind` sent to the user.
    fn last_sent_of_kind(&self, user_id: &str, kind: &str) -> Option<String> {
        self.store()
            .sent
            .iter()
            .rev()
            .find(|r| r.msg.user_id.as_deref() == Some(user_id) && r.msg.message_type == kind)
            .map(|r| r.msg.id.clone())
    }

    fn media_object(&self, bytes: Vec<u8>, mime: &str) -> serde_json::Map<String, Value> {
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
                m["interactive"] =
                    json!({ "type": "list_reply", "list_reply": { "id": rid, "title": title, "description": "" } });
                if let Some(ctx) = self.last_sent_of_kind(from, "interactive") {
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

    fn set_acknowledged(&self, ids: &[String], ok: bool) {
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
                },
            });
        }
        let shared = self.clone();
        let wamid = id.clone();
        tokio::spawn(async move { shared.run_statuses(wamid, failure).await });
        id
    }

    fn conversation_for(&self, recipient: &str, origin: &str) -> (String, u64, String) {
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
    fn status_json(&self, wamid: &str, status: MessageStatus, ts: u64, r: &StatusSource) -> Value {
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
    async fn emit_status(&self, wamid: &str, status: MessageStatus, ts: u64) {
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

    fn current_status(&self, wamid: &str) -> Option<MessageStatus> {
        self.store().sent.iter().find(|r| r.msg.id == wamid).map(|r| r.msg.status)
    }

    async fn run_statuses(self: Arc<Self>, wamid: String, failure: Option<Failure>) {
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
