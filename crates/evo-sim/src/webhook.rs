//! Webhook settings and delivery: one queue (and one task) per instance, so an instance's
//! webhooks arrive in the order they happened, each POSTed with a 5 s timeout and up to
//! three tries on network errors and 5xx answers.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

/// Every event an Evolution webhook can subscribe to (what an empty `events` list means).
pub(crate) const ALL_EVENTS: &[&str] = &[
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
];

const TRIES: u32 = 3;

/// An instance's webhook setting, as `POST /webhook/set` stores it.
#[derive(Clone, Debug)]
pub(crate) struct WebhookConfig {
    pub id: String,
    pub enabled: bool,
    pub url: String,
    pub by_events: bool,
    pub base64: bool,
    /// Subscribed events in Evolution's uppercase form (`MESSAGES_UPSERT`).
    pub events: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookConfig {
    /// No webhook: nothing is posted.
    pub(crate) fn disabled() -> Self {
        let now = crate::ids::date_time_brt();
        WebhookConfig {
            id: crate::ids::uuid(),
            enabled: false,
            url: String::new(),
            by_events: false,
            base64: false,
            events: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// Applies a new setting. As Evolution does, a disabled webhook keeps no events and an
    /// enabled one with no events gets all of them.
    pub(crate) fn set(&mut self, enabled: bool, url: String, by_events: bool, base64: bool, events: Vec<String>) {
        self.enabled = enabled;
        self.url = url;
        self.by_events = by_events;
        self.base64 = base64;
        self.events = if !enabled {
            Vec::new()
        } else if events.is_empty() {
            ALL_EVENTS.iter().map(|e| e.to_string()).collect()
        } else {
            events
        };
        self.updated_at = crate::ids::date_time_brt();
    }

    /// Where `event` (dotted lowercase, `messages.upsert`) goes, when it is subscribed.
    pub(crate) fn target(&self, event: &str) -> Option<String> {
        let upper = event.replace(['.', '-'], "_").to_uppercase();
        if !self.enabled || self.url.is_empty() || !self.events.contains(&upper) {
            return None;
        }
        if self.by_events {
            // webhookByEvents: one path per event, `…/messages-upsert`.
            Some(format!("{}/{}", self.url.trim_end_matches('/'), upper.replace('_', "-").to_lowercase()))
        } else {
            Some(self.url.clone())
        }
    }

    /// The stored webhook as `POST /webhook/set` and `GET /webhook/find` answer it.
    pub(crate) fn to_json(&self, instance_id: &str) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "headers": null,
            "enabled": self.enabled,
            "events": self.events,
            "webhookByEvents": self.by_events,
            "webhookBase64": self.base64,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "instanceId": instance_id,
        })
    }
}

/// One webhook POST waiting in an instance's queue.
pub(crate) struct Job {
    pub url: String,
    pub body: Value,
    pub done: oneshot::Sender<anyhow::Result<()>>,
}

/// The sending end of an instance's queue.
pub(crate) type Outbox = mpsc::UnboundedSender<Job>;

/// A queued webhook's outcome, to await when the caller wants delivery before going on.
pub(crate) struct Pending(Option<oneshot::Receiver<anyhow::Result<()>>>);

impl Pending {
    /// Nothing was queued (no webhook, or the event is not subscribed).
    pub(crate) fn none() -> Self {
        Pending(None)
    }

    /// Waits for the delivery: Err when the receiver did not answer 2xx after the tries.
    pub(crate) async fn wait(self) -> anyhow::Result<()> {
        match self.0 {
            None => Ok(()),
            Some(rx) => rx.await.unwrap_or_else(|_| Err(anyhow::anyhow!("the gateway stopped before delivering"))),
        }
    }
}

/// Queues a POST of `body` to `url`.
pub(crate) fn enqueue(outbox: &Outbox, url: String, body: Value) -> Pending {
    let (done, rx) = oneshot::channel();
    if outbox.send(Job { url, body, done }).is_err() {
        return Pending::none();
    }
    Pending(Some(rx))
}

/// Starts an instance's delivery task; it ends when the instance is gone (its outbox dropped)
/// or the gateway shuts down.
pub(crate) fn spawn_queue(client: reqwest::Client, mut shutdown: watch::Receiver<bool>) -> Outbox {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        loop {
            let job = tokio::select! {
                job = rx.recv() => job,
                _ = shutdown.changed() => None,
            };
            let Some(job) = job else { break };
            let result = tokio::select! {
                r = deliver(&client, &job.url, &job.body) => r,
                _ = shutdown.changed() => Err(anyhow::anyhow!("the gateway stopped")),
            };
            if let Err(e) = &result {
                tracing::warn!(url = %job.url, error = %e, "webhook not delivered");
            }
            let _ = job.done.send(result);
        }
    });
    tx
}

/// POSTs once, retrying network errors and 5xx answers (Evolution retries too, with back-off).
async fn deliver(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<()> {
    let mut last = String::new();
    for attempt in 1..=TRIES {
        match client.post(url).json(body).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_server_error() => last = format!("receiver answered {}", r.status()),
            Ok(r) => anyhow::bail!("receiver answered {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        if attempt < TRIES {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
    }
    anyhow::bail!("{last} (after {TRIES} tries)")
}
