//! evo-sim: a local stand-in for Evolution API v2, the WhatsApp Web gateway (Node/Baileys).
//!
//! The gateway speaks Evolution's wire format over real HTTP: instance admin (`/instance/*`:
//! create, connect with QR code or pairing code, connection state, list, logout, delete), the
//! webhook setting, message sends (`/message/sendText|sendMedia|sendWhatsAppAudio`) and media
//! download (`/chat/getBase64FromMediaMessage`), with Evolution's `apikey` auth and error
//! shapes. It POSTs webhooks in Evolution's envelope (`event`, `instance`, `data`,
//! `destination`, `date_time`, `sender`, `server_url`, `apikey`) to each instance's URL.
//!
//! The phone side is simulated: the QR rotates until it is scanned ([`Gateway::scan`]),
//! customers write ([`Gateway::customer_sends`]), the business writes on the phone itself
//! ([`Gateway::phone_sends`]), the connection drops or the phone unlinks the device
//! ([`Gateway::disconnect`]). A "phone" page on `/` does the same by hand.
//!
//! Numbers: `5500000000000` is "not on WhatsApp" (sends to it get Evolution's
//! `exists: false` 400); every other number with digits exists.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use evo_sim::{CustomerMessage, Gateway, GatewayConfig};
//! let gw = Gateway::start(GatewayConfig::default()).await?;
//! // … Atende creates instance "loja" over HTTP and shows its QR …
//! if let Some(code) = gw.current_qr("loja") {
//!     gw.scan("loja", &code).await?;
//! }
//! gw.customer_sends("loja", "5511912345678", "Maria", CustomerMessage::Text("Oi".into())).await?;
//! gw.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod error;
mod ids;
mod page;
mod state;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use state::Shared;

/// How the gateway is set up. [`GatewayConfig::default`] gives a loopback gateway on a free
/// port with a demo key.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The global key (Evolution's `AUTHENTICATION_API_KEY`), sent as header `apikey`.
    pub api_key: String,
    /// How often a QR code waiting to be scanned is replaced by a new one.
    pub qr_rotate_every: Duration,
    /// The number of the simulated phone (digits), e.g. `5511940000001`: every instance that
    /// gets linked becomes this WhatsApp account.
    pub business_phone: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: "evo-sim-api-key".into(),
            qr_rotate_every: Duration::from_secs(20),
            business_phone: "5511940000001".into(),
        }
    }
}

/// A message a customer sends to the business (a `messages.upsert` webhook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerMessage {
    /// `message.conversation`.
    Text(String),
    /// `message.imageMessage`.
    Image {
        /// The image file.
        bytes: Vec<u8>,
        /// E.g. `image/jpeg`.
        mime: String,
        /// Optional caption.
        caption: Option<String>,
    },
    /// `message.audioMessage`.
    Audio {
        /// The audio file.
        bytes: Vec<u8>,
        /// E.g. `audio/ogg; codecs=opus`.
        mime: String,
        /// Recorded as a voice note (`ptt: true`).
        voice: bool,
    },
    /// `message.documentMessage`.
    Document {
        /// The file.
        bytes: Vec<u8>,
        /// E.g. `application/pdf`.
        mime: String,
        /// The file name the customer's phone shows.
        filename: String,
    },
}

/// How the phone loses its connection (see [`Gateway::disconnect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// Network drop: state `close` (`connection.update` with `statusReason` 428). The next
    /// `failing_connects` `GET /instance/connect` calls answer with state `connecting` and do
    /// not reconnect; the one after reconnects (state `open`, `connection.update` open).
    Dropped {
        /// How many connect calls fail before one succeeds.
        failing_connects: usize,
    },
    /// The phone unlinked the device: `connection.update` (`close`, `statusReason` 401), then
    /// `status.instance` (`closed`). The session is gone: connecting shows a new QR code.
    LoggedOut,
}

/// What kind of message the business sent through the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SentKind {
    /// `sendText`.
    Text,
    /// `sendMedia` with `mediatype: "image"`.
    Image,
    /// `sendMedia` with `mediatype: "video"`.
    Video,
    /// `sendMedia` with `mediatype: "document"`.
    Document,
    /// `sendWhatsAppAudio` (a voice note).
    Audio,
}

/// A message the business sent through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// The message id the API answered with (`key.id`).
    pub id: String,
    /// The recipient's number (digits of `number`).
    pub number: String,
    /// What was sent.
    pub kind: SentKind,
    /// The text, or the media caption.
    pub text: Option<String>,
    /// The decoded media size in bytes.
    pub media_len: Option<usize>,
    /// The media MIME type.
    pub mimetype: Option<String>,
    /// A document's file name.
    pub file_name: Option<String>,
    /// The last status posted in `messages.update` (`PENDING`, `SERVER_ACK`, `DELIVERY_ACK`, `READ`).
    pub status: String,
    /// Unix seconds when the API accepted it.
    pub timestamp: u64,
}

/// A running gateway. Dropping it leaves the server running until the runtime ends; call
/// [`Gateway::shutdown`] to stop it.
pub struct Gateway {
    shared: Arc<Shared>,
    base_url: String,
    shutdown_tx: Arc<watch::Sender<bool>>,
    server: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Binds `config.listen` and spawns the HTTP server.
    pub async fn start(config: GatewayConfig) -> anyhow::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shutdown_tx = Arc::new(shutdown_tx);
        let shared = Arc::new(Shared::new(config, base_url.clone(), shutdown_tx.clone(), shutdown_rx.clone())?);
        let app = api::router(shared.clone()).merge(page::router(shared.clone()));
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
                tracing::error!(error = %e, "evo-sim server stopped");
            }
        });
        tracing::info!(%base_url, "evo-sim listening");
        Ok(Gateway { shared, base_url, shutdown_tx, server })
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT` (Evolution's server URL).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The global API key.
    pub fn api_key(&self) -> &str {
        &self.shared.cfg.api_key
    }

    /// The QR `code` string the instance shows now, if it is waiting for a scan.
    pub fn current_qr(&self, instance: &str) -> Option<String> {
        self.shared.current_qr(instance)
    }

    /// The phone scans `code` (or types the pairing code): the instance opens and a
    /// `connection.update` `open` webhook is delivered before this returns. Fails when the
    /// instance is not waiting for a scan or `code` is not the one shown now.
    pub async fn scan(&self, instance: &str, code: &str) -> anyhow::Result<()> {
        self.shared.scan(instance, code).await
    }

    /// A customer writes to the business: a `messages.upsert` webhook, delivered before this
    /// returns. Returns the message id. Fails when the instance is not open or the receiver
    /// does not answer 2xx.
    pub async fn customer_sends(
        &self,
        instance: &str,
        customer_phone: &str,
        push_name: &str,
        msg: CustomerMessage,
    ) -> anyhow::Result<String> {
        self.shared.customer_sends(instance, customer_phone, push_name, msg).await
    }

    /// The business writes on the phone itself: a `messages.upsert` with `fromMe: true` and
    /// the customer as `remoteJid`. Returns the message id.
    pub async fn phone_sends(&self, instance: &str, to_phone: &str, text: &str) -> anyhow::Result<String> {
        self.shared.phone_sends(instance, to_phone, text).await
    }

    /// The customer opens the chat: every API-sent message to them not read yet gets a `READ`
    /// `messages.update`. Returns how many.
    pub async fn customer_reads(&self, instance: &str, customer_phone: &str) -> anyhow::Result<usize> {
        self.shared.customer_reads(instance, customer_phone).await
    }

    /// The connection is lost (see [`Disconnect`]); its webhooks are delivered before this
    /// returns. Fails when the instance is not linked.
    pub async fn disconnect(&self, instance: &str, how: Disconnect) -> anyhow::Result<()> {
        self.shared.disconnect(instance, how).await
    }

    /// What the business sent through the API to this instance, oldest first.
    pub fn sent_messages(&self, instance: &str) -> Vec<SentMessage> {
        self.shared.sent_messages(instance)
    }

    /// How many `GET /instance/connect/{instance}` calls arrived.
    pub fn connect_calls(&self, instance: &str) -> usize {
        self.shared.connect_calls(instance)
    }

    /// Stops the server, the QR rotations and the webhook queues.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let _ = self.server.await;
    }
}
