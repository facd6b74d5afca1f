//! Carteira: a contact's owner agent. A new or reopened ticket of the contact, and one the
//! chatbot hands to people, goes straight to the owner when they are online and not away;
//! otherwise it takes the usual way (chatbot, department distribution).

use super::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::{inbox, TenantId, UserId};
use crate::store::{self, ticket_events::TicketEvent, Tx};

/// Sets or clears a contact's owner (supervisors, admins and tokens); the owner must be an
/// active person of the company.
pub async fn set_owner(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    contact_id: i64,
    owner: Option<i64>,
) -> ActionResult<()> {
    check_owner(app, actor, tenant, owner).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::wallet::set_owner(&mut *tx, tenant, contact_id, owner, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "owner_id": owner });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact.owner",
        &format!("contact:{contact_id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What [`set_owner`] checks before it writes: the actor's right and the owner's existence
/// (for callers that change more of a contact and must not write half of it).
pub async fn check_owner(app: &App, actor: &Actor, tenant: TenantId, owner: Option<i64>) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    if let Some(id) = owner {
        let known = store::users::get(app.db.reader(), tenant, UserId(id)).await?.is_some_and(|u| u.active);
        if !known {
            return Err(ActionError::invalid("unknown_owner", "the owner must be an active person of this company"));
        }
    }
    Ok(())
}

/// The owner who can take the ticket now, if any (same presence rule as distribution).
pub(crate) async fn available_owner(
    tx: &mut Tx,
    tenant: TenantId,
    ticket_id: i64,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    Ok(store::wallet::available_owner(&mut **tx, tenant, ticket_id, now - inbox::ONLINE_WINDOW_MS).await?)
}

/// Hands a waiting ticket to `owner`, with its history line; false when it was no longer waiting.
pub(crate) async fn assign_to_owner(
    tx: &mut Tx,
    tenant: TenantId,
    ticket_id: i64,
    owner: i64,
    now: i64,
) -> anyhow::Result<bool> {
    if !store::tickets::assign_if_waiting(&mut **tx, tenant, ticket_id, owner).await? {
        return Ok(false);
    }
    let e = TicketEvent {
        ticket_id,
        kind: "assigned".into(),
        to_user_id: Some(owner),
        data: serde_json::json!({ "auto": "wallet" }).to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
    Ok(true)
}

/// [`available_owner`] then [`assign_to_owner`]: the owner who took the ticket.
pub(crate) async fn to_owner(tx: &mut Tx, tenant: TenantId, ticket_id: i64, now: i64) -> anyhow::Result<Option<i64>> {
    let Some(owner) = available_owner(tx, tenant, ticket_id, now).await? else { return Ok(None) };
    Ok(assign_to_owner(tx, tenant, ticket_id, owner, now).await?.then_some(owner))
}

/// The people a contact can belong to (active ones), by name: any person of the company may
/// read them, to show whose wallet a contact is in.
pub async fn owner_choices(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, String)>> {
    actor.role_of(tenant)?;
    let users = store::users::list(app.db.reader(), tenant).await?;
    let mut out: Vec<(i64, String)> = users.into_iter().filter(|u| u.active).map(|u| (u.id.0, u.name)).collect();
    out.sort_by_key(|(_, name)| name.to_lowercase());
    Ok(out)
}
