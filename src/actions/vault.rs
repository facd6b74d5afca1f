//! The credential vault of a ticket ("Acessos", docs/SECURITY.md (the vault)): agents add credentials, lists
//! show metadata only, the current assignee or a company admin reveals one secret at a time
//! (every reveal and every refused attempt audited with who, when and from where), and closing
//! the ticket destroys them in the close's own transaction. A password a customer pasted in the
//! chat can be moved into the vault, redacting the message. The customer's one-time link is in
//! [`super::vault_links`].
//!
//! Each secret is sealed with the ticket's own data key, stored only wrapped by the master key
//! (`crypto::DataKey`): erasing the wrapped key and the ciphertexts leaves nothing to decrypt.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::config::Secret;
use crate::crypto::DataKey;
use crate::domain::inbox::TicketStatus;
use crate::domain::vault::{self, CredentialInput, ValidCredential};
use crate::domain::{Scope, TenantId, UserId};
use crate::store::events::StoredEvent;
use crate::store::ticket_events::TicketEvent;
use crate::store::tickets::Ticket;
use crate::store::vault::{CredentialMeta, NewCredential};
use crate::store::{self, Tx};

/// A ticket's vault as the caller may see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VaultView {
    pub ticket_id: i64,
    pub credentials: Vec<CredentialMeta>,
    /// Whether the caller may reveal (and delete) secrets of this ticket right now.
    pub can_reveal: bool,
    /// Whether credentials can still be added (the ticket is not closed).
    pub open: bool,
    /// Until when a one-time link sent to the customer stays usable, if one is.
    pub link_open_until: Option<i64>,
}

fn invalid(e: vault::CredentialError) -> ActionError {
    ActionError::invalid(e.code(), e.message())
}

fn ticket_closed() -> ActionError {
    ActionError::Conflict { code: "ticket_closed", message: "the ticket is closed: its vault is destroyed".into() }
}

fn destroyed() -> ActionError {
    ActionError::Conflict { code: "credential_destroyed", message: "this credential was destroyed".into() }
}

/// Tokens work the vault with the `write` scope (they act as the company's admin would).
fn require_vault_scope(actor: &Actor) -> ActionResult<()> {
    match actor {
        Actor::Token(t) if !t.scopes.contains(&Scope::Write) => Err(ActionError::Forbidden),
        _ => Ok(()),
    }
}

/// The ticket's data key, created (and stored wrapped) on first use.
pub(crate) async fn ticket_key(
    app: &App,
    tx: &mut Tx,
    tenant: TenantId,
    ticket_id: i64,
    now: i64,
) -> ActionResult<DataKey> {
    match store::vault::wrapped_key(&mut **tx, tenant, ticket_id).await? {
        Some(wrapped) => Ok(DataKey::unwrap_with(&app.master_key, &wrapped)?),
        None => {
            let (key, wrapped) = DataKey::generate(&app.master_key)?;
            store::vault::put_key(tx, tenant, ticket_id, &wrapped, now).await?;
            Ok(key)
        }
    }
}

/// Who adds a credential and how: the audit log's name (`user:7`, `customer`), the source
/// (`agent`, `customer_link`, `moved`) and what else the audit entry should say.
pub(crate) struct Origin<'a> {
    pub by: &'a str,
    pub source: &'a str,
    pub details: serde_json::Value,
}

/// Seals and stores a valid credential on a ticket locked by the caller, with its history line
/// and audit entry; returns its id.
pub(crate) async fn store_credential(
    app: &App,
    tx: &mut Tx,
    t: &Ticket,
    c: &ValidCredential,
    origin: Origin<'_>,
    now: i64,
) -> ActionResult<i64> {
    let Origin { by: created_by, source, details: audit_details } = origin;
    let key = ticket_key(app, tx, t.tenant_id, t.id, now).await?;
    let ciphertext = key.seal(&c.secret)?;
    let row = NewCredential {
        ticket_id: t.id,
        kind: c.kind.as_str(),
        label: &c.label,
        host: &c.host,
        username: &c.username,
        ciphertext: &ciphertext,
        notes: &c.notes,
        created_by,
        source,
    };
    let id = store::vault::insert(&mut **tx, t.tenant_id, &row, now).await?;
    let actor_user_id = created_by.strip_prefix("user:").and_then(|u| u.parse().ok());
    let e = TicketEvent {
        ticket_id: t.id,
        kind: "credential_added".into(),
        actor_user_id,
        data: serde_json::json!({ "credential_id": id, "kind": c.kind.as_str(), "source": source }).to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut **tx, t.tenant_id, &e, now).await?;
    let mut details = audit_details;
    details["ticket_id"] = t.id.into();
    details["kind"] = c.kind.as_str().into();
    details["source"] = source.into();
    store::audit::record(
        &mut **tx,
        t.tenant_id,
        created_by,
        "credential.created",
        &format!("credential:{id}"),
        &details,
        now,
    )
    .await?;
    Ok(id)
}

/// Commits and delivers, with the panel told to refresh (`ticket.updated`, change `credentials`;
/// nothing of the credential is in the event).
async fn commit(app: &App, mut tx: Tx, t: &Ticket, now: i64) -> ActionResult<()> {
    let mut events: Vec<StoredEvent> = Vec::new();
    super::inbox::publish(app, &mut tx, t, "credentials", now, &mut events).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(())
}

// ---------------------------------------------------------------- reads

/// The vault of a ticket the caller may see: credentials without secrets.
pub async fn list(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<VaultView> {
    let viewer = super::inbox::viewer(actor, tenant)?;
    let ticket = store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let credentials = store::vault::list(app.db.reader(), tenant, ticket_id).await?;
    let now = app.clock.now_ms();
    let open = ticket.status != TicketStatus::Closed.as_str();
    let link_open_until =
        if open { store::vault::open_link_until(app.db.reader(), tenant, ticket_id, now).await? } else { None };
    let can_reveal = require_vault_scope(actor).is_ok()
        && vault::may_reveal(viewer.role, actor.user_id(), ticket.assignee_id.map(UserId));
    Ok(VaultView { ticket_id, credentials, can_reveal, open, link_open_until })
}

// ---------------------------------------------------------------- writes

/// An agent who works the ticket adds a credential to it.
pub async fn add(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    input: &CredentialInput,
) -> ActionResult<CredentialMeta> {
    actor.require_agent_in(tenant)?;
    require_vault_scope(actor)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    let valid = vault::validate(input).map_err(invalid)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = super::inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    if t.status == TicketStatus::Closed.as_str() {
        return Err(ticket_closed());
    }
    let origin = Origin { by: &actor.label(), source: "agent", details: serde_json::json!({}) };
    let id = store_credential(app, &mut tx, &t, &valid, origin, now).await?;
    commit(app, tx, &t, now).await?;
    store::vault::get(app.db.reader(), tenant, ticket_id, id).await?.ok_or(ActionError::NotFound)
}

/// Why a reveal (or delete) was refused, for the audit entry.
fn refusal(e: &ActionError) -> &'static str {
    match e {
        ActionError::Forbidden => "not_assignee_or_admin",
        other => other.code(),
    }
}

/// Checks that the caller may open the credential's secret: the company's admins and the
/// ticket's assignee right now. Anyone else of the company gets 403, whether or not they can
/// see the ticket; a credential that is not there, 404 (neither is audited).
async fn check_access(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    credential_id: i64,
) -> ActionResult<Result<CredentialMeta, ActionError>> {
    let role = actor.role_of(tenant)?;
    let t =
        store::tickets::get_for_update(tx, app.db.backend, tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let c = store::vault::get(&mut **tx, tenant, ticket_id, credential_id).await?.ok_or(ActionError::NotFound)?;
    if require_vault_scope(actor).is_err() || !vault::may_reveal(role, actor.user_id(), t.assignee_id.map(UserId)) {
        return Ok(Err(ActionError::Forbidden));
    }
    if c.destroyed_at.is_some() {
        return Ok(Err(destroyed()));
    }
    Ok(Ok(c))
}

/// One attempt on one credential: which, and from where.
struct Attempt<'a> {
    tenant: TenantId,
    ticket_id: i64,
    credential_id: i64,
    client_ip: &'a str,
}

/// Records a refused attempt on its own (the refusal must be kept even though nothing else is).
async fn audit_refused(app: &App, actor: &Actor, a: &Attempt<'_>, action: &str, e: &ActionError) -> ActionResult<()> {
    let details = serde_json::json!({ "ticket_id": a.ticket_id, "ip": a.client_ip, "reason": refusal(e) });
    let subject = format!("credential:{}", a.credential_id);
    store::audit::record(app.db.writer(), a.tenant, &actor.label(), action, &subject, &details, app.clock.now_ms())
        .await?;
    tracing::info!(
        ticket.id = a.ticket_id,
        credential.id = a.credential_id,
        reason = refusal(e),
        "credential access refused"
    );
    Ok(())
}

/// Opens one credential's secret for the caller, audited with who, when and `client_ip`.
pub async fn reveal(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    credential_id: i64,
    client_ip: &str,
) -> ActionResult<Secret> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let c = match check_access(app, &mut tx, actor, tenant, ticket_id, credential_id).await? {
        Ok(c) => c,
        Err(e) => {
            drop(tx);
            let attempt = Attempt { tenant, ticket_id, credential_id, client_ip };
            audit_refused(app, actor, &attempt, "credential.reveal_refused", &e).await?;
            return Err(e);
        }
    };
    let sealed = store::vault::ciphertext(&mut *tx, tenant, credential_id).await?.ok_or_else(destroyed)?;
    let wrapped = store::vault::wrapped_key(&mut *tx, tenant, ticket_id).await?.ok_or_else(destroyed)?;
    let secret = DataKey::unwrap_with(&app.master_key, &wrapped)?.open(&sealed)?;
    let details = serde_json::json!({ "ticket_id": ticket_id, "ip": client_ip, "label": c.label, "kind": c.kind });
    let subject = format!("credential:{credential_id}");
    store::audit::record(&mut *tx, tenant, &actor.label(), "credential.revealed", &subject, &details, now).await?;
    // The secret leaves only once its reveal is on record.
    tx.commit().await?;
    tracing::info!(ticket.id = ticket_id, credential.id = credential_id, "credential revealed");
    Ok(secret)
}

/// Destroys one credential before the ticket closes (same rights as revealing it).
pub async fn delete(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    credential_id: i64,
    client_ip: &str,
) -> ActionResult<()> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let c = match check_access(app, &mut tx, actor, tenant, ticket_id, credential_id).await? {
        Ok(c) => c,
        Err(e) => {
            drop(tx);
            let attempt = Attempt { tenant, ticket_id, credential_id, client_ip };
            audit_refused(app, actor, &attempt, "credential.delete_refused", &e).await?;
            return Err(e);
        }
    };
    if !store::vault::destroy_one(&mut *tx, tenant, credential_id, now).await? {
        return Err(destroyed());
    }
    let e = TicketEvent {
        ticket_id,
        kind: "credential_deleted".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        data: serde_json::json!({ "credential_id": credential_id, "kind": c.kind }).to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let details = serde_json::json!({ "ticket_id": ticket_id, "ip": client_ip, "label": c.label });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "credential.deleted",
        &format!("credential:{credential_id}"),
        &details,
        now,
    )
    .await?;
    let t = store::tickets::get(&mut *tx, tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    commit(app, tx, &t, now).await
}

/// Inside a close's transaction: erases the ticket's ciphertexts, details and wrapped key, ends
/// its open links, and leaves a history line that credentials existed and when they went.
pub(crate) async fn destroy_on_close(
    tx: &mut Tx,
    tenant: TenantId,
    ticket_id: i64,
    actor: &str,
    now: i64,
) -> ActionResult<u64> {
    let erased = store::vault::destroy_ticket(tx, tenant, ticket_id, now).await?;
    if erased > 0 {
        let e = TicketEvent {
            ticket_id,
            kind: "credentials_destroyed".into(),
            data: serde_json::json!({ "count": erased }).to_string(),
            ..Default::default()
        };
        store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
        let details = serde_json::json!({ "count": erased });
        store::audit::record(
            &mut **tx,
            tenant,
            actor,
            "vault.destroyed",
            &format!("ticket:{ticket_id}"),
            &details,
            now,
        )
        .await?;
    }
    Ok(erased)
}

/// "Mover para o cofre": a customer's message that carried a password becomes a credential
/// (its secret: `input.secret`, or the whole text when that is empty) and the message reads
/// [`vault::REDACTED_BODY`] from then on, audited.
pub async fn move_message(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    message_id: i64,
    input: &CredentialInput,
) -> ActionResult<CredentialMeta> {
    actor.require_agent_in(tenant)?;
    require_vault_scope(actor)?;
    let viewer = super::inbox::viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = super::inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    if t.status == TicketStatus::Closed.as_str() {
        return Err(ticket_closed());
    }
    let m = store::messages::get(&mut *tx, tenant, message_id)
        .await?
        .filter(|m| m.ticket_id == ticket_id)
        .ok_or(ActionError::NotFound)?;
    let body = m.body.clone().unwrap_or_default();
    if m.direction != "in" || body.trim().is_empty() || body == vault::REDACTED_BODY {
        return Err(ActionError::invalid("not_movable", "only a customer's text message can be moved into the vault"));
    }
    let mut input = input.clone();
    if input.secret.trim().is_empty() {
        input.secret = body.clone();
    }
    let valid = vault::validate(&input).map_err(invalid)?;
    let details = serde_json::json!({ "message_id": message_id });
    let origin = Origin { by: &actor.label(), source: "moved", details };
    let id = store_credential(app, &mut tx, &t, &valid, origin, now).await?;
    let preview = crate::domain::inbox::preview(&m.kind, m.body.as_deref());
    store::vault::redact_message(&mut tx, &m, vault::REDACTED_BODY, Some(&preview)).await?;
    let details = serde_json::json!({ "ticket_id": ticket_id, "credential_id": id });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "message.redacted",
        &format!("message:{message_id}"),
        &details,
        now,
    )
    .await?;
    commit(app, tx, &t, now).await?;
    store::vault::get(app.db.reader(), tenant, ticket_id, id).await?.ok_or(ActionError::NotFound)
}
