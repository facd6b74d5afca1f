//! Receiving from a channel: stores every message and status of a webhook delivery, durably,
//! before the provider gets its 200.
//!
//! One writer task takes deliveries from all concurrent webhook requests and commits as many as
//! are waiting in one transaction (group commit): one fsync for the batch instead of one per
//! request, and each request is answered only after its batch committed. If a batch fails, its
//! deliveries are retried one by one so a bad one cannot fail the others.

mod contacts;
mod items;
mod lifecycle;
mod statuses;
mod write;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::clock::Clock;
use crate::domain::inbound::Delivery;
use crate::domain::TenantId;
use crate::realtime::Bus;
use crate::store::events::StoredEvent;
use crate::store::Db;

use write::write;

/// The most deliveries committed together.
const MAX_BATCH: usize = 512;

/// Job kind that fetches a message's media from the provider.
pub const MEDIA_JOB: &str = crate::domain::jobs::JobKind::FetchMedia.as_str();

/// Job kind that runs automation (greeting, away, chatbot) for a customer's message.
pub const AUTOMATION_JOB: &str = crate::domain::jobs::JobKind::Automation.as_str();

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    pub stored: usize,
    pub duplicates: usize,
    pub statuses_applied: usize,
    pub statuses_kept: usize,
    pub skipped: usize,
}

struct Request {
    tenant: TenantId,
    connection_id: i64,
    delivery: Delivery,
    reply: oneshot::Sender<Result<IngestSummary, String>>,
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct Ingest {
    sender: mpsc::Sender<Request>,
}

impl Ingest {
    pub fn spawn(db: Db, bus: Bus, clock: Clock, jobs_wakeup: Arc<Notify>) -> Ingest {
        let (sender, receiver) = mpsc::channel(8192);
        tokio::spawn(writer(db, bus, clock, jobs_wakeup, receiver));
        Ingest { sender }
    }

    /// Stores a delivery; returns once it is committed.
    pub async fn submit(
        &self,
        tenant: TenantId,
        connection_id: i64,
        delivery: Delivery,
    ) -> anyhow::Result<IngestSummary> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request { tenant, connection_id, delivery, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the ingest writer has stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("the ingest writer dropped the delivery"))?.map_err(anyhow::Error::msg)
    }
}

async fn writer(db: Db, bus: Bus, clock: Clock, jobs_wakeup: Arc<Notify>, mut receiver: mpsc::Receiver<Request>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        match write(&db, &bus, &clock, &batch).await {
            Ok(written) => finish(&bus, &jobs_wakeup, batch, written),
            Err(e) if batch.len() == 1 => {
                tracing::error!(error = %format!("{e:#}"), "storing a webhook delivery failed");
                for r in batch {
                    let _ = r.reply.send(Err(format!("{e:#}")));
                }
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), deliveries = batch.len(), "batch failed; storing its deliveries one by one");
                for r in batch {
                    let one = [r];
                    match write(&db, &bus, &clock, &one).await {
                        Ok(written) => finish(&bus, &jobs_wakeup, one.into(), written),
                        Err(e) => {
                            let [r] = one;
                            let _ = r.reply.send(Err(format!("{e:#}")));
                        }
                    }
                }
            }
        }
    }
}

struct Written {
    summaries: Vec<IngestSummary>,
    events: Vec<StoredEvent>,
    jobs: usize,
}

fn finish(bus: &Bus, jobs_wakeup: &Notify, batch: Vec<Request>, written: Written) {
    bus.deliver(written.events);
    if written.jobs > 0 {
        jobs_wakeup.notify_one();
    }
    for (r, summary) in batch.into_iter().zip(written.summaries) {
        let _ = r.reply.send(Ok(summary));
    }
}
