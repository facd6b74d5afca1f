//! "Quem está vendo": the people who have a ticket open right now, shown on the ticket live.
//! Each open page beats every [`BEAT_MS`]; a beat that changes who is counted (someone arrives,
//! or someone's beats stopped past [`WINDOW_MS`]) and leaving the page publish
//! `ticket.viewers` with the new list, so every open page of the ticket redraws it.

use super::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::inbox::{self, TicketStatus};
use crate::domain::{TenantId, UserId};
use crate::store;

/// How often an open page says it is still open.
pub const BEAT_MS: i64 = 20_000;
/// A viewer whose page has not beaten for this long no longer counts (two missed beats).
pub const WINDOW_MS: i64 = 45_000;

/// The person may see the ticket (the inbox's visibility rule), read without locking it.
async fn require_visible(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<UserId> {
    let viewer = super::inbox::viewer(actor, tenant)?;
    let user = viewer.user.ok_or(ActionError::Forbidden)?;
    let t = store::tickets::get(app.db.reader(), tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let member_of = match viewer.sees_whole_tenant() {
        true => Vec::new(),
        false => store::departments::of_user(app.db.reader(), tenant, user.0).await?,
    };
    let status = TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Waiting);
    if !inbox::can_see(&viewer, status, t.department_id, t.assignee_id.map(UserId), &member_of) {
        return Err(ActionError::NotFound);
    }
    Ok(user)
}

/// The page of `actor` has the ticket open (a beat).
pub async fn beat(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<()> {
    let user = require_visible(app, actor, tenant, ticket_id).await?;
    let now = app.clock.now_ms();
    let since = now - WINDOW_MS;
    let mut tx = app.db.begin().await?;
    let pruned = store::viewers::prune(&mut *tx, tenant, ticket_id, since).await?;
    let arrived = store::viewers::beat(&mut tx, tenant, ticket_id, user.0, now, since).await?;
    if pruned == 0 && !arrived {
        tx.commit().await?;
        return Ok(());
    }
    let event = publish(app, &mut tx, tenant, ticket_id, since, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

/// The page of `actor` left the ticket.
pub async fn leave(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<()> {
    let user = actor.user_id().ok_or(ActionError::Forbidden)?;
    actor.role_of(tenant)?;
    let now = app.clock.now_ms();
    let since = now - WINDOW_MS;
    let mut tx = app.db.begin().await?;
    if !store::viewers::leave(&mut *tx, tenant, ticket_id, user.0, since).await? {
        return Ok(());
    }
    let event = publish(app, &mut tx, tenant, ticket_id, since, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

/// Who sees the ticket now besides `actor` (id, name).
pub async fn others(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<Vec<(i64, String)>> {
    actor.role_of(tenant)?;
    let me = actor.user_id().map(|u| u.0);
    let since = app.clock.now_ms() - WINDOW_MS;
    let all = store::viewers::of_ticket(app.db.reader(), tenant, ticket_id, since).await?;
    Ok(all.into_iter().filter(|(id, _)| Some(*id) != me).collect())
}

async fn publish(
    app: &App,
    tx: &mut store::Tx,
    tenant: TenantId,
    ticket_id: i64,
    since: i64,
    now: i64,
) -> ActionResult<crate::store::events::StoredEvent> {
    let viewers = store::viewers::of_ticket(&mut **tx, tenant, ticket_id, since).await?;
    let viewers: Vec<_> = viewers.into_iter().map(|(id, name)| serde_json::json!({ "id": id, "name": name })).collect();
    let data = serde_json::json!({ "ticket_id": ticket_id, "viewers": viewers });
    Ok(app.bus.record(tx, tenant, "ticket.viewers", Audience::Tenant, data, now).await?)
}
