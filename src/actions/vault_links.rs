//! The customer's one-time link into a ticket's vault ("Pedir acesso ao cliente"): the agent
//! sends it through the ticket's normal send path; the customer opens `/acesso/{token}`, fills
//! a small form, and the credential lands in the vault while the link burns. Only the token's
//! SHA-256 is stored; a link lives 24 hours, serves once, and dies with the ticket's close.

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::crypto;
use crate::domain::inbox::TicketStatus;
use crate::domain::outbound::OutboundContent;
use crate::domain::vault::{self, CredentialInput, LinkState};
use crate::domain::TenantId;
use crate::store;
use crate::store::vault::CredentialLink;

/// What the agent learns after asking: the message that carries the link and its end.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkSent {
    pub message_id: Option<i64>,
    pub expires_at: i64,
}

/// What a customer's link shows: the form (with the company's name), or that it is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkPage {
    Form { company: String, protocol: Option<String> },
    Gone,
}

/// The one code of a link that is used, expired, or whose ticket closed (410 on the web).
pub fn link_gone() -> ActionError {
    ActionError::Conflict { code: "link_gone", message: "this link was already used or has expired".into() }
}

/// The agent asks the ticket's customer for credentials: a one-time link in a pt-BR message,
/// queued like any reply (24-hour window, consent and connection rules apply).
pub async fn request_from_customer(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
) -> ActionResult<LinkSent> {
    actor.require_sender_in(tenant)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = super::inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    if t.status == TicketStatus::Closed.as_str() {
        return Err(ActionError::Conflict { code: "ticket_closed", message: "the ticket is closed".into() });
    }
    let token = crypto::random_token(32);
    let expires_at = now + vault::LINK_TTL_MS;
    let link_id = store::vault::insert_link(
        &mut *tx,
        tenant,
        ticket_id,
        &crypto::sha256_hex(&token),
        &actor.label(),
        now,
        expires_at,
    )
    .await?;
    let url = format!("{}/acesso/{token}", app.settings.effective_base_url().trim_end_matches('/'));
    let sender = match actor {
        Actor::User(u) => Some(u),
        _ => None,
    };
    let m = QueueMessage {
        marketing: false,
        content: OutboundContent::Text { body: vault::link_message(&url, t.protocol.as_deref()), preview_url: false },
        reply_to: None,
        idempotency_key: None,
        sender,
        sign: true,
        automatic: false,
    };
    let mut events = Vec::new();
    let message_id = queue_on_ticket(app, &mut tx, &t, m, now, &mut events).await?;
    if let Some(id) = message_id {
        store::vault::set_link_message(&mut *tx, tenant, link_id, id).await?;
    }
    let e = store::ticket_events::TicketEvent {
        ticket_id,
        kind: "credential_requested".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let details = serde_json::json!({ "ticket_id": ticket_id, "expires_at": expires_at });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "credential.link_sent",
        &format!("ticket:{ticket_id}"),
        &details,
        now,
    )
    .await?;
    super::inbox::publish(app, &mut tx, &t, "credentials", now, &mut events).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    Ok(LinkSent { message_id, expires_at })
}

/// A link that exists, is unused and unexpired, on a ticket still open.
async fn usable(
    app: &App,
    tx: &mut store::Tx,
    token: &str,
    now: i64,
) -> ActionResult<(CredentialLink, store::tickets::Ticket)> {
    // A token that is not ours (any length, any characters) simply matches no hash.
    let link = store::vault::find_link(&mut **tx, &crypto::sha256_hex(token)).await?.ok_or_else(link_gone)?;
    if vault::link_state(link.expires_at, link.used_at, now) != LinkState::Usable {
        return Err(link_gone());
    }
    let t = store::tickets::get_for_update(tx, app.db.backend, link.tenant_id, link.ticket_id)
        .await?
        .ok_or_else(link_gone)?;
    if t.status == TicketStatus::Closed.as_str() {
        return Err(link_gone());
    }
    Ok((link, t))
}

/// What `/acesso/{token}` shows.
pub async fn open_link(app: &App, token: &str) -> ActionResult<LinkPage> {
    let now = app.clock.now_ms();
    let db = app.db.reader();
    let Some(link) = store::vault::find_link(db, &crypto::sha256_hex(token)).await? else {
        return Ok(LinkPage::Gone);
    };
    if vault::link_state(link.expires_at, link.used_at, now) != LinkState::Usable {
        return Ok(LinkPage::Gone);
    }
    let Some(t) = store::tickets::get(db, link.tenant_id, link.ticket_id).await? else {
        return Ok(LinkPage::Gone);
    };
    if t.status == TicketStatus::Closed.as_str() {
        return Ok(LinkPage::Gone);
    }
    let company = store::tenants::get(db, link.tenant_id).await?.map(|c| c.name).unwrap_or_default();
    Ok(LinkPage::Form { company, protocol: t.protocol })
}

/// The customer's form: the credential goes into the ticket's vault and the link burns, in one
/// transaction (two submissions at once: one wins, the other finds the link gone). Invalid
/// input leaves the link usable.
pub async fn submit_link(app: &App, token: &str, input: &CredentialInput, client_ip: &str) -> ActionResult<()> {
    let valid = vault::validate(input).map_err(|e| ActionError::invalid(e.code(), e.message()))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let (link, t) = usable(app, &mut tx, token, now).await?;
    if !store::vault::use_link(&mut *tx, link.id, now).await? {
        return Err(link_gone());
    }
    let details = serde_json::json!({ "ip": client_ip, "link_id": link.id });
    let origin = super::vault::Origin { by: "customer", source: "customer_link", details };
    let id = super::vault::store_credential(app, &mut tx, &t, &valid, origin, now).await?;
    store::vault::set_link_credential(&mut *tx, link.id, id).await?;
    if let Some(message_id) = link.message_id {
        store::vault::blank_token_in_message(&mut tx, link.tenant_id, message_id, token, "[link já usado]").await?;
    }
    let mut events = Vec::new();
    super::inbox::publish(app, &mut tx, &t, "credentials", now, &mut events).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    tracing::info!(ticket.id = t.id, credential.id = id, "a customer handed over a credential");
    Ok(())
}
