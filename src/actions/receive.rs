//! Receiving from a channel: stores every message and status of a webhook delivery, durably,
//! before the provider gets its 200.
//!
//! One writer task takes deliveries from all concurrent webhook requests and commits as many as
//! are waiting in one transaction (group commit): one fsync for the batch instead of one per
//! request, and each request is answered only after its batch committed. If a batch fails, its
//! deliveries are retried one by one so a bad one cannot fail the others.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::channels::whatsapp_cloud::inbound::{Delivery, InboundMessage};
use crate::clock::Clock;
use crate::domain::access::Audience;
use crate::domain::message::DeliveryStatus;
use crate::domain::{phone, TenantId};
use crate::realtime::{Bus, NewEvent};
use crate::store::events::StoredEvent;
use crate::store::jobs::NewJob;
use crate::store::messages::{NewMessage, StatusChange, StatusOutcome};
use crate::store::tickets::{InboundActivity, NewTicket};
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

/// One inbound message of a batch: its request, and its contact's index in the batch.
struct Item<'a> {
    req: usize,
    message: &'a InboundMessage,
    contact: usize,
}

/// A contact the batch writes to, described by its first message.
struct BatchContact<'a> {
    tenant: TenantId,
    digits: String,
    key: String,
    first: &'a InboundMessage,
}

/// Writes a batch with a few multi-row statements per step (contacts, tickets, messages, ticket
/// activity, events) rather than several round trips per message, then commits once.
async fn write(db: &Db, bus: &Bus, clock: &Clock, batch: &[Request]) -> anyhow::Result<Written> {
    let now = clock.now_ms();
    let mut summaries = vec![IngestSummary::default(); batch.len()];

    // Numbers first: one contact per (tenant, phone key), described by its first message.
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut contacts: Vec<BatchContact<'_>> = Vec::new();
    let mut contact_index: HashMap<(TenantId, String), usize> = HashMap::new();
    for (i, req) in batch.iter().enumerate() {
        for m in &req.delivery.messages {
            let Some(digits) = phone::normalize(&m.from, None) else {
                tracing::warn!(provider_id = %m.provider_id, "message from an invalid number skipped");
                summaries[i].skipped += 1;
                continue;
            };
            let key = phone::match_key(&digits);
            let contact = *contact_index.entry((req.tenant, key.clone())).or_insert_with(|| {
                contacts.push(BatchContact { tenant: req.tenant, digits, key, first: m });
                contacts.len() - 1
            });
            items.push(Item { req: i, message: m, contact });
        }
    }

    let mut tx = db.begin().await?;

    // Contacts: (id, created by this batch).
    let upserts: Vec<store::contacts::ContactUpsert<'_>> = contacts
        .iter()
        .map(|c| store::contacts::ContactUpsert {
            tenant_id: c.tenant,
            phone: &c.digits,
            phone_key: &c.key,
            wa_id: Some(&c.first.from),
            name: c.first.profile_name.as_deref().unwrap_or(""),
        })
        .collect();
    let mut contact_rows: Vec<Option<(i64, bool)>> = vec![None; contacts.len()];
    for u in store::contacts::upsert_many(&mut tx, &upserts, now).await? {
        if let Some(&i) = contact_index.get(&(u.tenant_id, u.phone_key)) {
            contact_rows[i] = Some((u.id, u.created));
        }
    }
    let contact_rows: Vec<(i64, bool)> = contact_rows
        .into_iter()
        .map(|r| r.ok_or_else(|| anyhow::anyhow!("a contact upsert returned no row")))
        .collect::<anyhow::Result<_>>()?;

    // Tickets: each (contact, connection)'s current one, opened where there is none.
    let mut tickets: HashMap<NewTicket, (i64, bool)> = HashMap::new();
    let mut wanted: Vec<NewTicket> = Vec::new();
    let mut contact_ids_by_tenant: HashMap<TenantId, Vec<i64>> = HashMap::new();
    let mut seen_contacts = vec![false; contacts.len()];
    for item in &items {
        let req = &batch[item.req];
        let t = NewTicket {
            tenant_id: req.tenant,
            contact_id: contact_rows[item.contact].0,
            connection_id: req.connection_id,
        };
        if tickets.insert(t, (0, false)).is_none() {
            wanted.push(t);
        }
        if !std::mem::replace(&mut seen_contacts[item.contact], true) {
            contact_ids_by_tenant.entry(req.tenant).or_default().push(t.contact_id);
        }
    }
    for (tenant, contact_ids) in &contact_ids_by_tenant {
        for ((contact_id, connection_id), id) in
            store::tickets::find_current_many(&mut tx, *tenant, contact_ids).await?
        {
            let t = NewTicket { tenant_id: *tenant, contact_id, connection_id };
            if let Some(entry) = tickets.get_mut(&t) {
                *entry = (id, false);
            }
        }
    }
    let to_open: Vec<NewTicket> =
        wanted.into_iter().filter(|t| tickets.get(t).is_some_and(|(id, _)| *id == 0)).collect();
    for (t, id) in store::tickets::insert_many(&mut tx, &to_open, "waiting", now).await? {
        tickets.insert(t, (id, true));
    }
    let ticket_of = |item: &Item<'_>| -> anyhow::Result<(i64, bool)> {
        let req = &batch[item.req];
        let t = NewTicket {
            tenant_id: req.tenant,
            contact_id: contact_rows[item.contact].0,
            connection_id: req.connection_id,
        };
        match tickets.get(&t) {
            Some(&(id, created)) if id != 0 => Ok((id, created)),
            _ => Err(anyhow::anyhow!("a ticket insert returned no row")),
        }
    };

    // Messages: one multi-row insert; a provider id already stored (or earlier in the batch) is
    // left out of the returned rows and counts as a duplicate.
    let payloads: Vec<String> = items.iter().map(|i| i.message.raw.to_string()).collect();
    let mut rows = Vec::with_capacity(items.len());
    for (item, payload) in items.iter().zip(&payloads) {
        let req = &batch[item.req];
        let m = item.message;
        rows.push(NewMessage {
            tenant_id: req.tenant,
            connection_id: req.connection_id,
            ticket_id: ticket_of(item)?.0,
            contact_id: contact_rows[item.contact].0,
            direction: "in",
            provider_id: Some(&m.provider_id),
            kind: m.kind.as_str(),
            body: m.body.as_deref(),
            payload,
            refers_to: m.refers_to.as_deref(),
            status: DeliveryStatus::Received,
            media_id: m.media_id.as_deref(),
            media_mime: m.media_mime.as_deref(),
            idempotency_key: None,
            sender_user_id: None,
            sent_at: if m.sent_at_ms > 0 { m.sent_at_ms } else { now },
        });
    }
    let mut inserted: HashMap<(TenantId, i64, String), i64> = HashMap::new();
    for r in store::messages::insert_many(&mut tx, &rows, now).await? {
        if let Some(provider_id) = r.provider_id {
            inserted.insert((r.tenant_id, r.connection_id, provider_id), r.id);
        }
    }

    // In delivery order: summaries, ticket activity, media jobs, events, statuses.
    let mut events: Vec<NewEvent> = Vec::new();
    let mut activity: HashMap<(TenantId, i64), TicketActivity> = HashMap::new();
    let mut connections: HashMap<i64, TenantId> = HashMap::new();
    let mut announced_contacts = vec![false; contacts.len()];
    let mut announced_tickets: HashSet<i64> = HashSet::new();
    let mut jobs = 0;
    let mut next_item = 0;
    for (i, req) in batch.iter().enumerate() {
        let tenant = req.tenant;
        connections.insert(req.connection_id, tenant);
        let summary = &mut summaries[i];
        while let Some(item) = items.get(next_item).filter(|item| item.req == i) {
            let message = &rows[next_item];
            next_item += 1;
            let (contact_id, contact_created) = contact_rows[item.contact];
            if contact_created && !std::mem::replace(&mut announced_contacts[item.contact], true) {
                let data = serde_json::json!({ "contact_id": contact_id });
                events.push(NewEvent { tenant, kind: "contact.created", audience: Audience::Tenant, data });
            }
            let (ticket_id, ticket_created) = ticket_of(item)?;
            if ticket_created && announced_tickets.insert(ticket_id) {
                let data = serde_json::json!({ "ticket_id": ticket_id, "contact_id": contact_id });
                events.push(NewEvent { tenant, kind: "ticket.created", audience: Audience::Tenant, data });
            }
            let key = (tenant, req.connection_id, item.message.provider_id.clone());
            // Taking the id out makes a second copy in the same batch a duplicate.
            let Some(message_id) = inserted.remove(&key) else {
                summary.duplicates += 1;
                continue;
            };
            summary.stored += 1;
            let a = activity.entry((tenant, ticket_id)).or_default();
            a.new_messages += 1;
            a.last_at = a.last_at.max(message.sent_at);
            let m = item.message;
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
            events.push(NewEvent { tenant, kind: "message.created", audience: Audience::Tenant, data });
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
                    events.push(NewEvent { tenant, kind: "message.status", audience: Audience::Tenant, data });
                }
                StatusOutcome::Stale => {}
                StatusOutcome::Unknown => {
                    // The status overtook its message (or our send is not recorded yet): keep it.
                    store::messages::keep_pending_status(&mut *tx, tenant, &change, now).await?;
                    summary.statuses_kept += 1;
                }
            }
        }
    }
    let activity: Vec<InboundActivity> = activity
        .into_iter()
        .map(|((tenant_id, ticket_id), a)| InboundActivity {
            tenant_id,
            ticket_id,
            new_messages: a.new_messages,
            last_at: a.last_at,
        })
        .collect();
    store::tickets::record_inbound_many(&mut tx, &activity).await?;
    for (connection_id, tenant) in connections {
        store::connections::mark_webhook(&mut *tx, tenant, connection_id, now).await?;
    }
    let events = bus.record_many(&mut tx, events, now).await?;
    tx.commit().await?;
    Ok(Written { summaries, events, jobs })
}
