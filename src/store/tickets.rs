//! Tickets: one episode of service with a contact on a connection. This is the minimal ticket
//! the channels need (open until closed); the inbox issue adds protocol numbers, departments,
//! assignment and the rest.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::TenantId;

/// The contact's current (not closed) ticket on this connection.
pub async fn find_current<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    connection_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id FROM tickets WHERE tenant_id = $1 AND contact_id = $2 AND connection_id = $3 AND status <> 'closed'
         ORDER BY id DESC LIMIT 1",
    )
    .bind(tenant.0)
    .bind(contact_id)
    .bind(connection_id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    connection_id: i64,
    status: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO tickets (tenant_id, contact_id, connection_id, status, unread_count, last_message_at, created_at)
         VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(contact_id)
    .bind(connection_id)
    .bind(status)
    .bind(now)
    .fetch_one(ex)
    .await?;
    row.try_get(0)
}

/// When the customer last wrote on this ticket (the 24-hour customer-service window).
pub async fn last_inbound_at<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT last_inbound_at FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(ticket_id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Ticket {
    pub id: i64,
    pub tenant_id: TenantId,
    pub contact_id: i64,
    pub connection_id: i64,
    pub status: String,
    pub last_inbound_at: Option<i64>,
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Ticket>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, tenant_id, contact_id, connection_id, status, last_inbound_at FROM tickets
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(Ticket {
            id: r.try_get("id")?,
            tenant_id: TenantId(r.try_get("tenant_id")?),
            contact_id: r.try_get("contact_id")?,
            connection_id: r.try_get("connection_id")?,
            status: r.try_get("status")?,
            last_inbound_at: r.try_get("last_inbound_at")?,
        })
    })
    .transpose()
}

/// After an outbound message: bump the ticket's activity.
pub async fn record_outbound<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET last_message_at = CASE WHEN last_message_at < $1 THEN $1 ELSE last_message_at END
         WHERE tenant_id = $2 AND id = $3",
    )
    .bind(at)
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// [`find_current`] for many contacts of a tenant: the current ticket of each
/// (contact, connection) pair that has one.
pub async fn find_current_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_ids: &[i64],
) -> Result<HashMap<(i64, i64), i64>, sqlx::Error> {
    let mut out: HashMap<(i64, i64), i64> = HashMap::new();
    for chunk in contact_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut ph = super::Placeholders::for_connection(conn);
        let (mut tenant_param, mut list) = (String::new(), String::with_capacity(chunk.len() * 6));
        ph.push(&mut tenant_param, 1);
        ph.push(&mut list, chunk.len());
        let sql = format!(
            "SELECT id, contact_id, connection_id FROM tickets
             WHERE tenant_id = {tenant_param} AND contact_id IN ({list}) AND status <> 'closed'"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let id: i64 = row.try_get(0)?;
            let current = out.entry((row.try_get(1)?, row.try_get(2)?)).or_insert(id);
            // The newest open ticket is the current one (as `ORDER BY id DESC LIMIT 1`).
            *current = (*current).max(id);
        }
    }
    Ok(out)
}

/// A ticket to open with [`insert_many`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NewTicket {
    pub tenant_id: TenantId,
    pub contact_id: i64,
    pub connection_id: i64,
}

/// [`insert`] for many tickets; returns each with its id, in no particular order. At most one
/// ticket per (tenant, contact, connection) is expected.
pub async fn insert_many(
    conn: &mut AnyConnection,
    tickets: &[NewTicket],
    status: &str,
    now: i64,
) -> Result<Vec<(NewTicket, i64)>, sqlx::Error> {
    let mut out = Vec::with_capacity(tickets.len());
    for chunk in tickets.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 7);
        let sql = format!(
            "INSERT INTO tickets (tenant_id, contact_id, connection_id, status, unread_count, last_message_at, created_at)
             VALUES {values} RETURNING id, tenant_id, contact_id, connection_id"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for t in chunk {
            q = q
                .bind(t.tenant_id.0)
                .bind(t.contact_id)
                .bind(t.connection_id)
                .bind(status)
                .bind(0_i64)
                .bind(now)
                .bind(now);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let ticket = NewTicket {
                tenant_id: TenantId(row.try_get("tenant_id")?),
                contact_id: row.try_get("contact_id")?,
                connection_id: row.try_get("connection_id")?,
            };
            out.push((ticket, row.try_get("id")?));
        }
    }
    Ok(out)
}

/// Inbound activity of one ticket, for [`record_inbound_many`].
#[derive(Debug, Clone, Copy)]
pub struct InboundActivity {
    pub tenant_id: TenantId,
    pub ticket_id: i64,
    pub new_messages: i64,
    pub last_at: i64,
}

/// [`record_inbound`] for many tickets (each at most once) in few statements.
pub async fn record_inbound_many(conn: &mut AnyConnection, activity: &[InboundActivity]) -> Result<(), sqlx::Error> {
    for chunk in activity.chunks(super::MAX_ROWS_PER_STATEMENT) {
        // VALUES columns are named column1… on both engines.
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 4);
        let sql = format!(
            "UPDATE tickets SET unread_count = tickets.unread_count + v.column3, last_message_at = v.column4,
                 last_inbound_at = CASE WHEN tickets.last_inbound_at IS NULL OR tickets.last_inbound_at < v.column4
                     THEN v.column4 ELSE tickets.last_inbound_at END
             FROM (VALUES {values}) AS v
             WHERE tickets.tenant_id = v.column1 AND tickets.id = v.column2"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for a in chunk {
            q = q.bind(a.tenant_id.0).bind(a.ticket_id).bind(a.new_messages).bind(a.last_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM tickets").fetch_one(ex).await?.try_get(0)
}

/// Ids of a connection's tickets, oldest first (benchmarks and tests).
pub async fn ids_for_connection<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM tickets WHERE tenant_id = $1 AND connection_id = $2 ORDER BY id")
        .bind(tenant.0)
        .bind(connection_id)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}
