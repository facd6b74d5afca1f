//! Messages. `(tenant, connection, provider_id)` is unique: that key, not a check before the
//! insert, is what makes a re-delivered webhook a no-op.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::message::DeliveryStatus;
use crate::domain::TenantId;

pub struct NewMessage<'a> {
    pub tenant_id: TenantId,
    pub connection_id: i64,
    pub ticket_id: i64,
    pub contact_id: i64,
    pub direction: &'a str,
    pub provider_id: Option<&'a str>,
    pub kind: &'a str,
    pub body: Option<&'a str>,
    pub payload: &'a str,
    pub refers_to: Option<&'a str>,
    pub status: DeliveryStatus,
    pub media_id: Option<&'a str>,
    pub media_mime: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub sender_user_id: Option<i64>,
    pub sent_at: i64,
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds a new message's 19 columns, in the order of the `INSERT` column lists below.
fn bind_new<'q>(q: AnyQuery<'q>, m: &NewMessage<'q>, now: i64) -> AnyQuery<'q> {
    q.bind(m.tenant_id.0)
        .bind(m.connection_id)
        .bind(m.ticket_id)
        .bind(m.contact_id)
        .bind(m.direction)
        .bind(m.provider_id)
        .bind(m.kind)
        .bind(m.body)
        .bind(m.payload)
        .bind(m.refers_to)
        .bind(m.status.as_str())
        .bind(m.status.rank())
        .bind(m.media_id)
        .bind(m.media_mime)
        .bind(m.idempotency_key)
        .bind(m.sender_user_id)
        .bind(m.sent_at)
        .bind(now)
        .bind(now)
}

/// Inserts a message; `None` when one with the same provider id (or idempotency key) exists.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    m: NewMessage<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let q = sqlx::query(
        "INSERT INTO messages (tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload,
             refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, sent_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT DO NOTHING
         RETURNING id",
    );
    let row = bind_new(q, &m, now).fetch_optional(ex).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// A row written by [`insert_many`].
#[derive(Debug, Clone)]
pub struct InsertedMessage {
    pub id: i64,
    pub tenant_id: TenantId,
    pub connection_id: i64,
    pub provider_id: Option<String>,
}

/// [`insert`] for many messages in few statements. Returns the rows actually inserted, in no
/// particular order; a message whose provider id (or idempotency key) is taken — by an earlier
/// row, or by an earlier message of the same call — is left out. Match the rows by tenant,
/// connection and provider id.
pub async fn insert_many(
    conn: &mut AnyConnection,
    messages: &[NewMessage<'_>],
    now: i64,
) -> Result<Vec<InsertedMessage>, sqlx::Error> {
    if super::is_sqlite(conn) && messages.iter().all(|m| m.provider_id.is_some() && m.idempotency_key.is_none()) {
        return insert_many_sqlite(conn, messages, now).await;
    }
    let mut out = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 19);
        let sql = format!(
            "INSERT INTO messages (tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload,
                 refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, sent_at, created_at, updated_at)
             VALUES {values}
             ON CONFLICT DO NOTHING
             RETURNING id, tenant_id, connection_id, provider_id"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for m in chunk {
            q = bind_new(q, m, now);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(InsertedMessage {
                id: row.try_get("id")?,
                tenant_id: TenantId(row.try_get("tenant_id")?),
                connection_id: row.try_get("connection_id")?,
                provider_id: row.try_get("provider_id")?,
            });
        }
    }
    Ok(out)
}

/// [`insert_many`] on SQLite for messages that all have a provider id and no idempotency key
/// (what webhooks deliver), inside the writer's transaction: one read finds the provider ids
/// already stored, the rest get ids past the table's largest and are inserted without
/// `RETURNING`. The transaction holds SQLite's write lock, so nothing can take an id or a
/// provider id between the read and the insert (if something did, the insert would fail and
/// the batch with it, never store a duplicate).
async fn insert_many_sqlite(
    conn: &mut AnyConnection,
    messages: &[NewMessage<'_>],
    now: i64,
) -> Result<Vec<InsertedMessage>, sqlx::Error> {
    use std::collections::{HashMap, HashSet};
    let mut by_connection: HashMap<(TenantId, i64), Vec<&str>> = HashMap::new();
    for m in messages {
        if let Some(p) = m.provider_id {
            by_connection.entry((m.tenant_id, m.connection_id)).or_default().push(p);
        }
    }
    let mut taken: HashSet<(TenantId, i64, String)> = HashSet::new();
    for ((tenant, connection_id), ids) in &by_connection {
        for id in existing_provider_ids(conn, *tenant, *connection_id, ids).await? {
            taken.insert((*tenant, *connection_id, id));
        }
    }
    let mut seen: HashSet<(TenantId, i64, &str)> = HashSet::new();
    let fresh: Vec<&NewMessage<'_>> = messages
        .iter()
        .filter(|m| {
            let p = m.provider_id.unwrap_or("");
            !taken.contains(&(m.tenant_id, m.connection_id, p.to_string()))
                && seen.insert((m.tenant_id, m.connection_id, p))
        })
        .collect();
    let mut out = Vec::with_capacity(fresh.len());
    if fresh.is_empty() {
        return Ok(out);
    }
    let mut next_id = super::sqlite_next_id(conn, "messages").await?;
    for chunk in fresh.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 20);
        let sql = format!(
            "INSERT INTO messages (id, tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload,
                 refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, sent_at, created_at, updated_at)
             VALUES {values}"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for m in chunk {
            q = bind_new(q.bind(next_id), m, now);
            out.push(InsertedMessage {
                id: next_id,
                tenant_id: m.tenant_id,
                connection_id: m.connection_id,
                provider_id: m.provider_id.map(str::to_string),
            });
            next_id += 1;
        }
        q.execute(&mut *conn).await?;
    }
    Ok(out)
}

/// What happened to a status update.
#[derive(Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved forward: (message id, ticket id).
    Applied(i64, i64),
    /// The message already had this status or a later one.
    Stale,
    /// No message with this provider id (yet).
    Unknown,
}

/// A provider's report that a message changed status.
#[derive(Clone, Copy)]
pub struct StatusChange<'a> {
    pub connection_id: i64,
    pub provider_id: &'a str,
    pub status: DeliveryStatus,
    pub error_code: Option<i64>,
    pub error_title: Option<&'a str>,
}

/// Moves a message's status forward (never back; `failed` is final).
pub async fn apply_status(
    tx: &mut super::Tx,
    tenant: TenantId,
    c: &StatusChange<'_>,
    now: i64,
) -> Result<StatusOutcome, sqlx::Error> {
    let StatusChange { connection_id, provider_id, status, error_code, error_title } = *c;
    let row = sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, error_code = COALESCE($3, error_code),
             error_title = COALESCE($4, error_title), updated_at = $5
         WHERE tenant_id = $6 AND connection_id = $7 AND provider_id = $8 AND status_rank < $2
         RETURNING id, ticket_id",
    )
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(now)
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = row {
        return Ok(StatusOutcome::Applied(r.try_get("id")?, r.try_get("ticket_id")?));
    }
    let exists = sqlx::query("SELECT 1 FROM messages WHERE tenant_id = $1 AND connection_id = $2 AND provider_id = $3")
        .bind(tenant.0)
        .bind(connection_id)
        .bind(provider_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(if exists.is_some() { StatusOutcome::Stale } else { StatusOutcome::Unknown })
}

/// Keeps a status whose message is not stored yet; applied when the message appears.
pub async fn keep_pending_status<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    c: &StatusChange<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let StatusChange { connection_id, provider_id, status, error_code, error_title } = *c;
    sqlx::query(
        "INSERT INTO pending_statuses (tenant_id, connection_id, provider_id, status, status_rank, error_code, error_title, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub struct PendingStatus {
    pub status: DeliveryStatus,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
}

/// Removes and returns the kept statuses of a message, highest rank first.
pub async fn take_pending_statuses(
    tx: &mut super::Tx,
    tenant: TenantId,
    connection_id: i64,
    provider_id: &str,
) -> Result<Vec<PendingStatus>, sqlx::Error> {
    let rows = sqlx::query(
        "DELETE FROM pending_statuses WHERE tenant_id = $1 AND connection_id = $2 AND provider_id = $3
         RETURNING status, error_code, error_title, status_rank",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<(i64, PendingStatus)> = rows
        .iter()
        .filter_map(|r| {
            let status: String = r.try_get("status").ok()?;
            Some((
                r.try_get("status_rank").ok()?,
                PendingStatus {
                    status: DeliveryStatus::parse(&status)?,
                    error_code: r.try_get("error_code").ok()?,
                    error_title: r.try_get("error_title").ok()?,
                },
            ))
        })
        .collect();
    out.sort_by_key(|(rank, _)| -rank);
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

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
    pub sent_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload, \
    refers_to, status, error_code, error_title, media_id, media_path, media_mime, media_size, sender_user_id, sent_at, created_at";

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

/// Records the provider's id for a sent message, that it was accepted, and when (`sent_at`:
/// until then it holds the time the message was queued).
pub async fn mark_sent(
    tx: &mut super::Tx,
    tenant: TenantId,
    id: i64,
    provider_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET provider_id = $1, status = 'sent', status_rank = 1, sent_at = $2, updated_at = $2
         WHERE tenant_id = $3 AND id = $4 AND provider_id IS NULL",
    )
    .bind(provider_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the `wamid` a status webhook reports for our outbound message `id` (named by its
/// callback data) when the send's own answer has not been recorded: Meta accepted it, so it is
/// `sent`, and a send job that lost Graph's answer sees the id and never sends it again.
pub async fn adopt_provider_id(
    tx: &mut super::Tx,
    tenant: TenantId,
    connection_id: i64,
    id: i64,
    provider_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET provider_id = $1, status = 'sent', status_rank = 1, sent_at = $2, updated_at = $2
         WHERE tenant_id = $3 AND connection_id = $4 AND id = $5 AND direction = 'out' AND provider_id IS NULL",
    )
    .bind(provider_id)
    .bind(now)
    .bind(tenant.0)
    .bind(connection_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an outbound message failed with a reason people can read.
pub async fn mark_failed<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    code: Option<i64>,
    title: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET status = 'failed', status_rank = 4, error_code = $1, error_title = $2, updated_at = $3
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(code)
    .bind(title)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
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

/// Message counts by direction and status, for `atende admin stats`.
pub async fn counts<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT direction, status, COUNT(*) AS n FROM messages GROUP BY direction, status ORDER BY direction, status",
    )
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("direction")?, r.try_get("status")?, r.try_get("n")?))).collect()
}

/// Outbound messages of a connection by outcome, with the first and last send times.
#[derive(Debug, Default)]
pub struct OutboundSummary {
    /// Accepted by the provider (they have its id), whatever happened to them after.
    pub accepted: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub first_sent_at: i64,
    pub last_sent_at: i64,
}

pub async fn outbound_summary<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<OutboundSummary, sqlx::Error> {
    let r = sqlx::query(
        "SELECT
            CAST(COALESCE(SUM(CASE WHEN provider_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS accepted,
            CAST(COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS BIGINT) AS queued,
            CAST(COALESCE(SUM(CASE WHEN status IN ('sent', 'delivered', 'read') THEN 1 ELSE 0 END), 0) AS BIGINT) AS sent,
            CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
            CAST(COALESCE(MIN(CASE WHEN provider_id IS NOT NULL THEN sent_at END), 0) AS BIGINT) AS first_sent_at,
            CAST(COALESCE(MAX(CASE WHEN provider_id IS NOT NULL THEN sent_at END), 0) AS BIGINT) AS last_sent_at
         FROM messages WHERE tenant_id = $1 AND connection_id = $2 AND direction = 'out'",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .fetch_one(ex)
    .await?;
    Ok(OutboundSummary {
        accepted: r.try_get("accepted")?,
        queued: r.try_get("queued")?,
        sent: r.try_get("sent")?,
        failed: r.try_get("failed")?,
        first_sent_at: r.try_get("first_sent_at")?,
        last_sent_at: r.try_get("last_sent_at")?,
    })
}

/// Why outbound messages of a connection failed, most frequent first.
pub async fn failure_reasons<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT COALESCE(error_title, '') AS reason, COUNT(*) AS n FROM messages
         WHERE tenant_id = $1 AND connection_id = $2 AND direction = 'out' AND status = 'failed'
         GROUP BY COALESCE(error_title, '') ORDER BY n DESC",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("reason")?, r.try_get("n")?))).collect()
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

/// Which of these provider ids a connection already has (re-delivered webhooks).
pub async fn existing_provider_ids(
    conn: &mut AnyConnection,
    tenant: TenantId,
    connection_id: i64,
    provider_ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in provider_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut ph = super::Placeholders::for_connection(conn);
        let (mut head, mut list) = (String::new(), String::new());
        ph.push(&mut head, 2);
        ph.push(&mut list, chunk.len());
        let (t, c) = head.split_once(", ").unwrap_or(("$1", "$2"));
        let sql = format!(
            "SELECT provider_id FROM messages WHERE tenant_id = {t} AND connection_id = {c} AND provider_id IN ({list})"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0).bind(connection_id);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(row.try_get(0)?);
        }
    }
    Ok(out)
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
