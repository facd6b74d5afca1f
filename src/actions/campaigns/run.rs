//! Sending a running campaign, the decisions (the `campaigns.send` job calls the provider):
//! what each recipient gets, how an answer or an error settles it, and what status webhooks and
//! a customer's reply change.
//!
//! **Never twice.** One recipient row per (campaign, contact), ever. A recipient goes from
//! `queued` to `sending` by compare-and-set, committed before the provider call; only the one
//! run holding the campaign's runner lease sends. A run that finds `sending` rows left by a run
//! that died makes them `unknown` — the call may have happened — and never queues them again by
//! itself: Meta's status webhooks (whose `biz_opaque_callback_data` names the recipient) settle
//! them as sent; what stays `unknown` is for a person to resend or leave. Errors that show the
//! message did not go (Meta's error answers) queue the recipient again; errors that leave it
//! open (no answer) make it `unknown` too.

use std::collections::BTreeMap;

use crate::actions::ActionError;
use crate::app::App;
use crate::domain::campaigns::{self as rules, RecipientState};
use crate::domain::message::DeliveryStatus;
use crate::domain::outbound::{Outbound, OutboundContent};
use crate::domain::TenantId;
use crate::store::campaign_recipients::Recipient;
use crate::store::campaigns::Campaign;
use crate::store::connections::Connection;
use crate::store::{self, Tx};

/// What a run needs about its campaign, read once.
pub struct Context {
    pub campaign: Campaign,
    pub connection: Connection,
    pub template: Option<crate::actions::templates::TemplateView>,
    pub zone: chrono_tz::Tz,
}

pub async fn context(app: &App, tenant: TenantId, id: i64) -> anyhow::Result<Option<Context>> {
    let Some(campaign) = store::campaigns::get(app.db.reader(), tenant, id).await? else { return Ok(None) };
    let Some(connection) = store::connections::get(app.db.reader(), tenant, campaign.connection_id).await? else {
        return Ok(None);
    };
    let template = match campaign.template_id {
        Some(t) => store::templates::get(app.db.reader(), tenant, t).await?.map(crate::actions::templates::view),
        None => None,
    };
    let zone_name = store::automation::time_zone(app.db.reader(), tenant).await?;
    let zone = crate::domain::hours::parse_tz(&zone_name).unwrap_or(chrono_tz::America::Sao_Paulo);
    Ok(Some(Context { campaign, connection, template, zone }))
}

/// The company's last local midnight at or before `now`, and the next one after it (a day's
/// cap counts from the first and lifts at the second).
pub fn local_day_bounds(ctx: &Context, now: i64) -> (i64, i64) {
    let offset_ms = crate::domain::hours::offset_minutes(ctx.zone, now) * 60_000;
    let day_ms = 86_400_000;
    let start = (now + offset_ms).div_euclid(day_ms) * day_ms - offset_ms;
    (start, start + day_ms)
}

/// When sending may go on with business hours only: `now` when open, else the next opening.
pub async fn open_at(app: &App, tenant: TenantId, now: i64) -> anyhow::Result<i64> {
    let mut tx = app.db.begin().await?;
    let at = crate::actions::schedules::run_time(&mut tx, tenant, true, Some(now)).await.map_err(internal)?;
    drop(tx);
    Ok(at.unwrap_or(now))
}

/// What one recipient gets, or why not.
pub enum Prepared {
    Send { content: OutboundContent, variation: Option<i64>, body: String, contact: Box<store::contacts::Contact> },
    Refuse { state: RecipientState, code: &'static str, message: String },
}

fn internal(e: ActionError) -> anyhow::Error {
    match e {
        ActionError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

/// Chooses the message: inside the customer's 24-hour window a text variation (filled from the
/// contact), outside it the template; then the consent rule of every send.
pub async fn prepare(app: &App, ctx: &Context, r: &Recipient, now: i64) -> anyhow::Result<Prepared> {
    let tenant = ctx.campaign.tenant_id;
    let mut conn = app.db.reader().acquire().await?;
    let Some(contact) = store::contacts::get(&mut *conn, tenant, r.contact_id).await? else {
        let message = "the contact was removed".into();
        return Ok(Prepared::Refuse { state: RecipientState::Skipped, code: "unknown_contact", message });
    };
    let last_inbound_at = match store::tickets::find_current(&mut *conn, tenant, contact.id, ctx.connection.id).await? {
        Some(t) => store::tickets::get(&mut *conn, tenant, t).await?.and_then(|t| t.last_inbound_at),
        None => None,
    };
    let in_window = crate::domain::channel::free_form_allowed(&ctx.connection.kind, last_inbound_at, now);
    let variations = &ctx.campaign.variations;
    let media = ctx.campaign.media.as_ref();
    let (content, variation, body) = if in_window && (!variations.is_empty() || media.is_some()) {
        let (text, variation) = match variations.len() {
            0 => (String::new(), None),
            n => {
                let v = rules::variation_for(r.id, n);
                (crate::actions::contacts::fill_template(&variations[v], &contact), Some(v as i64))
            }
        };
        let content = match media {
            Some(m) => m.content(&text),
            None => OutboundContent::Text { body: text.clone(), preview_url: false },
        };
        (content, variation, text)
    } else if let Some(t) = &ctx.template {
        let values: BTreeMap<String, String> = crate::actions::templates::values_for(t, &contact).into_iter().collect();
        match crate::actions::templates::content_of(t, &values) {
            Ok(content) => {
                let components: serde_json::Value = serde_json::from_str(&t.template.components).unwrap_or_default();
                (content, None, crate::domain::templates::preview(&components, &values))
            }
            Err(e) => {
                let message = e.to_string();
                return Ok(Prepared::Refuse { state: RecipientState::Skipped, code: e.code(), message });
            }
        }
    } else {
        let message = "the customer has not written in the last 24 hours and the campaign has no template".into();
        return Ok(Prepared::Refuse { state: RecipientState::Skipped, code: "outside_window", message });
    };
    let checked = crate::actions::consent::check_send(
        &mut conn,
        tenant,
        contact.id,
        ctx.connection.id,
        &content,
        true,
        last_inbound_at,
        now,
    )
    .await;
    match checked {
        Ok(()) => Ok(Prepared::Send { content, variation, body, contact: Box::new(contact) }),
        Err(e @ ActionError::Invalid { code: "contact_opted_out" | "marketing_consent_required", .. }) => {
            Ok(Prepared::Refuse { state: RecipientState::OptedOut, code: e.code(), message: e.to_string() })
        }
        Err(e @ ActionError::Invalid { .. }) => {
            Ok(Prepared::Refuse { state: RecipientState::Skipped, code: e.code(), message: e.to_string() })
        }
        Err(e) => Err(internal(e)),
    }
}

/// The request a recipient's send makes (the caller adds the callback data).
pub fn outbound(content: OutboundContent) -> Outbound {
    Outbound { content, reply_to: None }
}

/// Records a refusal (from `queued`).
pub async fn refuse(
    app: &App,
    tenant: TenantId,
    r: &Recipient,
    state: RecipientState,
    code: &str,
    message: &str,
) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let error = Some((None, format!("{code}: {message}")));
    let error = error.as_ref().map(|(c, t)| (*c, t.as_str()));
    store::campaign_recipients::settle(app.db.writer(), tenant, r.id, &["queued"], state.as_str(), error, 0, now)
        .await?;
    Ok(())
}

/// How a provider call ended, for [`record`].
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Accepted: the provider's message id.
    Sent(String),
    /// Did not go (the provider said so): try again from `retry_at`, or fail after the last try.
    NotSent { code: Option<i64>, reason: String, retry_at: i64 },
    /// Will never go as it is.
    Failed { code: Option<i64>, reason: String },
    /// The customer stopped marketing (Meta's 131050): opted out, with their consent following.
    Stopped { code: Option<i64>, reason: String },
    /// No answer: it may have gone. Status webhooks settle it, or a person does.
    Unknown { reason: String },
}

/// Tries of one recipient before a send that keeps not going is marked failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// Settles a recipient after its provider call (from `sending`).
pub async fn record(app: &App, tenant: TenantId, r: &Recipient, attempts: i64, outcome: Outcome) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let w = app.db.writer();
    let from = &["sending"];
    match outcome {
        Outcome::Sent(id) => store::campaign_recipients::mark_sent(w, tenant, r.id, &id, now).await?,
        Outcome::NotSent { code, reason, retry_at } if attempts < MAX_ATTEMPTS => {
            let error = Some((code, reason.as_str()));
            store::campaign_recipients::settle(w, tenant, r.id, from, "queued", error, retry_at, now).await?;
        }
        Outcome::NotSent { code, reason, .. } | Outcome::Failed { code, reason } => {
            store::campaign_recipients::settle(w, tenant, r.id, from, "failed", Some((code, reason.as_str())), 0, now)
                .await?;
        }
        Outcome::Stopped { code, reason } => {
            store::campaign_recipients::settle(
                w,
                tenant,
                r.id,
                from,
                "opted_out",
                Some((code, reason.as_str())),
                0,
                now,
            )
            .await?;
            crate::actions::consent::marketing_stopped_by_error(app, tenant, r.contact_id).await?;
        }
        Outcome::Unknown { reason } => {
            store::campaign_recipients::settle(w, tenant, r.id, from, "unknown", Some((None, reason.as_str())), 0, now)
                .await?;
        }
    }
    Ok(())
}

/// Ingest hook: a status webhook whose callback data names a campaign recipient moves it
/// forward (Meta's word settles an `unknown` send as sent). 131049 (Meta's per-user marketing
/// cap) queues it again hours later; 131050 opts the contact out.
pub async fn apply_status(
    tx: &mut Tx,
    tenant: TenantId,
    recipient: i64,
    status: &str,
    provider_id: &str,
    error: (Option<i64>, Option<&str>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Some((state, _, _)) = store::campaign_recipients::state_of(&mut **tx, tenant, recipient).await? else {
        return Ok(false);
    };
    let Some(current) = RecipientState::parse(&state) else { return Ok(false) };
    let Some(next) = rules::after_status(current, status) else { return Ok(false) };
    let title = error.1.unwrap_or("");
    let (to, not_before) = match (next, error.0) {
        (RecipientState::Failed, Some(131049)) => ("queued", now + 4 * 3_600_000),
        (RecipientState::Failed, Some(131050)) => ("opted_out", 0),
        (n, _) => (n.as_str(), 0),
    };
    let error = (next == RecipientState::Failed).then_some((error.0, title));
    let moved =
        store::campaign_recipients::apply_status(tx, tenant, recipient, &state, to, provider_id, error, now).await?;
    if moved && not_before > 0 {
        store::campaign_recipients::hold_until(&mut **tx, tenant, recipient, not_before).await?;
    }
    Ok(moved)
}

/// Ingest hook, for tickets a batch just opened: a contact a campaign reached lately wrote back.
/// The recipient becomes `replied`, the ticket gets the campaign's tag, and the campaign's
/// message goes into the ticket first, so the agent reads what the customer answers.
pub async fn replies_opened(
    tx: &mut Tx,
    tenant: TenantId,
    opened: &[(i64, i64, i64)],
    now: i64,
) -> Result<usize, sqlx::Error> {
    let contacts: Vec<i64> = opened.iter().map(|(contact, _, _)| *contact).collect();
    let sends = store::campaign_recipients::recent_sends(tx, tenant, &contacts, now - rules::REPLY_WINDOW_MS).await?;
    let mut n = 0;
    for (recipient, contact, tag, body, provider_id, sent_at, state) in sends {
        let Some((_, connection, ticket)) = opened.iter().find(|(c, _, _)| *c == contact).copied() else { continue };
        if !store::campaign_recipients::mark_replied(tx, tenant, recipient, ticket, now).await? {
            continue;
        }
        n += 1;
        if let Some(tag) = tag {
            store::tags::attach(&mut **tx, tenant, store::tags::Target::Ticket(ticket), tag, now).await?;
        }
        let text = body.unwrap_or_default();
        let payload =
            serde_json::to_string(&outbound(OutboundContent::Text { body: text.clone(), preview_url: false }))
                .unwrap_or_default();
        let status = match state.as_str() {
            "read" => DeliveryStatus::Read,
            "delivered" => DeliveryStatus::Delivered,
            _ => DeliveryStatus::Sent,
        };
        let message = store::messages::NewMessage {
            tenant_id: tenant,
            connection_id: connection,
            ticket_id: ticket,
            contact_id: contact,
            direction: "out",
            provider_id: provider_id.as_deref(),
            kind: "text",
            body: Some(&text),
            payload: &payload,
            refers_to: None,
            status,
            media_id: None,
            media_mime: None,
            idempotency_key: None,
            sender_user_id: None,
            origin: Some("campaign"),
            sent_at,
        };
        store::messages::insert(&mut **tx, message, now).await?;
    }
    Ok(n)
}
