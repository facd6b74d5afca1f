//! wa-sim: a local stand-in for Meta's WhatsApp Cloud API.
//!
//! The simulator serves the parts of the Graph API that a WhatsApp integration uses (send
//! messages, mark as read, upload/fetch/download media, list message templates) with Meta's
//! request, response and error shapes, and it POSTs webhooks in Meta's envelope, signed with
//! `X-Hub-Signature-256`, to a configurable URL: customer messages (every type) and the
//! `sent` → `delivered` → `read` (or `failed`) statuses of what the business sent.
//!
//! Like Meta since 2026, every customer has a business-scoped user id (`from_user_id`,
//! `contacts[].user_id`, `recipient_user_id` in statuses); a customer who shows a username
//! ([`Simulator::customer_sends_as`] with a [`Customer`] without a number) arrives with no number
//! at all, and sends may address them with `"recipient": "<user id>"` instead of `"to"`. The
//! `biz_opaque_callback_data` of a send is echoed in each of its statuses.
//!
//! It also serves a "customer phone" page on `/` to chat with the business by hand, can inject
//! faults (duplicate deliveries, out-of-order statuses, 5xx, hangs, expired media URLs) and has a
//! load mode ([`run_load`]) that floods a webhook receiver with signed customer messages.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use wa_sim::{CustomerMessage, SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig {
//!     webhook_url: Some("http://127.0.0.1:8080/hooks/whatsapp/1".into()),
//!     ..SimConfig::default()
//! })
//! .await?;
//! let delivery = sim.customer_sends("5511912345678", "Maria", CustomerMessage::Text("Oi".into())).await?;
//! assert_eq!(delivery.status, 200);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod graph;
mod ids;
mod load;
mod media;
mod page;
mod payload;
mod samples;
mod signature;
mod state;
mod templates;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

pub use load::{run_load, LoadConfig, LoadReport};
pub use signature::{sign_body, verify_signature};

use state::Shared;

/// How the simulator is set up. [`SimConfig::default`] gives a loopback simulator on a free port
/// with demo credentials and no webhook URL.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The bearer token every Graph call (and every media download) must carry.
    pub access_token: String,
    /// The app secret that signs webhooks (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`).
    pub app_secret: String,
    /// The business phone number's id (the `{phone_number_id}` of `/{version}/{id}/messages`).
    pub phone_number_id: String,
    /// The business phone number as shown in webhook metadata, digits only (e.g. `15550000001`).
    pub display_phone_number: String,
    /// The WhatsApp Business Account id (webhook `entry[].id`, `/{version}/{waba_id}/message_templates`).
    pub waba_id: String,
    /// Where webhooks are POSTed; may be set later with [`Simulator::set_webhook_url`].
    pub webhook_url: Option<String>,
    /// Graph send limit per phone number: more sends than this in any 1-second window get error 130429.
    pub rate_per_sec: Option<u32>,
    /// After a successful send: delay (ms) before the `sent` webhook, then before `delivered`, then
    /// before `read` (each counted from the previous status). `u64::MAX` stops the sequence there
    /// (e.g. `(0, 0, u64::MAX)`: read only when the customer reads, see [`Simulator::customer_reads`]).
    pub status_delays_ms: (u64, u64, u64),
    /// Injected faults; changeable at runtime with [`Simulator::set_faults`].
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_token: "sim-access-token".into(),
            app_secret: "sim-app-secret".into(),
            phone_number_id: "100000000000001".into(),
            display_phone_number: "15550000001".into(),
            waba_id: "200000000000001".into(),
            webhook_url: None,
            rate_per_sec: None,
            status_delays_ms: (200, 800, 2500),
            faults: Faults::default(),
        }
    }
}

/// Faults the simulator can inject. All off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Every webhook is POSTed twice (same body, same signature), as Meta sometimes does.
    pub duplicate_deliveries: bool,
    /// Status webhooks of a message arrive in reverse order: `read`, `delivered`, `sent` (with their
    /// original timestamps), after the whole delay has passed.
    pub out_of_order_statuses: bool,
    /// Every Nth Graph request answers 500 with Meta's error shape (code 2, or 1 on every second fault).
    pub http_5xx_every: Option<u32>,
    /// Every Nth Graph request hangs for 30 s before it is served (longer than a sane client timeout).
    pub timeout_every: Option<u32>,
    /// Media URLs returned by `GET /{version}/{media_id}` are already expired (download → 404).
    pub expired_media_urls: bool,
}

/// A message a customer sends to the business (becomes a `messages` webhook).
#[derive(Clone, Debug, PartialEq)]
pub enum CustomerMessage {
    /// `type: "text"`.
    Text(String),
    /// `type: "image"` with a small JPEG stored as downloadable media.
    Image {
        /// Optional caption.
        caption: Option<String>,
    },
    /// `type: "audio"` with a small OGG/Opus file; `voice: true` for a voice note.
    Audio {
        /// Whether it was recorded as a voice note.
        voice: bool,
    },
    /// `type: "video"` with a small MP4 file.
    Video,
    /// `type: "document"` with a small PDF.
    Document {
        /// The file name the customer's phone reports.
        filename: String,
    },
    /// `type: "sticker"` with a small WebP.
    Sticker,
    /// `type: "location"`.
    Location {
        /// Latitude in degrees.
        latitude: f64,
        /// Longitude in degrees.
        longitude: f64,
        /// Optional place name.
        name: Option<String>,
    },
    /// `type: "contacts"` with one sample contact card.
    Contacts,
    /// `type: "interactive"`, `interactive.type: "button_reply"` (answer to a reply-button message).
    ButtonReply {
        /// The button id the business set.
        id: String,
        /// The button title.
        title: String,
    },
    /// `type: "interactive"`, `interactive.type: "list_reply"` (answer to a list message).
    ListReply {
        /// The row id the business set.
        id: String,
        /// The row title.
        title: String,
    },
    /// `type: "button"`: a template quick-reply button tap.
    TemplateButton {
        /// The payload the template button carries.
        payload: String,
        /// The button text.
        text: String,
    },
    /// `type: "reaction"` to a message (`emoji` empty removes a reaction).
    Reaction {
        /// The wamid reacted to.
        message_id: String,
        /// The emoji.
        emoji: String,
    },
    /// `type: "unsupported"` with error 131051 (e.g. a poll, or a message type Cloud API lacks).
    Unsupported,
    /// `type: "text"` quoting an earlier message (`context: {from, id}`).
    ReplyText {
        /// The wamid quoted.
        context_id: String,
        /// The text.
        text: String,
    },
}

/// A customer as WhatsApp shows them to the business: with a number, a username, or both (Meta
/// shows a username user's number only while it is in the business's contact book). Without a
/// number, webhooks name them by user id and username only; the same person keeps one user id
/// whichever they write with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customer {
    /// Their number (digits), when Meta shows it.
    pub phone: Option<String>,
    /// Their WhatsApp username (without `@`), if they have one.
    pub username: Option<String>,
    /// Their profile name.
    pub profile_name: String,
}

/// What happened when a customer message was delivered as a webhook.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The customer message's wamid (`messages[0].id`).
    pub message_id: String,
    /// The sender's business-scoped user id (`messages[0].from_user_id`).
    pub user_id: String,
    /// The HTTP status the webhook receiver answered (the first answer when deliveries are duplicated).
    pub status: u16,
    /// The webhook body that was POSTed.
    pub payload: Value,
    /// How many times it was POSTed (2 with [`Faults::duplicate_deliveries`]).
    pub attempts: u32,
}

/// What a batched delivery carried and how it was answered.
#[derive(Clone, Debug)]
pub struct BatchDelivery {
    /// The wamids of the messages, in order.
    pub message_ids: Vec<String>,
    /// The HTTP status the webhook receiver answered.
    pub status: u16,
    /// The webhook body that was POSTed.
    pub payload: Value,
}

/// How several customer messages are laid out in one batched webhook (Meta uses all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchShape {
    /// One entry, one change, all messages (and their contacts) in one `value`.
    OneChange,
    /// One entry with one change per message.
    ChangePerMessage,
    /// One entry per message.
    EntryPerMessage,
}

/// The delivery status of a message the business sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Accepted by Graph; no status webhook yet.
    Accepted,
    /// The `sent` webhook was emitted.
    Sent,
    /// The `delivered` webhook was emitted.
    Delivered,
    /// The `read` webhook was emitted.
    Read,
    /// The `failed` webhook was emitted.
    Failed,
}

impl MessageStatus {
    /// The status as Meta spells it in webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Accepted => "accepted",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }
}

/// A message the business sent through `POST /{version}/{phone_number_id}/messages`.
#[derive(Clone, Debug, Serialize)]
pub struct SentMessage {
    /// The wamid Graph answered with.
    pub id: String,
    /// The recipient's wa_id (digits of `to`); for a send by `recipient`, the user's number
    /// when the simulator knows it and they show no username, else the user id.
    pub to: String,
    /// The recipient's business-scoped user id (the `recipient` of the request, or the user id
    /// of the number); `None` only for messages recorded before user ids existed.
    pub user_id: Option<String>,
    /// The message `type` (`text`, `template`, `image`, …).
    pub message_type: String,
    /// The JSON body Atende posted.
    pub request: Value,
    /// The furthest status reached (`read` beats `delivered` even when webhooks came out of order).
    pub status: MessageStatus,
    /// The status webhooks emitted so far, in emission order.
    pub status_history: Vec<MessageStatus>,
    /// Unix seconds when Graph accepted it.
    pub timestamp: u64,
    /// When the simulator accepted the send (monotonic, not serialized; for latency measurements).
    #[serde(skip)]
    pub received_at: std::time::Instant,
}

/// A running simulator. Dropping it leaves the server running until the runtime ends; call
/// [`Simulator::shutdown`] to stop it.
pub struct Simulator {
    shared: Arc<Shared>,
    base_url: String,
    shutdown_tx: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds `config.listen` and spawns the HTTP server task.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(config, base_url.clone(), shutdown_rx.clone())?);
        let app = graph::router(shared.clone()).merge(page::router(shared.clone()));
        let mut rx = shutdown_rx;
        let server = tokio::spawn(async move {
            let stop = async move {
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "wa-sim server stopped");
            }
        });
        tracing::info!(%base_url, "wa-sim listening");
        Ok(Simulator { shared, base_url, shutdown_tx, server })
    }

    /// The simulator's base URL, e.g. `http://127.0.0.1:PORT` (Atende's `graph_url`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The business phone number id Graph calls must address.
    pub fn phone_number_id(&self) -> &str {
        &self.shared.cfg.phone_number_id
    }

    /// Sets (or changes) where webhooks are POSTed.
    pub fn set_webhook_url(&self, url: String) {
        self.shared.set_webhook_url(Some(url));
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// A customer sends a message to the business: builds Meta's webhook payload, signs it, POSTs
    /// it, and returns the wamid and the HTTP status the receiver answered. Fails when no webhook
    /// URL is set or the receiver cannot be reached.
    pub async fn customer_sends(
        &self,
        from_wa_id: &str,
        profile_name: &str,
        message: CustomerMessage,
    ) -> anyhow::Result<Delivery> {
        self.shared.customer_sends(from_wa_id, profile_name, message).await
    }

    /// A [`Customer`] sends a message: one without a number arrives with only `from_user_id`,
    /// `contacts[].user_id` and `contacts[].profile.username`, as Meta sends them. Fails for a
    /// customer with neither number nor username.
    pub async fn customer_sends_as(&self, customer: &Customer, message: CustomerMessage) -> anyhow::Result<Delivery> {
        let phone = customer.phone.as_deref().map(ids::digits).filter(|p| !p.is_empty());
        let username = customer.username.as_deref().map(|u| u.trim_start_matches('@')).filter(|u| !u.is_empty());
        self.shared.customer_sends_as(phone.as_deref(), username, &customer.profile_name, message).await
    }

    /// The business-scoped user id of a number (the simulator gives one to every number the
    /// first time it sees it).
    pub fn user_id_of_phone(&self, phone: &str) -> String {
        self.shared.user(Some(&ids::digits(phone)), None).user_id
    }

    /// Several customer messages in one webhook delivery (Meta batches under load).
    /// Each item is `(from_wa_id, profile_name, message)`.
    pub async fn customer_sends_batch(
        &self,
        items: Vec<(String, String, CustomerMessage)>,
        shape: BatchShape,
    ) -> anyhow::Result<BatchDelivery> {
        self.shared.customer_sends_batch(items, shape).await
    }

    /// The customer opens the chat: every message the business sent to `wa_id` that is not read
    /// yet (and did not fail) gets a `read` status webhook. Returns how many.
    pub async fn customer_reads(&self, wa_id: &str) -> anyhow::Result<usize> {
        self.shared.customer_reads(wa_id).await
    }

    /// POSTs an arbitrary body as a signed webhook (for shapes the builders don't cover).
    /// Returns the receiver's HTTP status.
    pub async fn send_raw_webhook(&self, body: Value) -> anyhow::Result<u16> {
        self.shared.post_webhook(&body).await.map(|(status, _)| status)
    }

    /// Messages the business sent (what Atende called Graph with), oldest first, newest last,
    /// with their current status.
    /// Moves the simulator's clock forward: webhook timestamps and Meta's 24-hour customer-service
    /// window follow it (a free-form send more than 24 hours after the customer's last message
    /// is accepted, then fails with a 131047 status, as Meta does).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.shared.advance_clock(by);
    }

    /// Changes a template's review status (`APPROVED`, `REJECTED`, `PAUSED`, `PENDING`…): the
    /// template list shows it and sends of a template not approved fail with 132001, as on Meta.
    /// Returns false when there is no such template.
    pub fn set_template_status(&self, name: &str, language: &str, status: &str) -> bool {
        self.shared.set_template_status(name, language, status)
    }

    /// The customer stops (`stop: true`) or resumes marketing messages from the business: Meta's
    /// `user_preferences` webhook is POSTed, and while stopped a MARKETING template to them fails
    /// with 131050. Returns the receiver's HTTP status.
    pub async fn customer_sets_marketing(&self, wa_id: &str, stop: bool) -> anyhow::Result<u16> {
        self.shared.customer_sets_marketing(wa_id, stop).await
    }

    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.shared.sent_messages()
    }

    /// Stops the server (in-flight hangs are cut short) and background status webhooks.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let _ = self.server.await;
    }
}
