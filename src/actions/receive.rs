//! Receiving from a channel: stores every message and status of a webhook delivery, durably,
//! before the provider gets its 200.
//!
//! One writer task takes deliveries from all concurrent webhook requests and commits as many as
//! are waiting in one transaction (group commit): one fsync for the batch instead of one per
//! request, and each request is answered only after its batch committed. If a batch fails, its
//! deliveries are retried one by one so a bad one cannot fail the others.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::channels::whatsapp_cloud::inbound::Delivery;
use crate::clock::Clock;
use crate::domain::access::Audience;
use crate::domain::message::DeliveryStatus;
use crate::domain::{phone, TenantId};
use crate::realtime::Bus;
use crate::store::events::StoredEvent;
use crate::store::jobs::NewJob;
use crate::store::messages::{NewMessage, StatusChange, StatusOutcome};
use crate::store::{self, Db};

/// The most deliveries committed together.
const MAX_BATCH: usize = 512;

/// Job kind that fetches a message's media from the provider.
pub const MEDIA_JOB: &str = "whatsapp.fetch_media";

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

#[derive(Default)]
struct TicketActivity {
    new_messages: i64,
    last_at: i64,
}

async fn write(db: &Db, bus: &Bus, clock: &Clock, batch: &[Request]) -> anyhow::Result<Written> {
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let mut contacts: HashMap<(TenantId, String), i64> = HashMap::new();
    let mut tickets: HashMap<(TenantId, i64, i64), i64> = HashMap::new();
    let mut activity: HashMap<(TenantId, i64), TicketActivity> = HashMap::new();
    let mut connections: HashMap<i64, TenantId> = HashMap::new();
    let mut events = Vec::new();
    let mut summaries = Vec::with_capacity(batch.len());
    let mut jobs = 0;
    for req in batch {
        let tenant = req.tenant;
        connections.insert(req.connection_id, tenant);
        let mut summary = IngestSummary::default();
        for m in &req.delivery.messages {
            let Some(digits) = phone::normalize(&m.from, None) else {
                tracing::warn!(provider_id = %m.provider_id, "message from an invalid number skipped");
                summary.skipped += 1;
                continue;
            };
            let key = phone::match_key(&digits);
            let contact_id = match contacts.get(&(tenant, key.clone())) {
                Some(id) => *id,
                None => {
                    let upsert = store::contacts::ContactUpsert {
                        tenant_id: tenant,
                        phone: &digits,
                        phone_key: &key,
                        wa_id: Some(&m.from),
                        name: m.profile_name.as_deref().unwrap_or(""),
                    };
                    let (id, created) = store::contacts::upsert_by_phone(&mut *tx, upsert, now).await?;
                    if created {
                        let data = serde_json::json!({ "contact_id": id });
                        events.push(bus.record(&mut tx, tenant, "contact.created", Audience::Tenant, data, now).await?);
                    }
                    contacts.insert((tenant, key), id);
                    id
                }
            };
            let ticket_key = (tenant, contact_id, req.connection_id);
            let ticket_id = match tickets.get(&ticket_key) {
                Some(id) => *id,
                None => {
                    let id = match store::tickets::find_current(&mut *tx, tenant, contact_id, req.connection_id).await?
                    {
                        Some(id) => id,
                        None => {
                            let id =
                                store::tickets::insert(&mut *tx, tenant, contact_id, req.connection_id, "waiting", now)
                                    .await?;
                            let data = serde_json::json!({ "ticket_id": id, "contact_id": contact_id });
                            events.push(
                                bus.record(&mut tx, tenant, "ticket.created", Audience::Tenant, data, now).await?,
                            );
                            id
                        }
                    };
                    tickets.insert(ticket_key, id);
                    id
                }
            };
            let payload = m.raw.to_string();
            let sent_at = if m.sent_at_ms > 0 { m.sent_at_ms } else { now };
            let new = NewMessage {
                tenant_id: tenant,
                connection_id: req.connection_id,
                ticket_id,
                contact_id,
                direction: "in",
                provider_id: Some(&m.provider_id),
                kind: m.kind.as_str(),
                body: m.body.as_deref(),
                payload: &payload,
                refers_to: m.refers_to.as_deref(),
                status: DeliveryStatus::Received,
                media_id: m.media_id.as_deref(),
                media_mime: m.media_mime.as_deref(),
                idempotency_key: None,
                sender_user_id: None,
                sent_at,
            };
            let Some(message_id) = store::messages::insert(&mut *tx, new, now).await? else {
                summary.duplicates += 1;
                continue;
            };
            summary.stored += 1;
            let a = activity.entry((tenant, ticket_id)).or_default();
            a.new_messages += 1;
            a.last_at = a.last_at.max(sent_at);
            if m.kind.has_media() && m.media_id.is_some() {
                let payload = serde_json::json!({ "message_id": message_id });
                let dedupe = format!("media:{message_id}");
                let job = NewJob {
                    tenant_id: tenant,
                    kind: MEDIA_JOB,
                    payload: &payload,
                    run_at: now,
                    max_attempts: 8,
                    dedupe_key: Some(&dedupe),
                };
                store::jobs::enqueue(&mut *tx, job, now).await?;
                jobs += 1;
            }
            let data = serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "contact_id": contact_id, "direction": "in" });
            events.push(bus.record(&mut tx, tenant, "message.created", Audience::Tenant, data, now).await?);
        }
        for s in &req.delivery.statuses {
            let change = StatusChange {
                connection_id: req.connection_id,
                provider_id: &s.provider_id,
                status: s.status,
                error_code: s.error_code,
                error_title: s.error_title.as_deref(),
            };
            match store::messages::apply_status(&mut tx, tenant, &change, now).await? {
                StatusOutcome::Applied(message_id, ticket_id) => {
                    summary.statuses_applied += 1;
                    let data =
                        serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "status": s.status });
                    events.push(bus.record(&mut tx, tenant, "message.status", Audience::Tenant, data, now).await?);
                }
                StatusOutcome::Stale => {}
                StatusOutcome::Unknown => {
                    // The status overtook its message (or our send is not recorded yet): keep it.
                    store::messages::keep_pending_status(&mut *tx, tenant, &change, now).await?;
                    summary.statuses_kept += 1;
                }
            }
        }
        summaries.push(summary);
    }
    for ((tenant, ticket_id), a) in activity {
        store::tickets::record_inbound(&mut *tx, tenant, ticket_id, a.new_messages, a.last_at).await?;
    }
    for (connection_id, tenant) in connections {
        store::connections::mark_webhook(&mut *tx, tenant, connection_id, now).await?;
    }
    tx.commit().await?;
    Ok(Written { summaries, events, jobs })
}
