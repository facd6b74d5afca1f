//! The live-event log: every published event gets a row (its id is the SSE event id, so a client
//! can resume on any instance) and, on PostgreSQL, a NOTIFY delivered at commit.

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::ids::EventId;
use crate::domain::TenantId;

pub const NOTIFY_CHANNEL: &str = "atende_events";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub kind: String,
    pub audience: String,
    pub data: String,
    pub created_at: i64,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    kind: &str,
    audience: &str,
    data: &str,
    now: i64,
) -> Result<EventId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO events (tenant_id, kind, audience, data, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(kind)
    .bind(audience)
    .bind(data)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(EventId(row.try_get(0)?))
}

/// An event row for [`insert_many`].
pub struct NewEvent<'a> {
    pub tenant_id: TenantId,
    pub kind: &'a str,
    pub audience: &'a str,
    pub data: &'a str,
}

/// [`insert`] for many events in few statements; returns their ids in the order given.
pub async fn insert_many(
    conn: &mut AnyConnection,
    events: &[NewEvent<'_>],
    now: i64,
) -> Result<Vec<EventId>, sqlx::Error> {
    let mut out = Vec::with_capacity(events.len());
    if super::is_sqlite(conn) {
        // Ids chosen inside the write transaction (see `sqlite_next_id`): no RETURNING rows.
        // They keep increasing in commit order, which SSE replay and tailers rely on.
        let mut next_id = super::sqlite_next_id(conn, "events").await?;
        for chunk in events.chunks(super::MAX_ROWS_PER_STATEMENT) {
            let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 6);
            let sql = format!("INSERT INTO events (id, tenant_id, kind, audience, data, created_at) VALUES {values}");
            let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
            for e in chunk {
                q = q.bind(next_id).bind(e.tenant_id.0).bind(e.kind).bind(e.audience).bind(e.data).bind(now);
                out.push(EventId(next_id));
                next_id += 1;
            }
            q.execute(&mut *conn).await?;
        }
        return Ok(out);
    }
    for chunk in events.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 5);
        let sql =
            format!("INSERT INTO events (tenant_id, kind, audience, data, created_at) VALUES {values} RETURNING id");
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for e in chunk {
            q = q.bind(e.tenant_id.0).bind(e.kind).bind(e.audience).bind(e.data).bind(now);
        }
        let mut ids = q.fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect::<Result<Vec<i64>, _>>()?;
        // Ids are drawn in VALUES order on both engines; sorting makes the pairing independent
        // of the order RETURNING happens to use.
        ids.sort_unstable();
        if ids.len() != chunk.len() {
            return Err(sqlx::Error::Protocol(format!("{} events inserted, {} returned", chunk.len(), ids.len())));
        }
        out.extend(ids.into_iter().map(EventId));
    }
    Ok(out)
}

/// PostgreSQL only: queue several notifications (see [`notify`]) in one statement.
pub async fn notify_many(conn: &mut AnyConnection, payloads: &[String]) -> Result<(), sqlx::Error> {
    for chunk in payloads.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut sql = String::from("SELECT ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("pg_notify($1, ${})", i + 2));
        }
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(NOTIFY_CHANNEL);
        for p in chunk {
            q = q.bind(p.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// PostgreSQL only: queue a notification that is delivered to every listener when the
/// transaction commits (and dropped if it rolls back).
pub async fn notify<'e>(ex: impl Executor<'e, Database = Any>, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(NOTIFY_CHANNEL).bind(payload).execute(ex).await?;
    Ok(())
}

/// Events of a tenant after `after` (exclusive), oldest first, for `Last-Event-ID` resume.
pub async fn after<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    after: EventId,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, kind, audience, data, created_at FROM events
         WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(after.0)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                id: EventId(r.try_get("id")?),
                tenant_id: TenantId(r.try_get("tenant_id")?),
                kind: r.try_get("kind")?,
                audience: r.try_get("audience")?,
                data: r.try_get("data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn purge<'e>(ex: impl Executor<'e, Database = Any>, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM events WHERE created_at < $1").bind(before).execute(ex).await?.rows_affected())
}
