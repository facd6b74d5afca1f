//! Messages. `(tenant, connection, provider_id)` is unique: that key, not a check before the
//! insert, is what makes a re-delivered webhook a no-op.
//!
//! This module owns the stored message, its reads (by id, provider id, idempotency key, pages of
//! a ticket) and its media; writing new messages, their statuses and the counts for operators
//! live in the submodules.

mod insert;
mod stats;
mod status;

pub use insert::{existing_provider_ids, insert, insert_many, InsertedMessage, NewMessage};
pub use stats::{counts, failure_reasons, outbound_summary, OutboundSummary};
pub use status::{
    adopt_provider_id, apply_status, keep_pending_status, mark_failed, mark_sent, take_pending_statuses, PendingStatus,
    StatusChange, StatusOutcome,
};

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredMessage {
    pub id: i64,
    pub tenant_id: TenantId,
    pub connection_id: i64,
    pub ticket_id: i64,
    pub contact_id: i64,
    pub direction: String,
    pub provider_id: Option<String>,
    pub kind: String,
    pub body: Option<String>,
    pub payload: String,
    pub refers_to: Option<String>,
    pub status: String,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub media_id: Option<String>,
    pub media_path: Option<String>,
    pub media_mime: Option<String>,
    pub media_size: Option<i64>,
    pub sender_user_id: Option<i64>,
    /// `phone`: written by the business on its own phone (shown as sent by "Celular").
    pub origin: Option<String>,
    pub sent_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload, \
    refers_to, status, error_code, error_title, media_id, media_path, media_mime, media_size, sender_user_id, origin, sent_at, created_at";

fn from_row(r: &AnyRow) -> Result<StoredMessage, sqlx::Error> {
    Ok(StoredMessage {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        connection_id: r.try_get("connection_id")?,
        ticket_id: r.try_get("ticket_id")?,
        contact_id: r.try_get("contact_id")?,
        direction: r.try_get("direction")?,
        provider_id: r.try_get("provider_id")?,
        kind: r.try_get("kind")?,
        body: r.try_get("body")?,
        payload: r.try_get("payload")?,
        refers_to: r.try_get("refers_to")?,
        status: r.try_get("status")?,
        error_code: r.try_get("error_code")?,
        error_title: r.try_get("error_title")?,
        media_id: r.try_get("media_id")?,
        media_path: r.try_get("media_path")?,
        media_mime: r.try_get("media_mime")?,
        media_size: r.try_get("media_size")?,
        sender_user_id: r.try_get("sender_user_id")?,
        origin: r.try_get("origin")?,
        sent_at: r.try_get("sent_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn find_by_provider_id<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
    provider_id: &str,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND connection_id = $2 AND provider_id = $3");
    sqlx::query(&sql)
        .bind(tenant.0)
        .bind(connection_id)
        .bind(provider_id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find_by_idempotency_key<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND idempotency_key = $2");
    sqlx::query(&sql).bind(tenant.0).bind(key).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// Messages of a ticket, oldest first.
pub async fn list_for_ticket<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    limit: i64,
) -> Result<Vec<StoredMessage>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id LIMIT $3");
    sqlx::query(&sql).bind(tenant.0).bind(ticket_id).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// A page of a ticket's messages going back in time: the `limit` messages before `before_id`
/// (the newest when `None`), returned oldest first, and whether older ones exist.
pub async fn page_before<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredMessage>, bool), sqlx::Error> {
    let limit = limit.clamp(1, 200);
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND ticket_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(ex)
        .await?;
    let mut messages: Vec<StoredMessage> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let more = messages.len() as i64 > limit;
    messages.truncate(limit as usize);
    messages.reverse();
    Ok((messages, more))
}

/// A ticket's messages by id, descending (newest first) or ascending, starting after message
/// `after` in that order; `limit` clamped to 1–200; and whether more follow.
pub async fn page<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    after: Option<i64>,
    ascending: bool,
    limit: i64,
) -> Result<(Vec<StoredMessage>, bool), sqlx::Error> {
    let limit = limit.clamp(1, 200);
    let (cmp, order, start) = if ascending { (">", "ASC", i64::MIN) } else { ("<", "DESC", i64::MAX) };
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND ticket_id = $2 AND id {cmp} $3 ORDER BY id {order} LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(after.unwrap_or(start))
        .bind(limit + 1)
        .fetch_all(ex)
        .await?;
    let mut messages: Vec<StoredMessage> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let more = messages.len() as i64 > limit;
    messages.truncate(limit as usize);
    Ok((messages, more))
}

/// The newest received message of a ticket (what "mark as read" acknowledges to WhatsApp).
pub async fn latest_inbound<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND ticket_id = $2 AND direction = 'in' AND provider_id IS NOT NULL
         ORDER BY id DESC LIMIT 1"
    );
    sqlx::query(&sql).bind(tenant.0).bind(ticket_id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// Records a fetched media file by its media-store name (its SHA-256). The column is called
/// `media_path` for history: rows from before names were used hold a full path, read back by its
/// last component only.
pub async fn set_media<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    media_name: &str,
    mime: &str,
    size: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET media_path = $1, media_mime = $2, media_size = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6")
        .bind(media_name)
        .bind(mime)
        .bind(size)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Records why a message's media was not fetched (too large, gone); people see the reason.
pub async fn refuse_media<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET error_title = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(reason)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}
