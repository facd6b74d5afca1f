//! Tickets: one episode of service with a contact on a connection. This is the minimal ticket
//! the channels need (open until closed); the inbox issue adds protocol numbers, departments,
//! assignment and the rest.

use sqlx::{Any, Executor, Row};

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

/// After inbound messages: bump activity, the unread count and the 24-hour window start.
pub async fn record_inbound<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    new_messages: i64,
    last_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET unread_count = unread_count + $1, last_message_at = $2,
             last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < $2 THEN $2 ELSE last_inbound_at END
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(new_messages)
    .bind(last_at)
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(ex)
    .await?;
    Ok(())
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

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM tickets").fetch_one(ex).await?.try_get(0)
}

/// Ids of a connection's tickets, oldest first (benchmarks and tests).
pub async fn ids_for_connection<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId, connection_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM tickets WHERE tenant_id = $1 AND connection_id = $2 ORDER BY id")
        .bind(tenant.0)
        .bind(connection_id)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}
