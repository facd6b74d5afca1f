//! Live events: the bus that carries them between actions and browsers, and the SSE endpoint.
//!
//! Actions record an event in their transaction ([`Bus::record`]) and hand it to the bus after
//! commit ([`Bus::deliver`]). On SQLite (one process) delivery is an in-process broadcast. On
//! PostgreSQL the event rides a `NOTIFY` sent at commit and every instance's listener broadcasts
//! it to its own subscribers, so an event published on instance A reaches a browser on B.

pub mod sse;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::access::Audience;
use crate::domain::TenantId;
use crate::store::events::StoredEvent;
use crate::store::{self, Backend, Tx};

/// What subscribers receive: an event, or a note that some were missed and clients must resync.
#[derive(Clone, Debug)]
pub enum BusMessage {
    Event(Arc<StoredEvent>),
    Resync,
}

#[derive(Clone)]
pub struct Bus {
    backend: Backend,
    sender: broadcast::Sender<BusMessage>,
}

impl Bus {
    pub fn new(backend: Backend) -> Self {
        let (sender, _) = broadcast::channel(4096);
        Self { backend, sender }
    }

    /// Records an event inside the caller's transaction; on PostgreSQL also queues its NOTIFY.
    pub async fn record(
        &self,
        tx: &mut Tx,
        tenant: TenantId,
        kind: &str,
        audience: Audience,
        data: serde_json::Value,
        now: i64,
    ) -> anyhow::Result<StoredEvent> {
        let audience = audience.encode();
        let data = data.to_string();
        let id = store::events::insert(&mut **tx, tenant, kind, &audience, &data, now).await?;
        let event = StoredEvent { id, tenant_id: tenant, kind: kind.to_string(), audience, data, created_at: now };
        if self.backend == Backend::Postgres {
            store::events::notify(&mut **tx, &serde_json::to_string(&event)?).await?;
        }
        Ok(event)
    }

    /// Delivers events after their transaction committed (PostgreSQL delivers through NOTIFY).
    pub fn deliver(&self, events: impl IntoIterator<Item = StoredEvent>) {
        if self.backend == Backend::Sqlite {
            for e in events {
                let _ = self.sender.send(BusMessage::Event(Arc::new(e)));
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.sender.subscribe()
    }

    /// PostgreSQL: listens for events of every instance and rebroadcasts them here. After a lost
    /// connection, subscribers are told to resync since notifications may have been missed.
    /// Resolves the returned receiver once the first `LISTEN` is in place.
    pub fn spawn_pg_listener(&self, url: String) -> tokio::sync::oneshot::Receiver<()> {
        let sender = self.sender.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready = Some(ready_tx);
        tokio::spawn(async move {
            loop {
                match listen(&url, &sender, &mut ready).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener lost its connection; retrying")
                    }
                }
                let _ = sender.send(BusMessage::Resync);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        ready_rx
    }
}

async fn listen(
    url: &str,
    sender: &broadcast::Sender<BusMessage>,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> anyhow::Result<()> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(store::events::NOTIFY_CHANNEL).await?;
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    loop {
        // `try_recv` yields `None` when the connection dropped (it reconnects on the next call).
        match listener.try_recv().await? {
            Some(n) => match serde_json::from_str::<StoredEvent>(n.payload()) {
                Ok(event) => {
                    let _ = sender.send(BusMessage::Event(Arc::new(event)));
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed event notification"),
            },
            None => {
                let _ = sender.send(BusMessage::Resync);
            }
        }
    }
}
