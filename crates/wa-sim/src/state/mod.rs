//! The simulator's shared state: configuration, what was sent and received, media, and the
//! webhook sender with its status machinery.
//!
//! This module owns the types and the shared state with its clock, users, accessors and rate
//! limit; webhook posting and customer messages, and business sends with their statuses, live in
//! the submodules.

mod business;
mod customer;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::ids;
use crate::{Faults, SentMessage, SimConfig};

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
    /// Template statuses changed by tests or the demo: (name, language) → status.
    pub template_status: HashMap<(String, String), String>,
    /// Numbers whose users stopped marketing messages: MARKETING templates to them fail 131050.
    pub marketing_stopped: std::collections::HashSet<String>,
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
}
