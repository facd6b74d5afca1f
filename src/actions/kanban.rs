//! The kanban board: columns of open tickets by lane (a tag placed on the board), each paged
//! on its own under the inbox's visibility rule, and moving a card — which swaps the ticket's
//! lane tag, records it in the ticket's history and tells every viewer live (`ticket.updated`
//! with change `lane`).

use crate::actions::inbox::{finish, load, publish, viewer};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::kanban;
use crate::domain::TenantId;
use crate::store::inbox::{Cursor, Filter, Page, Tab, TicketView};
use crate::store::kanban::Lane;
use crate::store::tags::Target;
use crate::store::ticket_events::TicketEvent;
use crate::store::{self};

/// Cards a column shows at first and per "more".
pub const COLUMN_PAGE: i64 = 30;

/// One column: its lane (`None`: the tickets in no lane) and its first page of cards.
pub struct Column {
    pub lane: Option<Lane>,
    pub page: Page,
}

/// The tenant's lanes in board order (anyone of the tenant may read them).
pub async fn lanes(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Lane>> {
    actor.role_of(tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Kanban).await?;
    Ok(store::kanban::lanes(app.db.reader(), tenant).await?)
}

/// The whole board: "no lane" first, then every lane, each with its first page.
pub async fn board(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Column>> {
    let mut columns = Vec::new();
    let lanes = lanes(app, actor, tenant).await?;
    columns.push(Column { lane: None, page: column(app, actor, tenant, None, None, COLUMN_PAGE).await? });
    for lane in lanes {
        let page = column(app, actor, tenant, Some(lane.tag_id), None, COLUMN_PAGE).await?;
        columns.push(Column { lane: Some(lane), page });
    }
    Ok(columns)
}

/// One page of a column's cards: the open (not closed) tickets the caller may see in that lane,
/// newest activity first.
pub async fn column(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    lane: Option<i64>,
    after: Option<Cursor>,
    limit: i64,
) -> ActionResult<Page> {
    let viewer = viewer(actor, tenant)?;
    if let Some(id) = lane {
        known_lane(app, tenant, id).await?;
    }
    let filter = Filter { tag_id: lane, no_lane: lane.is_none(), ..Filter::default() };
    Ok(store::inbox::list(app.db.reader(), &viewer, Tab::All, &filter, after, limit).await?)
}

async fn known_lane(app: &App, tenant: TenantId, id: i64) -> ActionResult<Lane> {
    store::kanban::lanes(app.db.reader(), tenant)
        .await?
        .into_iter()
        .find(|l| l.tag_id == id)
        .ok_or_else(|| ActionError::invalid("unknown_lane", "this tag is not a lane of the board"))
}

/// One card as the caller sees it, with the lane it is in; "not found" when the caller may not
/// see the ticket or it is closed (a closed ticket leaves the board).
pub async fn card(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<(TicketView, Option<i64>)> {
    let viewer = viewer(actor, tenant)?;
    let t = store::inbox::get(app.db.reader(), &viewer, id).await?.ok_or(ActionError::NotFound)?;
    if t.status == "closed" {
        return Err(ActionError::NotFound);
    }
    let lane = store::kanban::lanes_of(app.db.reader(), tenant, id).await?.first().copied();
    Ok((t, lane))
}

/// Places a tag on the board at `position`, or (`None`) takes it off; supervisors and admins.
pub async fn set_lane(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    tag_id: i64,
    position: Option<i64>,
) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Kanban).await?;
    let position =
        position.map(kanban::position).transpose().map_err(|m| ActionError::invalid("invalid_position", m))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let lanes = store::kanban::lanes(&mut *tx, tenant).await?;
    if position.is_some() && !lanes.iter().any(|l| l.tag_id == tag_id) && lanes.len() >= kanban::MAX_LANES {
        return Err(ActionError::invalid("too_many_lanes", "a board has at most 20 lanes"));
    }
    if !store::kanban::set_position(&mut *tx, tenant, tag_id, position).await? {
        return Err(ActionError::invalid("unknown_tag", "no such tag in this company"));
    }
    let details = serde_json::json!({ "lane_position": position });
    store::audit::record(&mut *tx, tenant, &actor.label(), "tag.lane", &format!("tag:{tag_id}"), &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a card: the ticket leaves its lane (every lane tag comes off) and enters `lane`
/// (`None`: no lane). A move to where the card already is changes nothing and tells no one.
pub async fn move_ticket(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    lane: Option<i64>,
) -> ActionResult<TicketView> {
    actor.require_agent_in(tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Kanban).await?;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = load(app, &mut tx, &viewer, id).await?;
    if t.status == "closed" {
        return Err(ActionError::Conflict { code: "ticket_closed", message: "this ticket is closed".into() });
    }
    let lanes = store::kanban::lanes(&mut *tx, tenant).await?;
    let target = match lane {
        Some(l) => Some(
            lanes
                .iter()
                .find(|x| x.tag_id == l)
                .ok_or_else(|| ActionError::invalid("unknown_lane", "this tag is not a lane of the board"))?,
        ),
        None => None,
    };
    let current = store::kanban::lanes_of(&mut *tx, tenant, id).await?;
    let mut events = Vec::new();
    if kanban::is_move(&current, lane) {
        store::kanban::clear(&mut *tx, tenant, id).await?;
        if let Some(l) = target {
            store::tags::attach(&mut *tx, tenant, Target::Ticket(id), l.tag_id, now).await?;
        }
        let name_of = |tag: Option<i64>| tag.and_then(|g| lanes.iter().find(|x| x.tag_id == g)).map(|x| x.name.clone());
        let from = current.first().copied();
        let data =
            serde_json::json!({ "from": from, "from_name": name_of(from), "to": lane, "to_name": name_of(lane) });
        let e = TicketEvent {
            ticket_id: id,
            kind: "lane".into(),
            actor_user_id: actor.user_id().map(|u| u.0),
            data: data.to_string(),
            ..Default::default()
        };
        store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
        publish(app, &mut tx, &t, "lane", now, &mut events).await?;
    }
    finish(app, tx, &viewer, id, events).await
}
