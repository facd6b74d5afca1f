//! Working a ticket without moving it: reading it, private notes, priority, tags and
//! quick replies filled in for its customer.

use super::*;

/// Clears the unread count and tells the customer their newest message was read (blue ticks,
/// through the mark-read job).
pub async fn mark_read(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    let viewer = viewer(actor, tenant)?;
    // Nothing unread: every inbound message was already read (each one raises the count), so
    // no write transaction — opening a conversation is mostly re-opening one, and on SQLite
    // every write goes through the single writer.
    let seen = store::inbox::get(app.db.reader(), &viewer, id).await?.ok_or(ActionError::NotFound)?;
    if seen.unread_count == 0 {
        return Ok(());
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let latest = store::messages::latest_inbound(&mut *tx, tenant, id).await?;
    let mut enqueued = false;
    if let Some(m) = latest {
        let payload = serde_json::json!({ "message_id": m.id });
        let dedupe = format!("read:{}", m.id);
        let job = NewJob {
            tenant_id: tenant,
            kind: crate::domain::jobs::JobKind::MarkRead.as_str(),
            payload: &payload,
            run_at: now,
            max_attempts: 5,
            dedupe_key: Some(&dedupe),
        };
        enqueued = store::jobs::enqueue(&mut *tx, job, now).await?.is_some();
    }
    let mut events = Vec::new();
    if t.unread_count != 0 {
        t.unread_count = 0;
        store::tickets::save_state(&mut *tx, &t).await?;
        publish(app, &mut tx, &t, "read", now, &mut events).await?;
    }
    tx.commit().await?;
    app.bus.deliver(events);
    if enqueued {
        app.jobs_wakeup.notify_one();
    }
    Ok(())
}

/// A private note on a ticket: stored as a message with direction `note`, shown to the team,
/// never sent and never queued.
pub async fn add_note(app: &App, actor: &Actor, tenant: TenantId, id: i64, body: &str) -> ActionResult<StoredMessage> {
    actor.require_sender_in(tenant)?;
    let viewer = viewer(actor, tenant)?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > NOTE_MAX {
        return Err(ActionError::invalid("invalid_note", "a note has 1 to 4096 characters"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = load(app, &mut tx, &viewer, id).await?;
    let new = NewMessage {
        tenant_id: tenant,
        connection_id: t.connection_id,
        ticket_id: t.id,
        contact_id: t.contact_id,
        direction: "note",
        provider_id: None,
        kind: "text",
        body: Some(body),
        payload: "{}",
        refers_to: None,
        status: DeliveryStatus::Received,
        media_id: None,
        media_mime: None,
        idempotency_key: None,
        sender_user_id: actor.user_id().map(|u| u.0),
        origin: None,
        sent_at: now,
    };
    let message_id = store::messages::insert(&mut *tx, new, now)
        .await?
        .ok_or_else(|| ActionError::Internal(anyhow::anyhow!("a note insert returned no row")))?;
    let data = serde_json::json!({ "message_id": message_id, "ticket_id": t.id, "contact_id": t.contact_id, "direction": "note" });
    let event = app.bus.record(&mut tx, tenant, "message.created", Audience::Tenant, data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::messages::get(app.db.reader(), tenant, message_id).await?.ok_or(ActionError::NotFound)
}

pub async fn set_priority(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    priority: Priority,
) -> ActionResult<TicketView> {
    actor.require_agent_in(tenant)?;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let mut events = Vec::new();
    if t.priority != priority.as_str() {
        let data = serde_json::json!({ "from": t.priority, "to": priority });
        t.priority = priority.as_str().into();
        store::tickets::save_state(&mut *tx, &t).await?;
        let e = TicketEvent {
            ticket_id: id,
            kind: "priority".into(),
            actor_user_id: actor.user_id().map(|u| u.0),
            data: data.to_string(),
            ..Default::default()
        };
        store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
        publish(app, &mut tx, &t, "priority", now, &mut events).await?;
    }
    finish(app, tx, &viewer, id, events).await
}

/// Puts a tag on (or takes it off) a ticket the caller may see.
pub async fn tag_ticket(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    tag_id: i64,
    on: bool,
) -> ActionResult<()> {
    actor.require_agent_in(tenant)?;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = load(app, &mut tx, &viewer, id).await?;
    store::tags::get(&mut *tx, tenant, tag_id)
        .await?
        .ok_or_else(|| ActionError::invalid("unknown_tag", "no such tag in this company"))?;
    let changed = if on {
        store::tags::attach(&mut *tx, tenant, Target::Ticket(id), tag_id, now).await?
    } else {
        store::tags::detach(&mut *tx, tenant, Target::Ticket(id), tag_id).await?
    };
    let mut events = Vec::new();
    if changed {
        publish(app, &mut tx, &t, "tags", now, &mut events).await?;
    }
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

/// A quick reply filled for a ticket: the ticket's department's own shortcut, else the
/// tenant-wide one, with `{{nome}}`, `{{protocolo}}` and `{{atendente}}` filled in.
pub async fn expand_quick_reply(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    shortcut: &str,
) -> ActionResult<String> {
    let viewer = viewer(actor, tenant)?;
    let view = store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
    let reply = store::quick_replies::find(app.db.reader(), tenant, view.department_id, &shortcut)
        .await?
        .ok_or(ActionError::NotFound)?;
    let agent = match actor {
        Actor::User(u) => u.name.as_str(),
        _ => "",
    };
    let ticket = store::tickets::get(app.db.reader(), tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let contact = store::contacts::get(app.db.reader(), tenant, view.contact_id).await?.ok_or(ActionError::NotFound)?;
    Ok(crate::actions::quick_replies::fill_for_person(&reply.body, &contact, &ticket, agent))
}
