//! The status page's tables: per-company settings, components, incidents with their updates,
//! the components and tickets linked to incidents, and the chatbot's once-per-ticket notices.
//! Every query filters by tenant.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// The company's switches (no row: both on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusSettings {
    pub public_enabled: bool,
    pub chatbot_notice: bool,
}

pub async fn settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<StatusSettings, sqlx::Error> {
    let row = sqlx::query("SELECT public_enabled, chatbot_notice FROM status_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => {
            StatusSettings { public_enabled: super::flag(r.try_get(0)?), chatbot_notice: super::flag(r.try_get(1)?) }
        }
        None => StatusSettings { public_enabled: true, chatbot_notice: true },
    })
}

pub async fn save_settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: StatusSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO status_settings (tenant_id, public_enabled, chatbot_notice, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET public_enabled = $2, chatbot_notice = $3, updated_at = $4",
    )
    .bind(tenant.0)
    .bind(s.public_enabled as i64)
    .bind(s.chatbot_notice as i64)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- components

#[derive(Clone, Debug, serde::Serialize)]
pub struct Component {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub state: String,
    pub updated_at: i64,
}

const COMPONENT: &str = "id, name, description, position, state, updated_at";

fn component(r: &AnyRow) -> Result<Component, sqlx::Error> {
    Ok(Component {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        position: r.try_get("position")?,
        state: r.try_get("state")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The company's components in page order.
pub async fn components<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<Component>, sqlx::Error> {
    let sql = format!("SELECT {COMPONENT} FROM status_components WHERE tenant_id = $1 ORDER BY position, id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(component).collect()
}

pub async fn component_by_id<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Component>, sqlx::Error> {
    let sql = format!("SELECT {COMPONENT} FROM status_components WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(component).transpose()
}

pub async fn count_components<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM status_components WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

/// A component as saved: name, description, position and state.
pub struct ComponentRow<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub position: i64,
    pub state: &'a str,
}

pub async fn insert_component<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    c: &ComponentRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO status_components (tenant_id, name, description, position, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(c.name)
    .bind(c.description)
    .bind(c.position)
    .bind(c.state)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Saves a component's fields; false when the company has no such component.
pub async fn update_component<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    c: &ComponentRow<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE status_components SET name = $3, description = $4, position = $5, state = $6, updated_at = $7
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(c.name)
    .bind(c.description)
    .bind(c.position)
    .bind(c.state)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a component and its links to incidents (the incidents stay).
pub async fn delete_component(tx: &mut super::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM status_incident_components WHERE tenant_id = $1 AND component_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM status_components WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- incidents

#[derive(Clone, Debug, serde::Serialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub state: String,
    pub impact: String,
    pub notify_on_resolve: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
}

const INCIDENT: &str = "id, title, state, impact, notify_on_resolve, created_at, updated_at, resolved_at";

fn incident(r: &AnyRow) -> Result<Incident, sqlx::Error> {
    Ok(Incident {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        state: r.try_get("state")?,
        impact: r.try_get("impact")?,
        notify_on_resolve: super::flag(r.try_get("notify_on_resolve")?),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        resolved_at: r.try_get("resolved_at")?,
    })
}

pub async fn incident_by_id<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Incident>, sqlx::Error> {
    let sql = format!("SELECT {INCIDENT} FROM status_incidents WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(incident).transpose()
}

/// Open incidents, newest first.
pub async fn open_incidents<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<Incident>, sqlx::Error> {
    let sql = format!(
        "SELECT {INCIDENT} FROM status_incidents WHERE tenant_id = $1 AND resolved_at IS NULL ORDER BY created_at DESC, id DESC"
    );
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(incident).collect()
}

/// Incidents open at some moment since `since` (open ones included), newest first, at most `limit`.
pub async fn incidents_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    since: i64,
    limit: i64,
) -> Result<Vec<Incident>, sqlx::Error> {
    let sql = format!(
        "SELECT {INCIDENT} FROM status_incidents WHERE tenant_id = $1 AND (resolved_at IS NULL OR resolved_at >= $2)
         ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    sqlx::query(&sql).bind(tenant.0).bind(since).bind(limit).fetch_all(ex).await?.iter().map(incident).collect()
}

/// An incident as opened.
pub struct NewIncident<'a> {
    pub title: &'a str,
    pub state: &'a str,
    pub impact: &'a str,
    pub notify_on_resolve: bool,
}

pub async fn insert_incident<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    i: &NewIncident<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO status_incidents (tenant_id, title, state, impact, notify_on_resolve, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(i.title)
    .bind(i.state)
    .bind(i.impact)
    .bind(i.notify_on_resolve as i64)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Moves an open incident to `state` (resolving it when `resolved`); false when it is not open
/// any more — so of two resolutions at once only one goes on to notify anyone.
pub async fn set_incident_state<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    state: &str,
    resolved: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE status_incidents SET state = $3, updated_at = $4, resolved_at = CASE WHEN $5 = 1 THEN $4 ELSE NULL END
         WHERE tenant_id = $1 AND id = $2 AND resolved_at IS NULL",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(state)
    .bind(now)
    .bind(resolved as i64)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- updates

#[derive(Clone, Debug, serde::Serialize)]
pub struct Update {
    pub id: i64,
    pub incident_id: i64,
    pub state: String,
    pub body: String,
    pub author: String,
    pub created_at: i64,
}

const UPDATE: &str = "id, incident_id, state, body, author, created_at";

fn update(r: &AnyRow) -> Result<Update, sqlx::Error> {
    Ok(Update {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        state: r.try_get("state")?,
        body: r.try_get("body")?,
        author: r.try_get("author")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    incident_id: i64,
    state: &str,
    body: &str,
    author: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO status_incident_updates (tenant_id, incident_id, state, body, author, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(incident_id)
    .bind(state)
    .bind(body)
    .bind(author)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// An incident's updates, newest first.
pub async fn updates_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    incident_id: i64,
) -> Result<Vec<Update>, sqlx::Error> {
    let sql = format!(
        "SELECT {UPDATE} FROM status_incident_updates WHERE tenant_id = $1 AND incident_id = $2 ORDER BY created_at DESC, id DESC"
    );
    sqlx::query(&sql).bind(tenant.0).bind(incident_id).fetch_all(ex).await?.iter().map(update).collect()
}

/// The company's newest updates (the feed), at most `limit`.
pub async fn recent_updates<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<Update>, sqlx::Error> {
    let sql = format!(
        "SELECT {UPDATE} FROM status_incident_updates WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    sqlx::query(&sql).bind(tenant.0).bind(limit).fetch_all(ex).await?.iter().map(update).collect()
}

// ---------------------------------------------------------------- links

/// Names the components an incident affects (ids the caller checked are the company's).
pub async fn link_components(
    tx: &mut super::Tx,
    tenant: TenantId,
    incident_id: i64,
    components: &[i64],
) -> Result<(), sqlx::Error> {
    for c in components {
        sqlx::query(
            "INSERT INTO status_incident_components (tenant_id, incident_id, component_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.0)
        .bind(incident_id)
        .bind(c)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// (incident, component) of every link of the company.
pub async fn component_links<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT incident_id, component_id FROM status_incident_components WHERE tenant_id = $1 ORDER BY incident_id, component_id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// A ticket linked to an incident, as staff see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkedTicket {
    pub ticket_id: i64,
    pub protocol: Option<String>,
    pub status: String,
    pub contact_name: String,
}

/// Links a ticket (the caller checked it is the company's); false when it was linked already.
pub async fn link_ticket<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    incident_id: i64,
    ticket_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO status_incident_tickets (tenant_id, incident_id, ticket_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(incident_id)
    .bind(ticket_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unlink_ticket<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    incident_id: i64,
    ticket_id: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM status_incident_tickets WHERE tenant_id = $1 AND incident_id = $2 AND ticket_id = $3")
            .bind(tenant.0)
            .bind(incident_id)
            .bind(ticket_id)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn linked_tickets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    incident_id: i64,
) -> Result<Vec<LinkedTicket>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.id, t.protocol, t.status, COALESCE(c.name, '') AS contact_name
         FROM status_incident_tickets l
         JOIN tickets t ON t.tenant_id = l.tenant_id AND t.id = l.ticket_id
         LEFT JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.contact_id
         WHERE l.tenant_id = $1 AND l.incident_id = $2 ORDER BY l.created_at, t.id",
    )
    .bind(tenant.0)
    .bind(incident_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LinkedTicket {
                ticket_id: r.try_get(0)?,
                protocol: r.try_get(1)?,
                status: r.try_get(2)?,
                contact_name: r.try_get(3)?,
            })
        })
        .collect()
}

/// The company's ticket with this protocol, else with this id.
pub async fn find_ticket(tx: &mut super::Tx, tenant: TenantId, reference: &str) -> Result<Option<i64>, sqlx::Error> {
    let by_protocol = sqlx::query("SELECT id FROM tickets WHERE tenant_id = $1 AND protocol = $2 ORDER BY id LIMIT 1")
        .bind(tenant.0)
        .bind(reference)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(r) = by_protocol {
        return Ok(Some(r.try_get(0)?));
    }
    let Ok(id) = reference.trim_start_matches('#').parse::<i64>() else { return Ok(None) };
    let row = sqlx::query("SELECT id FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Notes that the chatbot told this ticket's customer about an incident; false when it did
/// before (once per ticket).
pub async fn note_notice<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    incident_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO status_notices (tenant_id, ticket_id, incident_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(incident_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
