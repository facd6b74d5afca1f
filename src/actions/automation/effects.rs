//! What a chatbot step does to its ticket: the changes it sets (department, tags, priority,
//! classification, contact fields) and its effect (hand-off, close, another flow).

use super::*;

/// Moves the ticket's bot state from `bot` to `next` (compare-and-set), then says and changes
/// what the step asks and applies its effect, all in `tx`. False when the state stands no more
/// (people took over at the automatic-message cap); an error when another message moved the
/// state meanwhile (the job retries on the new state).
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_step(
    app: &App,
    tx: &mut Tx,
    t: &mut Ticket,
    bot: &TicketBot,
    next: &TicketBot,
    plan: Plan,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> anyhow::Result<bool> {
    let tenant = t.tenant_id;
    let Plan { mut says, changes, mut effect, wake_in_ms, away, .. } = plan;
    let mut next = next.clone();
    if effect.is_some() {
        next.state = None;
    }
    if !store::automation::set_ticket_bot(&mut **tx, tenant, t.id, bot, &next).await? {
        // Another message of the ticket moved it meanwhile: try again on the new state.
        anyhow::bail!("the ticket's bot state changed meanwhile");
    }
    let mut stands = true;
    let recent = store::automation::automatic_since(&mut **tx, tenant, t.id, now - 600_000).await?;
    if recent + says.len() as i64 > MAX_AUTOMATIC_PER_10_MIN {
        tracing::warn!(ticket.id = t.id, "automatic message cap reached; handing the ticket to people");
        says.clear();
        effect = Some(Effect::Handoff { department: None });
        store::automation::set_ticket_bot(&mut **tx, tenant, t.id, &next, &TicketBot { state: None, ..next.clone() })
            .await?;
        stands = false;
    }
    apply_changes(app, tx, t, &changes, now, events).await?;
    if let Some(contact) = store::contacts::get(&mut **tx, tenant, t.contact_id).await? {
        fill(&mut says, &contact);
    }
    let kind = store::connections::get(&mut **tx, tenant, t.connection_id).await?.map(|c| c.kind).unwrap_or_default();
    let buttons = crate::domain::channel::ChannelKind::parse(&kind).is_some_and(|k| k.capabilities().buttons);
    for say in &says {
        say_it(app, tx, t, say, buttons, now, events).await?;
    }
    if let Some(effect) = effect {
        apply_effect(app, tx, t, effect, !away, now, events).await?;
        stands = false;
    }
    if let (true, Some(delay), Some(state)) = (stands, wake_in_ms, next.state.as_deref()) {
        let payload = serde_json::json!({ "ticket_id": t.id, "state": state });
        let job = store::jobs::NewJob {
            tenant_id: tenant,
            kind: crate::domain::jobs::JobKind::Wake.as_str(),
            payload: &payload,
            run_at: now + delay,
            max_attempts: 5,
            dedupe_key: None,
        };
        store::jobs::enqueue(&mut **tx, job, now).await?;
    }
    Ok(stands)
}

/// A flow's `set` and saved answers: the department, tags and priority of the ticket, the
/// contact's custom fields.
async fn apply_changes(
    app: &App,
    tx: &mut Tx,
    t: &mut Ticket,
    changes: &[Change],
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> anyhow::Result<()> {
    let tenant = t.tenant_id;
    let mut ticket_changed = None;
    for change in changes {
        match change {
            Change::Department(d) => {
                if store::departments::get(&mut **tx, tenant, *d).await?.is_some() {
                    t.department_id = Some(*d);
                    ticket_changed = Some("transferred");
                    store::sla::mark_stale(&mut **tx, tenant, t.id).await?;
                }
            }
            Change::Priority(p) => {
                t.priority = p.as_str().into();
                ticket_changed = ticket_changed.or(Some("priority"));
            }
            Change::Classification(urgency, complexity) => {
                let (u, c) = (urgency.map(|u| u.as_str()), complexity.map(|c| c.as_str()));
                store::sla::set_classification(&mut **tx, t, u, c, now).await?;
                ticket_changed = ticket_changed.or(Some("sla"));
            }
            Change::Tag(name) => {
                let ids = store::contacts::ensure_tags(tx, tenant, &[name.as_str()], now).await?;
                if let Some(id) = ids.get(name) {
                    if store::tags::attach(&mut **tx, tenant, store::tags::Target::Ticket(t.id), *id, now).await? {
                        publish(app, tx, t, "tags", now, events).await.map_err(|e| anyhow::anyhow!(e))?;
                    }
                }
            }
            Change::ContactField { key, value } => {
                let Some(c) = store::contacts::get(&mut **tx, tenant, t.contact_id).await? else { continue };
                let mut fields = c.fields();
                if !fields.contains_key(key) && fields.len() >= 50 {
                    tracing::info!(contact.id = c.id, "the contact has 50 custom fields; the answer is not saved");
                    continue;
                }
                fields.insert(key.clone(), value.clone());
                let json = serde_json::to_string(&fields)?;
                store::contacts::update(&mut **tx, tenant, c.id, &c.name, c.email.as_deref(), &c.notes, &json, now)
                    .await?;
                store::contacts::add_field_if_missing(&mut **tx, tenant, key, now).await?;
                let data = serde_json::json!({ "contact_id": c.id });
                events.push(app.bus.record(tx, tenant, "contact.updated", Audience::Tenant, data, now).await?);
            }
        }
    }
    if let Some(change) = ticket_changed {
        store::tickets::save_state(&mut **tx, t).await?;
        publish(app, tx, t, change, now, events).await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// Hands the ticket to people (in a department, whose greeting is sent, and distributed as the
/// department says; the away message follows when the department — by its own hours or the
/// company's — is closed, unless `away` is false because it was just said) or closes it.
#[allow(clippy::too_many_arguments)]
async fn apply_effect(
    app: &App,
    tx: &mut Tx,
    t: &mut Ticket,
    effect: Effect,
    away: bool,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> anyhow::Result<()> {
    let tenant = t.tenant_id;
    // A `goto` is followed before ([`follow`]); one left over hands the ticket to people.
    let effect = match effect {
        Effect::Goto { state, .. } => Effect::Handoff { department: state.department },
        other => other,
    };
    match effect {
        Effect::Goto { .. } => {}
        Effect::Handoff { department } => {
            if t.status != TicketStatus::Bot.as_str() && department.is_none() {
                return Ok(());
            }
            let department = match department {
                Some(d) => store::departments::get(&mut **tx, tenant, d).await?,
                None => None,
            };
            t.status = TicketStatus::Waiting.as_str().into();
            t.queued_at = Some(now);
            if let Some(d) = &department {
                t.department_id = Some(d.id);
                store::sla::mark_stale(&mut **tx, tenant, t.id).await?;
            }
            store::tickets::save_state(&mut **tx, t).await?;
            if let Some(greeting) = department.as_ref().and_then(|d| text(&d.greeting)) {
                say_it(app, tx, t, &greeting, false, now, events).await?;
            }
            if away {
                let a = store::automation::get(&mut **tx, tenant).await?;
                if !open_for(tx, &a, tenant, t.department_id, now).await? {
                    if let Some(message) = text(&a.away_message) {
                        say_it(app, tx, t, &message, false, now, events).await?;
                    }
                }
            }
            // Reports start people's clock here (docs/REPORTS.md).
            let e = store::ticket_events::TicketEvent {
                ticket_id: t.id,
                kind: "handoff".into(),
                to_department_id: t.department_id,
                ..Default::default()
            };
            store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
            publish(app, tx, t, "bot_handoff", now, events).await.map_err(|e| anyhow::anyhow!(e))?;
            let owner = crate::actions::wallet::to_owner(tx, tenant, t.id, now).await?;
            let agent = match (owner, t.department_id) {
                (Some(owner), _) => Some(owner),
                (None, Some(d)) => distribute_in_tx(tx, app.db.backend, tenant, t.id, d, now).await?,
                (None, None) => None,
            };
            if let Some(agent) = agent {
                t.status = TicketStatus::Open.as_str().into();
                t.assignee_id = Some(agent);
            }
        }
        Effect::Close => {
            t.status = TicketStatus::Closed.as_str().into();
            t.closed_at = Some(now);
            store::tickets::save_state(&mut **tx, t).await?;
            crate::actions::vault::destroy_on_close(tx, tenant, t.id, "chatbot", now).await?;
            let e = store::ticket_events::TicketEvent {
                ticket_id: t.id,
                kind: "closed".into(),
                data: r#"{"by":"bot"}"#.into(),
                ..Default::default()
            };
            store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
            publish(app, tx, t, "closed", now, events).await.map_err(|e| anyhow::anyhow!(e))?;
        }
    }
    Ok(())
}
