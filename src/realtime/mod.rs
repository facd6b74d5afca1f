//! Live events: the bus that carries them between actions and browsers (the SSE endpoint that
//! streams them out is the edge's: `http::sse`).
//!
//! Actions record an event in their transaction ([`Bus::record`]) and hand it to the bus after
//! commit ([`Bus::deliver`]). On SQLite (one process) delivery is an in-process broadcast. On
//! PostgreSQL the event rides a `NOTIFY` sent at commit and every instance's listener broadcasts
//! it to its own subscribers, so an event published on instance A reaches a browser on B.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::access::Audience;
use crate::domain::TenantId;
use crate::store::events::StoredEvent;
use crate::store::{self, Backend, Tx};

/// An event to record with [`Bus::record_many`].
pub struct NewEvent {
    pub tenant: TenantId,
    pub kind: &'static str,
    pub audience: Audience,
    pub data: serde_json::Value,
}

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
const MAX_NOTIFY_BYTES: usize = 7900;

/// Packs events into notification payloads: one event alone is its JSON object (as
/// [`Bus::record`] sends); several are a JSON array kept under [`MAX_NOTIFY_BYTES`].
fn notification_payloads(events: &[StoredEvent]) -> anyhow::Result<Vec<String>> {
    let mut payloads = Vec::new();
    let mut group: Vec<String> = Vec::new();
    let mut group_bytes = 0;
    let flush = |group: &mut Vec<String>, payloads: &mut Vec<String>| match group.len() {
        0 => {}
        1 => payloads.append(group),
        _ => {
            payloads.push(format!("[{}]", group.join(",")));
            group.clear();
        }
    };
    for e in events {
        let json = serde_json::to_string(e)?;
        // Brackets and commas: one byte per event plus one.
        if !group.is_empty() && group_bytes + json.len() + group.len() + 2 > MAX_NOTIFY_BYTES {
            flush(&mut group, &mut payloads);
            group_bytes = 0;
        }
        group_bytes += json.len();
        group.push(json);
    }
    flush(&mut group, &mut payloads);
    Ok(payloads)
}

/// The events of one notification payload: an event object or an array of them.
fn parse_notification(payload: &str) -> serde_json::Result<Vec<StoredEvent>> {
    if payload.trim_start().starts_with('[') {
        serde_json::from_str(payload)
    } else {
        serde_json::from_str(payload).map(|e| vec![e])
    }
}

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

    /// [`Bus::record`] for many events in few statements; returns them in the order given. On
    /// PostgreSQL the events ride as few notifications as their size allows (a JSON array per
    /// notification, each under PostgreSQL's 8000-byte payload limit); listeners broadcast each.
    pub async fn record_many(&self, tx: &mut Tx, events: Vec<NewEvent>, now: i64) -> anyhow::Result<Vec<StoredEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let encoded: Vec<(TenantId, &'static str, String, String)> =
            events.into_iter().map(|e| (e.tenant, e.kind, e.audience.encode(), e.data.to_string())).collect();
        let rows: Vec<store::events::NewEvent<'_>> = encoded
            .iter()
            .map(|(tenant, kind, audience, data)| store::events::NewEvent { tenant_id: *tenant, kind, audience, data })
            .collect();
        let ids = store::events::insert_many(tx, &rows, now).await?;
        let stored: Vec<StoredEvent> = encoded
            .into_iter()
            .zip(ids)
            .map(|((tenant_id, kind, audience, data), id)| StoredEvent {
                id,
                tenant_id,
                kind: kind.to_string(),
                audience,
                data,
                created_at: now,
            })
            .collect();
        if self.backend == Backend::Postgres {
            let payloads = notification_payloads(&stored)?;
            store::events::notify_many(tx, &payloads).await?;
        }
        Ok(stored)
    }

    /// Delivers events after their transaction committed (PostgreSQL delivers through NOTIFY).
    pub fn deliver(&self, events: impl IntoIterator<Item = StoredEvent>) {
        if self.backend == Backend::Sqlite {
            for e in events {
                let _ = self.sender.send(BusMessage::Event(Arc::new(e)));
            }
        }
    }

    /// Sends events that are not stored (a typing indicator): id 0, so they are never replayed
    /// and carry no `Last-Event-ID`; on PostgreSQL they ride a notification sent at once.
    pub async fn flash(&self, db: &store::Db, events: Vec<NewEvent>, now: i64) -> anyhow::Result<()> {
        let events: Vec<StoredEvent> = events
            .into_iter()
            .map(|e| StoredEvent {
                id: crate::domain::ids::EventId(0),
                tenant_id: e.tenant,
                kind: e.kind.to_string(),
                audience: e.audience.encode(),
                data: e.data.to_string(),
                created_at: now,
            })
            .collect();
        match self.backend {
            Backend::Sqlite => {
                for e in events {
                    let _ = self.sender.send(BusMessage::Event(Arc::new(e)));
                }
            }
            Backend::Postgres => {
                for payload in notification_payloads(&events)? {
                    store::events::notify(db.writer(), &payload).await?;
                }
            }
        }
        Ok(())
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
            Some(n) => match parse_notification(n.payload()) {
                Ok(events) => {
                    for event in events {
                        let _ = sender.send(BusMessage::Event(Arc::new(event)));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed event notification"),
            },
            None => {
                let _ = sender.send(BusMessage::Resync);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::EventId;

    fn event(id: i64, data_len: usize) -> StoredEvent {
        StoredEvent {
            id: EventId(id),
            tenant_id: TenantId(1),
            kind: "message.created".into(),
            audience: "tenant".into(),
            data: "x".repeat(data_len),
            created_at: 1,
        }
    }

    #[test]
    fn notifications_carry_every_event_once_in_order_and_stay_under_the_limit() {
        let events: Vec<StoredEvent> = (1..=300).map(|i| event(i, (i as usize * 37) % 900)).collect();
        let payloads = notification_payloads(&events).unwrap();
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        let back: Vec<i64> = payloads.iter().flat_map(|p| parse_notification(p).unwrap()).map(|e| e.id.0).collect();
        assert_eq!(back, (1..=300).collect::<Vec<_>>());
    }

    #[test]
    fn a_lone_event_is_sent_as_an_object() {
        let payloads = notification_payloads(&[event(7, 10)]).unwrap();
        assert_eq!(payloads.len(), 1);
        assert!(payloads[0].starts_with('{'));
        assert_eq!(parse_notification(&payloads[0]).unwrap()[0].id.0, 7);
    }
}
