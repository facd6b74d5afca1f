//! The gateway's shared state: its instances, each with its connection, QR session, webhook
//! setting and queue, the messages the business sent and the media it holds.
//!
//! This module owns the types, the accessors and webhook posting; the connection life cycle
//! (create, QR, scan, connect, disconnect, logout, delete) lives in `session`, messages in
//! both directions in `messages`.

mod messages;
mod session;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::ids;
use crate::webhook::{self, Outbox, Pending, WebhookConfig};
use crate::{GatewayConfig, SentMessage};

pub(crate) use messages::Outgoing;
pub(crate) use session::CreateParams;

/// An instance's connection state, as Evolution names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conn {
    Close,
    Connecting,
    Open,
}

impl Conn {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Conn::Close => "close",
            Conn::Connecting => "connecting",
            Conn::Open => "open",
        }
    }
}

/// The QR code an instance shows while it waits for a scan.
pub(crate) struct Qr {
    /// The session's keys (the part of the code that does not rotate).
    pub keys: String,
    pub code: String,
    pub pairing_code: Option<String>,
    pub count: u32,
}

/// A message the business sent through the API, with what its `messages.update` webhooks need.
pub(crate) struct SentRecord {
    pub msg: SentMessage,
    /// Evolution's database id of the message (`messageId` in `messages.update`).
    pub internal_id: String,
}

/// A media message the gateway holds for `getBase64FromMediaMessage`.
pub(crate) struct Media {
    /// `imageMessage`, `audioMessage`, …
    pub message_type: &'static str,
    pub bytes: Arc<Vec<u8>>,
    pub mime: String,
    pub file_name: Option<String>,
    pub caption: Option<String>,
}

/// A line of the phone page's chat log.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct LogLine {
    /// `customer` (a customer wrote), `phone` (the business on the phone), `api` (through the API).
    pub from: &'static str,
    pub peer: String,
    pub push_name: String,
    pub text: String,
    pub timestamp: u64,
}

const LOG_LINES: usize = 50;

/// One Evolution instance (one linked WhatsApp Web device).
pub(crate) struct Instance {
    pub name: String,
    pub id: String,
    pub token: String,
    pub integration: String,
    pub webhook: WebhookConfig,
    pub conn: Conn,
    /// The device is linked (a session exists): a drop reconnects without a new QR.
    pub paired: bool,
    /// Bumped whenever a QR session ends or starts, so a stale rotation task stops.
    pub session: u64,
    pub qr: Option<Qr>,
    /// Connect calls still to fail after a network drop.
    pub failing_connects: usize,
    /// The status code of the last close (`disconnectionReasonCode` in fetchInstances).
    pub disconnection_reason: Option<u16>,
    pub connect_calls: usize,
    pub sent: Vec<SentRecord>,
    pub media: HashMap<String, Media>,
    pub log: VecDeque<LogLine>,
    pub created_at: String,
    outbox: Outbox,
}

impl Instance {
    /// Adds a line to the page's chat log (the oldest go first).
    pub(crate) fn log(&mut self, line: LogLine) {
        if self.log.len() >= LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }
}

/// Everything the server, the handle and the background tasks share.
pub(crate) struct Shared {
    pub cfg: GatewayConfig,
    pub base_url: String,
    instances: Mutex<HashMap<String, Instance>>,
    client: reqwest::Client,
    shutdown: watch::Receiver<bool>,
    /// Kept here too so that dropping the [`crate::Gateway`] handle does not close the channel
    /// (which every task would read as "stop"): only [`crate::Gateway::shutdown`] stops it.
    _stop: Arc<watch::Sender<bool>>,
}

impl Shared {
    pub(crate) fn new(
        cfg: GatewayConfig,
        base_url: String,
        stop: Arc<watch::Sender<bool>>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(5)).no_proxy().user_agent("axios/1.7.9").build()?;
        Ok(Shared { cfg, base_url, instances: Mutex::new(HashMap::new()), client, shutdown, _stop: stop })
    }

    /// The instances, locked. Never held across an await: webhooks are queued under the lock
    /// (which fixes their order) and awaited after it is released.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The business's JID (`5511…@s.whatsapp.net`).
    pub(crate) fn business_jid(&self) -> String {
        ids::jid(&ids::digits(&self.cfg.business_phone))
    }

    /// Queues `event` for the instance's webhook, in Evolution's envelope. `sender` (the
    /// linked account's JID) is only known while a device is linked.
    pub(crate) fn post(&self, inst: &Instance, event: &str, data: Value) -> Pending {
        let Some(url) = inst.webhook.target(event) else { return Pending::none() };
        let mut body = json!({
            "event": event,
            "instance": inst.name,
            "data": data,
            "destination": inst.webhook.url,
            "date_time": ids::date_time_brt(),
            "server_url": self.base_url,
            "apikey": inst.token,
        });
        if inst.paired {
            body["sender"] = Value::String(self.business_jid());
        }
        webhook::enqueue(&inst.outbox, url, body)
    }

    /// Checks the `apikey` header for a call on `instance` (None: a global-only call). The
    /// global key opens everything; an instance's token opens calls that name that instance,
    /// as Evolution's guard does. An unknown instance is a 404 whatever the key (Evolution
    /// checks existence first).
    pub(crate) fn authorize(&self, key: Option<&str>, instance: Option<&str>) -> Result<(), ApiError> {
        let instances = self.lock();
        if let Some(name) = instance {
            if !instances.contains_key(name) {
                return Err(ApiError::NotFound(name.to_string()));
            }
        }
        let Some(key) = key.filter(|k| !k.is_empty()) else { return Err(ApiError::Unauthorized) };
        if key == self.cfg.api_key {
            return Ok(());
        }
        match instance.and_then(|n| instances.get(n)) {
            Some(inst) if inst.token == key => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The instance whose token is `key` (fetchInstances with an instance token lists only it).
    pub(crate) fn instance_by_token(&self, key: &str) -> Option<String> {
        self.lock().values().find(|i| i.token == key).map(|i| i.name.clone())
    }

    pub(crate) fn current_qr(&self, name: &str) -> Option<String> {
        self.lock().get(name).and_then(|i| i.qr.as_ref()).map(|q| q.code.clone())
    }

    pub(crate) fn sent_messages(&self, name: &str) -> Vec<SentMessage> {
        self.lock().get(name).map(|i| i.sent.iter().map(|r| r.msg.clone()).collect()).unwrap_or_default()
    }

    pub(crate) fn connect_calls(&self, name: &str) -> usize {
        self.lock().get(name).map_or(0, |i| i.connect_calls)
    }

    /// One entry of `GET /instance/fetchInstances`.
    pub(crate) fn instance_info(&self, inst: &Instance) -> Value {
        let owner = inst.paired.then(|| self.business_jid());
        json!({
            "id": inst.id,
            "name": inst.name,
            "connectionStatus": inst.conn.as_str(),
            "ownerJid": owner,
            "profileName": inst.paired.then_some(ids::PROFILE_NAME),
            "profilePicUrl": null,
            "integration": inst.integration,
            "number": null,
            "businessId": null,
            "token": inst.token,
            "clientName": "evo-sim",
            "disconnectionReasonCode": inst.disconnection_reason,
            "disconnectionObject": null,
            "disconnectionAt": null,
            "createdAt": inst.created_at,
            "updatedAt": inst.created_at,
            "Setting": null,
            "_count": { "Message": inst.sent.len(), "Contact": 0, "Chat": 0 },
        })
    }

    /// Sleeps; false (early) when the gateway shuts down.
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

    /// A new instance's webhook queue.
    fn new_outbox(&self) -> Outbox {
        webhook::spawn_queue(self.client.clone(), self.shutdown.clone())
    }

    /// The client that fetches media given by URL.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Waits for several queued webhooks in order; the first failure wins.
pub(crate) async fn wait_all(pending: Vec<Pending>) -> anyhow::Result<()> {
    let mut first_err = None;
    for p in pending {
        if let Err(e) = p.wait().await {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
