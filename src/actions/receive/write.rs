//! One batch's transaction: contacts, identities, tickets, messages, statuses, ticket activity,
//! lifecycle and events, a few multi-row statements per step, committed once.

use std::collections::{HashMap, HashSet};

use crate::clock::Clock;
use crate::domain::access::Audience;
use crate::domain::contacts::{may_be_keyword, IdentityKind};
use crate::domain::inbox;
use crate::domain::message::{DeliveryStatus, MessageKind};
use crate::domain::{phone, TenantId};
use crate::realtime::{Bus, NewEvent};
use crate::store::identities::{IdentityMatch, NewIdentity};
use crate::store::jobs::NewJob;
use crate::store::messages::NewMessage;
use crate::store::settings::TenantSettings;
use crate::store::tickets::{ClosedTicket, InboundActivity, NewTicket};
use crate::store::{self, Db};

use super::contacts::{absorb_phones, Absorb, BatchContact};
use super::items::{ticket_updated, Item, Slot, TicketActivity};
use super::{lifecycle, IngestSummary, Request, Written, AUTOMATION_JOB, MEDIA_JOB};
use crate::actions::campaigns::run::replies_opened;

/// Writes a batch with a few multi-row statements per step (contacts, tickets, messages, ticket
/// activity, events) rather than several round trips per message, then commits once.
pub(super) async fn write(db: &Db, bus: &Bus, clock: &Clock, batch: &[Request]) -> anyhow::Result<Written> {
    let now = clock.now_ms();
    let mut summaries = vec![IngestSummary::default(); batch.len()];
    let mut tx = db.begin().await?;
    let mut events: Vec<NewEvent> = Vec::new();

    // Each tenant's automation switches (one read per tenant with messages): whether its
    // customers' messages go to the automation job, and whether new tickets start in the bot.
    let mut automation: HashMap<TenantId, store::automation::Switches> = HashMap::new();
    for req in batch.iter().filter(|r| !r.delivery.messages.is_empty()) {
        if let std::collections::hash_map::Entry::Vacant(e) = automation.entry(req.tenant) {
            e.insert(store::automation::switches(&mut *tx, req.tenant).await?);
        }
    }

    // User ids first (one read per tenant): a known one names its contact, whatever phone comes
    // with it, and costs no contact read or write.
    let mut user_ids: HashMap<TenantId, HashSet<&str>> = HashMap::new();
    for req in batch {
        for u in req.delivery.messages.iter().filter_map(|m| m.user_id.as_deref()) {
            user_ids.entry(req.tenant).or_default().insert(u);
        }
    }
    let mut known_users: HashMap<TenantId, HashMap<String, IdentityMatch>> = HashMap::new();
    for (tenant, ids) in &user_ids {
        let ids: Vec<&str> = ids.iter().copied().collect();
        let found = store::identities::find_many(&mut tx, *tenant, IdentityKind::WhatsAppUser, &ids).await?;
        known_users.insert(*tenant, found.into_iter().map(|i| (i.value.clone(), i)).collect());
    }

    // Then one contact per person: per user id, else per (tenant, phone key), described by its
    // first message.
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut contacts: Vec<BatchContact<'_>> = Vec::new();
    let mut contact_index: HashMap<(TenantId, String), usize> = HashMap::new();
    let mut by_user: HashMap<(TenantId, &str), usize> = HashMap::new();
    let mut absorbs: Vec<Absorb<'_>> = Vec::new();
    let mut absorbing: HashSet<usize> = HashSet::new();
    // Contacts found by user id whose username or WhatsApp id changed: (tenant, id, username, wa_id).
    let mut refreshes: Vec<(TenantId, i64, Option<&str>, Option<&str>)> = Vec::new();
    for (i, req) in batch.iter().enumerate() {
        for m in &req.delivery.messages {
            let digits = m.from.as_deref().and_then(|f| phone::normalize(f, None));
            let user_id = m.user_id.as_deref();
            if digits.is_none() && user_id.is_none() {
                tracing::warn!(provider_id = %m.provider_id, "message from an invalid number skipped");
                summaries[i].skipped += 1;
                continue;
            }
            let seen = user_id.and_then(|u| by_user.get(&(req.tenant, u)).copied());
            let contact = match seen {
                Some(c) => c,
                None => {
                    let known = user_id.and_then(|u| known_users.get(&req.tenant).and_then(|k| k.get(u)));
                    let key = match (known, &digits) {
                        (Some(k), _) => format!("#{}", k.contact_id),
                        (None, Some(d)) => phone::match_key(d),
                        (None, None) => store::contacts::user_key(user_id.unwrap_or_default()),
                    };
                    if let Some(k) = known {
                        let username = m.username.as_deref().filter(|u| k.username.as_deref() != Some(u));
                        // Only a wa_id of the number the contact has (the user id wins over another one).
                        let wa_id = m.from.as_deref().filter(|w| {
                            k.wa_id.as_deref() != Some(w)
                                && digits.as_deref().is_some_and(|d| phone::match_key(d) == k.phone_key)
                        });
                        if username.is_some() || wa_id.is_some() {
                            refreshes.push((req.tenant, k.contact_id, username, wa_id));
                        }
                    }
                    let c = *contact_index.entry((req.tenant, key.clone())).or_insert_with(|| {
                        contacts.push(BatchContact {
                            tenant: req.tenant,
                            digits: if known.is_some() { String::new() } else { digits.clone().unwrap_or_default() },
                            phoneless: known.map_or(digits.is_none(), |k| store::contacts::is_user_key(&k.phone_key)),
                            key,
                            first: m,
                            user_id,
                            resolved: known.map(|k| k.contact_id),
                        });
                        contacts.len() - 1
                    });
                    if let Some(u) = user_id {
                        by_user.insert((req.tenant, u), c);
                    }
                    c
                }
            };
            if let (true, Some(d)) = (contacts[contact].phoneless, &digits) {
                if absorbing.insert(contact) {
                    absorbs.push(Absorb {
                        contact,
                        key: phone::match_key(d),
                        digits: d.clone(),
                        wa_id: m.from.as_deref(),
                    });
                }
            }
            items.push(Item { req: i, message: m, contact });
        }
    }

    // Contacts: (id, created by this batch). One read finds the known ones; only new contacts
    // and those the upsert would change (a name, WhatsApp id or username to fill) are written,
    // so a returning sender costs no contact row write.
    let upserts: Vec<store::contacts::ContactUpsert<'_>> = contacts
        .iter()
        .map(|c| store::contacts::ContactUpsert {
            tenant_id: c.tenant,
            phone: &c.digits,
            phone_key: &c.key,
            wa_id: c.first.from.as_deref().filter(|_| !c.digits.is_empty()),
            name: c.first.profile_name.as_deref().unwrap_or(""),
            username: c.first.username.as_deref(),
        })
        .collect();
    let mut contact_rows: Vec<Option<(i64, bool)>> =
        contacts.iter().map(|c| c.resolved.map(|id| (id, false))).collect();
    let mut keys_by_tenant: HashMap<TenantId, Vec<&str>> = HashMap::new();
    for c in contacts.iter().filter(|c| c.resolved.is_none()) {
        keys_by_tenant.entry(c.tenant).or_default().push(&c.key);
    }
    for (tenant, keys) in &keys_by_tenant {
        for known in store::contacts::find_by_phone_keys(&mut tx, *tenant, keys).await? {
            if let Some(&i) = contact_index.get(&(*tenant, known.phone_key.clone())) {
                if !store::contacts::upsert_would_change(&known, &upserts[i]) {
                    contact_rows[i] = Some((known.id, false));
                }
            }
        }
    }
    let to_write: Vec<store::contacts::ContactUpsert<'_>> =
        upserts.iter().zip(&contact_rows).filter(|(_, row)| row.is_none()).map(|(u, _)| *u).collect();
    if !to_write.is_empty() {
        for u in store::contacts::upsert_many(&mut tx, &to_write, now).await? {
            if let Some(&i) = contact_index.get(&(u.tenant_id, u.phone_key)) {
                contact_rows[i] = Some((u.id, u.created));
            }
        }
    }
    let mut contact_rows: Vec<(i64, bool)> = contact_rows
        .into_iter()
        .map(|r| r.ok_or_else(|| anyhow::anyhow!("a contact upsert returned no row")))
        .collect::<anyhow::Result<_>>()?;
    for (tenant, id, username, wa_id) in &refreshes {
        store::contacts::refresh_whatsapp(&mut *tx, *tenant, *id, *username, *wa_id, now).await?;
    }
    // Identities the batch met for the first time: user ids, and the phone of new contacts.
    let phones: Vec<Option<String>> = contacts
        .iter()
        .zip(&contact_rows)
        .map(|(c, (_, created))| (*created && !c.digits.is_empty()).then(|| format!("+{}", c.digits)))
        .collect();
    let mut identities = Vec::new();
    for ((c, (id, _)), e164) in contacts.iter().zip(&contact_rows).zip(&phones) {
        if c.resolved.is_some() {
            continue;
        }
        let identity = |kind, value| NewIdentity { tenant_id: c.tenant, contact_id: *id, kind, value };
        if let Some(u) = c.user_id {
            identities.push(identity(IdentityKind::WhatsAppUser, u));
        }
        if let Some(e164) = e164 {
            identities.push(identity(IdentityKind::Phone, e164));
            if let Some(wa_id) = c.first.from.as_deref() {
                identities.push(identity(IdentityKind::WhatsApp, wa_id));
            }
        }
    }
    if !identities.is_empty() {
        store::identities::insert_many(&mut tx, &identities, now).await?;
    }
    if !absorbs.is_empty() {
        absorb_phones(&mut tx, &contacts, &mut contact_rows, &absorbs, &mut events, now).await?;
    }

    // Tickets: each (contact, connection)'s current (not closed) one. A pair without one looks
    // at its newest closed ticket: a pending CSAT answer goes to it, a message within the reopen
    // window reopens it, anything later starts a new ticket. All of that only runs for pairs
    // without a current ticket, so the common case costs one statement per tenant.
    let pair_of = |item: &Item<'_>| NewTicket {
        tenant_id: batch[item.req].tenant,
        contact_id: contact_rows[item.contact].0,
        connection_id: batch[item.req].connection_id,
    };
    let mut current: HashMap<NewTicket, i64> = HashMap::new();
    let mut contact_ids_by_tenant: HashMap<TenantId, Vec<i64>> = HashMap::new();
    let mut seen_contacts = vec![false; contacts.len()];
    for item in &items {
        if !std::mem::replace(&mut seen_contacts[item.contact], true) {
            contact_ids_by_tenant.entry(batch[item.req].tenant).or_default().push(contact_rows[item.contact].0);
        }
    }
    for (tenant, contact_ids) in &contact_ids_by_tenant {
        for ((contact_id, connection_id), id) in
            store::tickets::find_current_many(&mut tx, *tenant, contact_ids).await?
        {
            current.insert(NewTicket { tenant_id: *tenant, contact_id, connection_id }, id);
        }
    }
    let lacking: Vec<&Item<'_>> = items.iter().filter(|i| !current.contains_key(&pair_of(i))).collect();
    let mut closed: HashMap<NewTicket, ClosedTicket> = HashMap::new();
    let mut settings: HashMap<TenantId, TenantSettings> = HashMap::new();
    let mut stored_before: HashSet<(TenantId, i64, String)> = HashSet::new();
    if !lacking.is_empty() {
        let mut by_tenant: HashMap<TenantId, Vec<i64>> = HashMap::new();
        let mut by_connection: HashMap<(TenantId, i64), Vec<&str>> = HashMap::new();
        for item in &lacking {
            let pair = pair_of(item);
            let ids = by_tenant.entry(pair.tenant_id).or_default();
            if !ids.contains(&pair.contact_id) {
                ids.push(pair.contact_id);
            }
            by_connection.entry((pair.tenant_id, pair.connection_id)).or_default().push(&item.message.provider_id);
        }
        for (tenant, contact_ids) in &by_tenant {
            settings.insert(*tenant, store::settings::get(&mut *tx, *tenant).await?);
            for ((contact_id, connection_id), t) in
                store::tickets::latest_closed_many(&mut tx, *tenant, contact_ids).await?
            {
                closed.insert(NewTicket { tenant_id: *tenant, contact_id, connection_id }, t);
            }
        }
        // A re-delivered message must not reopen, rate or open anything.
        for ((tenant, connection_id), ids) in &by_connection {
            for id in store::messages::existing_provider_ids(&mut tx, *tenant, *connection_id, ids).await? {
                stored_before.insert((*tenant, *connection_id, id));
            }
        }
    }
    enum Pair {
        Current(i64),
        Closed { ticket: ClosedTicket, csat_pending: bool },
        New,
    }
    let mut pairs: HashMap<NewTicket, Pair> = HashMap::new();
    let mut slots: Vec<Slot> = Vec::with_capacity(items.len());
    let mut to_open: Vec<NewTicket> = Vec::new();
    let mut opening: HashSet<NewTicket> = HashSet::new();
    let mut reopened: Vec<(TenantId, ClosedTicket)> = Vec::new();
    let mut ratings: Vec<(TenantId, i64, i64)> = Vec::new();
    let mut seen_ids: HashSet<(TenantId, i64, &str)> = HashSet::new();
    for item in &items {
        let pair = pair_of(item);
        if let Some(&id) = current.get(&pair) {
            slots.push(Slot::Ticket(id));
            continue;
        }
        let m = item.message;
        let key = (pair.tenant_id, pair.connection_id, m.provider_id.clone());
        if stored_before.contains(&key) || !seen_ids.insert((pair.tenant_id, pair.connection_id, &m.provider_id)) {
            slots.push(Slot::Duplicate);
            continue;
        }
        let state = pairs.entry(pair).or_insert_with(|| match closed.get(&pair) {
            Some(t) => {
                Pair::Closed { ticket: *t, csat_pending: t.csat_requested_at.is_some() && t.csat_rating.is_none() }
            }
            None => Pair::New,
        });
        let window_ms = settings.get(&pair.tenant_id).map(|s| s.reopen_window_minutes).unwrap_or(120) * 60_000;
        match state {
            Pair::Current(id) => slots.push(Slot::Ticket(*id)),
            Pair::New => slots.push(Slot::New(pair)),
            Pair::Closed { ticket, csat_pending } => {
                let rating = m.body.as_deref().filter(|_| m.kind == MessageKind::Text).and_then(inbox::parse_csat);
                let asked = ticket.csat_requested_at.unwrap_or(0);
                if let (true, Some(r), true) = (*csat_pending, rating, now - asked <= inbox::CSAT_ANSWER_WINDOW_MS) {
                    ratings.push((pair.tenant_id, ticket.id, r));
                    *csat_pending = false;
                    slots.push(Slot::Ticket(ticket.id));
                } else if now - ticket.closed_at <= window_ms {
                    reopened.push((pair.tenant_id, *ticket));
                    slots.push(Slot::Ticket(ticket.id));
                    *state = Pair::Current(ticket.id);
                } else {
                    slots.push(Slot::New(pair));
                    *state = Pair::New;
                }
            }
        }
        if matches!(state, Pair::New) && opening.insert(pair) {
            to_open.push(pair);
        }
    }
    // New tickets: protocols drawn per tenant (one statement each), department from the
    // connection's default.
    let mut opened: HashMap<NewTicket, i64> = HashMap::new();
    let mut new_in_department: Vec<(TenantId, i64, i64)> = Vec::new();
    if !to_open.is_empty() {
        let mut per_tenant: HashMap<TenantId, i64> = HashMap::new();
        let mut departments: HashMap<(TenantId, i64), Option<i64>> = HashMap::new();
        for t in &to_open {
            *per_tenant.entry(t.tenant_id).or_default() += 1;
            if let std::collections::hash_map::Entry::Vacant(e) = departments.entry((t.tenant_id, t.connection_id)) {
                e.insert(store::connections::default_department(&mut *tx, t.tenant_id, t.connection_id).await?);
            }
        }
        let mut next_seq: HashMap<TenantId, (i64, i64)> = HashMap::new();
        for (tenant, n) in per_tenant {
            // The company's clock at this moment (its zone; the fixed offset if that is unusable).
            let zone = store::automation::time_zone(&mut *tx, tenant).await?;
            let offset = match crate::domain::hours::parse_tz(&zone) {
                Some(tz) => crate::domain::hours::offset_minutes(tz, now),
                None => settings.get(&tenant).map(|s| s.utc_offset_minutes).unwrap_or(-180),
            };
            let day = inbox::local_day(now, offset);
            next_seq.insert(tenant, (day, store::tickets::allocate_protocols(&mut *tx, tenant, day, n).await?));
        }
        let mut rows = Vec::with_capacity(to_open.len());
        for t in &to_open {
            let (day, seq) = next_seq.get_mut(&t.tenant_id).ok_or_else(|| anyhow::anyhow!("no protocol range"))?;
            rows.push((
                *t,
                inbox::format_protocol(*day, *seq),
                departments.get(&(t.tenant_id, t.connection_id)).copied().flatten(),
            ));
            *seq += 1;
        }
        let mut created_events = Vec::with_capacity(rows.len());
        let mut to_owners = Vec::new();
        for (t, id) in store::tickets::insert_many(&mut tx, &rows, now).await? {
            opened.insert(t, id);
            let department = departments.get(&(t.tenant_id, t.connection_id)).copied().flatten();
            // A contact in an online agent's wallet goes to them, past the chatbot.
            let owner = crate::actions::wallet::available_owner(&mut tx, t.tenant_id, id, now).await?;
            let bot = owner.is_none() && automation.get(&t.tenant_id).is_some_and(|s| s.bot_on(t.connection_id));
            if let Some(owner) = owner {
                to_owners.push((t.tenant_id, id, department, owner));
            } else if bot {
                // The chatbot greets it first and hands it to people when it is done.
                store::automation::enter_bot(&mut *tx, t.tenant_id, id).await?;
            } else if let Some(d) = department {
                new_in_department.push((t.tenant_id, id, d));
            }
            created_events.push((t.tenant_id, id, department, bot));
        }
        store::ticket_events::insert_created_many(&mut tx, &created_events, now).await?;
        for (tenant, id, department, owner) in to_owners {
            if crate::actions::wallet::assign_to_owner(&mut tx, tenant, id, owner, now).await? {
                events.push(ticket_updated(tenant, id, "assigned", "open", department, Some(owner)));
            }
        }
        // A customer a campaign reached lately wrote back: the campaign's message goes into the
        // new ticket first (before this batch's messages), tagged (one read per tenant).
        let mut per_tenant: HashMap<TenantId, Vec<(i64, i64, i64)>> = HashMap::new();
        for (t, id) in &opened {
            per_tenant.entry(t.tenant_id).or_default().push((t.contact_id, t.connection_id, *id));
        }
        for (tenant, tickets) in per_tenant {
            replies_opened(&mut tx, tenant, &tickets, now).await?;
        }
    }
    let mut item_tickets: Vec<Option<(i64, bool)>> = Vec::with_capacity(items.len());
    for slot in &slots {
        item_tickets.push(match slot {
            Slot::Ticket(id) => Some((*id, false)),
            Slot::New(pair) => {
                Some((*opened.get(pair).ok_or_else(|| anyhow::anyhow!("a ticket insert returned no row"))?, true))
            }
            Slot::Duplicate => None,
        });
    }

    // Messages: one multi-row insert; a provider id already stored (or earlier in the batch) is
    // left out of the returned rows and counts as a duplicate.
    let sent_at: Vec<i64> =
        items.iter().map(|i| if i.message.sent_at_ms > 0 { i.message.sent_at_ms } else { now }).collect();
    let mut rows = Vec::with_capacity(items.len());
    for ((item, ticket), sent_at) in items.iter().zip(&item_tickets).zip(&sent_at) {
        let Some((ticket_id, _)) = ticket else { continue };
        let req = &batch[item.req];
        let m = item.message;
        rows.push(NewMessage {
            tenant_id: req.tenant,
            connection_id: req.connection_id,
            ticket_id: *ticket_id,
            contact_id: contact_rows[item.contact].0,
            // What the business wrote on its own phone is ours, already sent.
            direction: if m.from_me { "out" } else { "in" },
            provider_id: Some(&m.provider_id),
            kind: m.kind.as_str(),
            body: m.body.as_deref(),
            payload: &m.raw,
            refers_to: m.refers_to.as_deref(),
            status: if m.from_me { DeliveryStatus::Sent } else { DeliveryStatus::Received },
            media_id: m.media_id.as_deref(),
            media_mime: m.media_mime.as_deref(),
            idempotency_key: None,
            sender_user_id: None,
            origin: m.from_me.then_some("phone"),
            sent_at: *sent_at,
        });
    }
    let mut inserted: HashMap<(TenantId, i64, String), i64> = HashMap::new();
    for r in store::messages::insert_many(&mut tx, &rows, now).await? {
        if let Some(provider_id) = r.provider_id {
            inserted.insert((r.tenant_id, r.connection_id, provider_id), r.id);
        }
    }

    // In delivery order: summaries, ticket activity, media jobs, events, statuses.
    let mut activity: HashMap<(TenantId, i64), TicketActivity> = HashMap::new();
    let mut connections: HashMap<i64, TenantId> = HashMap::new();
    let mut announced_contacts = vec![false; contacts.len()];
    let mut announced_tickets: HashSet<i64> = HashSet::new();
    let mut jobs = 0;
    let mut next_item = 0;
    // Short inbound texts that may be opt-out or opt-in keywords (consent).
    let mut opt_out_candidates: Vec<crate::actions::consent::Candidate<'_>> = Vec::new();
    for (i, req) in batch.iter().enumerate() {
        let tenant = req.tenant;
        connections.insert(req.connection_id, tenant);
        let summary = &mut summaries[i];
        while let Some(item) = items.get(next_item).filter(|item| item.req == i) {
            let item_index = next_item;
            next_item += 1;
            let (contact_id, contact_created) = contact_rows[item.contact];
            if contact_created && !std::mem::replace(&mut announced_contacts[item.contact], true) {
                let data = serde_json::json!({ "contact_id": contact_id });
                events.push(NewEvent { tenant, kind: "contact.created", audience: Audience::Tenant, data });
            }
            let Some((ticket_id, ticket_created)) = item_tickets[item_index] else {
                summary.duplicates += 1;
                continue;
            };
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
            let m = item.message;
            // The business's own words (from its phone) are neither unread nor the customer's
            // last word (the window, opt-outs).
            if !m.from_me {
                if let Some(body) = m.body.as_deref().filter(|b| m.kind == MessageKind::Text && may_be_keyword(b)) {
                    opt_out_candidates.push((tenant, contact_id, ticket_id, body));
                }
                let a = activity.entry((tenant, ticket_id)).or_default();
                a.new_messages += 1;
                if sent_at[item_index] >= a.last_at {
                    a.last_at = sent_at[item_index];
                    a.preview = inbox::preview(m.kind.as_str(), m.body.as_deref());
                }
            }
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
            if !m.from_me && automation.get(&tenant).is_some_and(|s| s.enabled) {
                let payload = serde_json::json!({ "ticket_id": ticket_id, "message_id": message_id });
                let dedupe = format!("auto:{message_id}");
                let job = NewJob {
                    tenant_id: tenant,
                    kind: AUTOMATION_JOB,
                    payload: &payload,
                    run_at: now,
                    max_attempts: 5,
                    dedupe_key: Some(&dedupe),
                };
                store::jobs::enqueue(&mut *tx, job, now).await?;
                jobs += 1;
            }
            let direction = if m.from_me { "out" } else { "in" };
            let data = serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "contact_id": contact_id,
                "direction": direction, "from_phone": m.from_me });
            events.push(NewEvent { tenant, kind: "message.created", audience: Audience::Tenant, data });
        }
        super::statuses::apply(&mut tx, tenant, req, summary, &mut events, now).await?;
    }
    let activity: Vec<InboundActivity> = activity
        .into_iter()
        .map(|((tenant_id, ticket_id), a)| InboundActivity {
            tenant_id,
            ticket_id,
            new_messages: a.new_messages,
            last_at: a.last_at,
            preview: a.preview,
        })
        .collect();
    for (connection_id, tenant) in connections {
        store::connections::mark_webhook(&mut *tx, tenant, connection_id, now).await?;
    }

    // Lifecycle: reopened tickets queue again, CSAT answers are kept, and tickets that entered
    // waiting in a distributing department are handed out (a few statements each, only when
    // that happens).
    let mut to_distribute = new_in_department;
    lifecycle::reopen(&mut tx, &reopened, now, &mut events, &mut to_distribute).await?;
    // After the reopens: a ticket still closed (a rating answer, a late word) gets no unread.
    store::tickets::record_inbound_many(&mut tx, &activity).await?;
    jobs += lifecycle::keep_ratings(&mut tx, &ratings, now, &mut events).await?;
    lifecycle::distribute(&mut tx, db.backend, to_distribute, now, &mut events).await?;
    if !opt_out_candidates.is_empty() {
        events.extend(crate::actions::consent::apply_keywords(db, &mut tx, &opt_out_candidates, now).await?);
    }
    let events = bus.record_many(&mut tx, events, now).await?;
    tx.commit().await?;
    Ok(Written { summaries, events, jobs })
}
