//! Writing new messages: one, or many in few statements (the webhook writer's batches), and
//! which provider ids a connection already has.

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
    /// `phone` for what the business wrote on its own phone (WhatsApp Web); `None` otherwise.
    pub origin: Option<&'a str>,
    pub sent_at: i64,
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds a new message's 20 columns, in the order of the `INSERT` column lists below.
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
        .bind(m.origin)
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
             refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, origin, sent_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
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
    if crate::store::is_sqlite(conn) && messages.iter().all(|m| m.provider_id.is_some() && m.idempotency_key.is_none())
    {
        return insert_many_sqlite(conn, messages, now).await;
    }
    let mut out = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let values = crate::store::Placeholders::for_connection(conn).rows(chunk.len(), 20);
        let sql = format!(
            "INSERT INTO messages (tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload,
                 refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, origin, sent_at, created_at, updated_at)
             VALUES {values}
             ON CONFLICT DO NOTHING
             RETURNING id, tenant_id, connection_id, provider_id"
        );
        let mut q = sqlx::query(&sql).persistent(crate::store::keep_prepared(chunk.len()));
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
    let mut next_id = crate::store::sqlite_next_id(conn, "messages").await?;
    for chunk in fresh.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let values = crate::store::Placeholders::for_connection(conn).rows(chunk.len(), 21);
        let sql = format!(
            "INSERT INTO messages (id, tenant_id, connection_id, ticket_id, contact_id, direction, provider_id, kind, body, payload,
                 refers_to, status, status_rank, media_id, media_mime, idempotency_key, sender_user_id, origin, sent_at, created_at, updated_at)
             VALUES {values}"
        );
        let mut q = sqlx::query(&sql).persistent(crate::store::keep_prepared(chunk.len()));
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

/// Which of these provider ids a connection already has (re-delivered webhooks).
pub async fn existing_provider_ids(
    conn: &mut AnyConnection,
    tenant: TenantId,
    connection_id: i64,
    provider_ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in provider_ids.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let mut ph = crate::store::Placeholders::for_connection(conn);
        let (mut head, mut list) = (String::new(), String::new());
        ph.push(&mut head, 2);
        ph.push(&mut list, chunk.len());
        let (t, c) = head.split_once(", ").unwrap_or(("$1", "$2"));
        let sql = format!(
            "SELECT provider_id FROM messages WHERE tenant_id = {t} AND connection_id = {c} AND provider_id IN ({list})"
        );
        let mut q =
            sqlx::query(&sql).persistent(crate::store::keep_prepared(chunk.len())).bind(tenant.0).bind(connection_id);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(row.try_get(0)?);
        }
    }
    Ok(out)
}
