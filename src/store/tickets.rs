//! Tickets: one episode of service with a contact on a connection, its lifecycle columns
//! (status, department, assignee, protocol, report timestamps, CSAT) and daily protocol
//! sequences. Who may see which ticket is `store::inbox`.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor, Row};

use super::Backend;
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

/// A ticket opened outside the inbound batch (a send to a phone number).
pub struct TicketInsert<'a> {
    pub tenant_id: TenantId,
    pub contact_id: i64,
    pub connection_id: i64,
    pub status: &'a str,
    pub protocol: &'a str,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    t: TicketInsert<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO tickets (tenant_id, contact_id, connection_id, status, unread_count, last_message_at, created_at,
             protocol, department_id, assignee_id, queued_at)
         VALUES ($1, $2, $3, $4, 0, $5, $5, $6, $7, $8, CASE WHEN $4 = 'waiting' THEN $5 ELSE NULL END) RETURNING id",
    )
    .bind(t.tenant_id.0)
    .bind(t.contact_id)
    .bind(t.connection_id)
    .bind(t.status)
    .bind(now)
    .bind(t.protocol)
    .bind(t.department_id)
    .bind(t.assignee_id)
    .fetch_one(ex)
    .await?;
    row.try_get(0)
}

/// Reserves `count` protocol numbers of `day` for a tenant; returns the first sequence number
/// (the range is `first..first + count`). The upsert takes the row's lock, so concurrent
/// transactions on PostgreSQL queue on it and never draw the same number; on SQLite the single
/// writer serialises them anyway.
pub async fn allocate_protocols<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    day: i64,
    count: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO ticket_sequences (tenant_id, day, last) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, day) DO UPDATE SET last = ticket_sequences.last + excluded.last
         RETURNING last",
    )
    .bind(tenant.0)
    .bind(day)
    .bind(count)
    .fetch_one(ex)
    .await?;
    let last: i64 = row.try_get(0)?;
    Ok(last - count + 1)
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
    pub protocol: Option<String>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub priority: String,
    pub unread_count: i64,
    pub last_message_at: i64,
    pub last_message_preview: Option<String>,
    pub last_inbound_at: Option<i64>,
    pub created_at: i64,
    pub queued_at: Option<i64>,
    pub first_agent_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub csat_requested_at: Option<i64>,
    pub csat_rating: Option<i64>,
    pub reopened_count: i64,
}

const COLUMNS: &str =
    "id, tenant_id, contact_id, connection_id, status, protocol, department_id, assignee_id, priority, \
    unread_count, last_message_at, last_message_preview, last_inbound_at, created_at, queued_at, first_agent_reply_at, \
    closed_at, csat_requested_at, csat_rating, reopened_count";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Ticket, sqlx::Error> {
    Ok(Ticket {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        contact_id: r.try_get("contact_id")?,
        connection_id: r.try_get("connection_id")?,
        status: r.try_get("status")?,
        protocol: r.try_get("protocol")?,
        department_id: r.try_get("department_id")?,
        assignee_id: r.try_get("assignee_id")?,
        priority: r.try_get("priority")?,
        unread_count: r.try_get("unread_count")?,
        last_message_at: r.try_get("last_message_at")?,
        last_message_preview: r.try_get("last_message_preview")?,
        last_inbound_at: r.try_get("last_inbound_at")?,
        created_at: r.try_get("created_at")?,
        queued_at: r.try_get("queued_at")?,
        first_agent_reply_at: r.try_get("first_agent_reply_at")?,
        closed_at: r.try_get("closed_at")?,
        csat_requested_at: r.try_get("csat_requested_at")?,
        csat_rating: r.try_get("csat_rating")?,
        reopened_count: r.try_get("reopened_count")?,
    })
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Ticket>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// [`get`] inside a write transaction, holding the row until commit on PostgreSQL (SQLite's
/// single writer already serialises write transactions).
pub async fn get_for_update(
    tx: &mut super::Tx,
    backend: Backend,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Ticket>, sqlx::Error> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND id = $2{lock}");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(&mut **tx).await?.as_ref().map(from_row).transpose()
}

/// Writes a ticket's lifecycle columns as given (status, department, assignee, priority, queue,
/// close and CSAT times, reopen count). Callers read the row with [`get_for_update`] first.
pub async fn save_state<'e>(ex: impl Executor<'e, Database = Any>, t: &Ticket) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET status = $1, department_id = $2, assignee_id = $3, priority = $4, queued_at = $5,
             closed_at = $6, csat_requested_at = $7, csat_rating = $8, reopened_count = $9, unread_count = $10
         WHERE tenant_id = $11 AND id = $12",
    )
    .bind(&t.status)
    .bind(t.department_id)
    .bind(t.assignee_id)
    .bind(&t.priority)
    .bind(t.queued_at)
    .bind(t.closed_at)
    .bind(t.csat_requested_at)
    .bind(t.csat_rating)
    .bind(t.reopened_count)
    .bind(t.unread_count)
    .bind(t.tenant_id.0)
    .bind(t.id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Tickets of a contact, newest first (the contact page).
pub async fn list_for_contact<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    limit: i64,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT $3");
    sqlx::query(&sql).bind(tenant.0).bind(contact_id).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// After an outbound message: bump the ticket's activity and preview; the first message of a
/// person also sets `first_agent_reply_at`.
pub async fn record_outbound<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    preview: &str,
    by_agent: bool,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET last_message_at = CASE WHEN last_message_at < $1 THEN $1 ELSE last_message_at END,
             last_message_preview = $4,
             first_agent_reply_at = CASE WHEN $5 = 1 AND first_agent_reply_at IS NULL THEN $1 ELSE first_agent_reply_at END
         WHERE tenant_id = $2 AND id = $3",
    )
    .bind(at)
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(preview)
    .bind(by_agent as i64)
    .execute(ex)
    .await?;
    Ok(())
}

/// `SELECT {columns} FROM tickets` of these contacts of a tenant that match `condition`, in
/// chunks that stay under the engines' parameter limits.
async fn select_for_contacts(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_ids: &[i64],
    columns: &str,
    condition: &str,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for chunk in contact_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut ph = super::Placeholders::for_connection(conn);
        let (mut tenant_param, mut list) = (String::new(), String::with_capacity(chunk.len() * 6));
        ph.push(&mut tenant_param, 1);
        ph.push(&mut list, chunk.len());
        // SQLite keeps no statistics here, so for `status = 'closed'` its planner would walk the
        // (tenant, status, …) inbox index through every closed ticket of the tenant (25 ms per
        // webhook with 100,000 tickets) rather than look up the few contacts.
        let index = if super::is_sqlite(conn) { "INDEXED BY tickets_contact" } else { "" };
        let sql = format!(
            "SELECT {columns} FROM tickets {index} WHERE tenant_id = {tenant_param} AND contact_id IN ({list}) AND {condition}"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// [`find_current`] for many contacts of a tenant: the current ticket of each
/// (contact, connection) pair that has one.
pub async fn find_current_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_ids: &[i64],
) -> Result<HashMap<(i64, i64), i64>, sqlx::Error> {
    let mut out: HashMap<(i64, i64), i64> = HashMap::new();
    for row in
        select_for_contacts(conn, tenant, contact_ids, "id, contact_id, connection_id", "status <> 'closed'").await?
    {
        let id: i64 = row.try_get(0)?;
        let current = out.entry((row.try_get(1)?, row.try_get(2)?)).or_insert(id);
        // The newest open ticket is the current one (as `ORDER BY id DESC LIMIT 1`).
        *current = (*current).max(id);
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

/// Opens `waiting` tickets (queued now, each with its protocol and department); returns each
/// with its id, in no particular order. At most one ticket per (tenant, contact, connection) is
/// expected.
pub async fn insert_many(
    conn: &mut AnyConnection,
    tickets: &[(NewTicket, String, Option<i64>)],
    now: i64,
) -> Result<Vec<(NewTicket, i64)>, sqlx::Error> {
    let mut out = Vec::with_capacity(tickets.len());
    for chunk in tickets.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 10);
        let sql = format!(
            "INSERT INTO tickets (tenant_id, contact_id, connection_id, status, unread_count, last_message_at, created_at,
                 protocol, department_id, queued_at)
             VALUES {values} RETURNING id, tenant_id, contact_id, connection_id"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for (t, protocol, department) in chunk {
            q = q
                .bind(t.tenant_id.0)
                .bind(t.contact_id)
                .bind(t.connection_id)
                .bind("waiting")
                .bind(0_i64)
                .bind(now)
                .bind(now)
                .bind(protocol.as_str())
                .bind(*department)
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

/// The newest closed ticket of a (contact, connection) pair, for reopening and CSAT answers.
#[derive(Debug, Clone, Copy)]
pub struct ClosedTicket {
    pub id: i64,
    pub closed_at: i64,
    pub csat_requested_at: Option<i64>,
    pub csat_rating: Option<i64>,
    pub department_id: Option<i64>,
}

/// For each (contact, connection) pair of these contacts, its newest closed ticket.
pub async fn latest_closed_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_ids: &[i64],
) -> Result<HashMap<(i64, i64), ClosedTicket>, sqlx::Error> {
    let mut out: HashMap<(i64, i64), ClosedTicket> = HashMap::new();
    let columns = "id, contact_id, connection_id, closed_at, csat_requested_at, csat_rating, department_id";
    for row in select_for_contacts(conn, tenant, contact_ids, columns, "status = 'closed'").await? {
        let t = ClosedTicket {
            id: row.try_get(0)?,
            closed_at: row.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
            csat_requested_at: row.try_get(4)?,
            csat_rating: row.try_get(5)?,
            department_id: row.try_get(6)?,
        };
        let key = (row.try_get(1)?, row.try_get(2)?);
        let entry = out.entry(key).or_insert(t);
        if t.id > entry.id {
            *entry = t;
        }
    }
    Ok(out)
}

/// The customer wrote again within the reopen window: the closed ticket queues again.
pub async fn reopen_waiting<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET status = 'waiting', assignee_id = NULL, closed_at = NULL, queued_at = $1,
             reopened_count = reopened_count + 1, csat_requested_at = NULL
         WHERE tenant_id = $2 AND id = $3 AND status = 'closed'",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a CSAT answer once (the first valid answer wins).
pub async fn set_csat_rating<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    rating: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET csat_rating = $1
         WHERE tenant_id = $2 AND id = $3 AND csat_requested_at IS NOT NULL AND csat_rating IS NULL",
    )
    .bind(rating)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open tickets an agent attends now (least-busy distribution).
pub async fn open_count_for<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND assignee_id = $2 AND status = 'open'")
        .bind(tenant.0)
        .bind(user_id)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

/// Inbound activity of one ticket, for [`record_inbound_many`].
#[derive(Debug, Clone)]
pub struct InboundActivity {
    pub tenant_id: TenantId,
    pub ticket_id: i64,
    pub new_messages: i64,
    pub last_at: i64,
    /// Preview of the newest message.
    pub preview: String,
}

/// Records inbound activity of many tickets (each at most once) in few statements: unread
/// count (never on a closed ticket: nobody is to read it), last activity, last inbound time (the
/// 24-hour window) and the list preview.
pub async fn record_inbound_many(conn: &mut AnyConnection, activity: &[InboundActivity]) -> Result<(), sqlx::Error> {
    for chunk in activity.chunks(super::MAX_ROWS_PER_STATEMENT) {
        // VALUES columns are named column1… on both engines.
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 5);
        let sql = format!(
            "UPDATE tickets SET unread_count = CASE WHEN tickets.status = 'closed' THEN 0
                     ELSE tickets.unread_count + v.column3 END,
                 last_message_at = CASE WHEN tickets.last_message_at < v.column4 THEN v.column4 ELSE tickets.last_message_at END,
                 last_message_preview = v.column5,
                 last_inbound_at = CASE WHEN tickets.last_inbound_at IS NULL OR tickets.last_inbound_at < v.column4
                     THEN v.column4 ELSE tickets.last_inbound_at END
             FROM (VALUES {values}) AS v
             WHERE tickets.tenant_id = v.column1 AND tickets.id = v.column2"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for a in chunk {
            q = q.bind(a.tenant_id.0).bind(a.ticket_id).bind(a.new_messages).bind(a.last_at).bind(a.preview.as_str());
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

/// Distribution: gives a still-waiting ticket to an agent.
pub async fn assign_if_waiting<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET status = 'open', assignee_id = $1 WHERE tenant_id = $2 AND id = $3 AND status = 'waiting'",
    )
    .bind(user_id)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the visibility rule needs of a ticket: status, department and assignee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    pub status: String,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
}

fn visibility_from_row(r: &sqlx::any::AnyRow) -> Result<Visibility, sqlx::Error> {
    Ok(Visibility {
        status: r.try_get("status")?,
        department_id: r.try_get("department_id")?,
        assignee_id: r.try_get("assignee_id")?,
    })
}

/// [`Visibility`] of one ticket (live-event streams filter agents' events by it).
pub async fn visibility<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Visibility>, sqlx::Error> {
    sqlx::query("SELECT status, department_id, assignee_id FROM tickets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(visibility_from_row)
        .transpose()
}

/// The newest `limit` tickets in progress that an agent may see — their own, and the waiting
/// ones of their departments or of none (`store::inbox`'s rule) — with their [`Visibility`].
pub async fn visible_to_agent<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user_id: i64,
    limit: i64,
) -> Result<Vec<(i64, Visibility)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.id, t.status, t.department_id, t.assignee_id FROM tickets t
         WHERE t.tenant_id = $1 AND t.status <> 'closed' AND (t.assignee_id = $2 OR (t.status = 'waiting'
           AND (t.department_id IS NULL OR t.department_id IN
             (SELECT dm.department_id FROM department_members dm WHERE dm.tenant_id = $1 AND dm.user_id = $2))))
         ORDER BY t.id DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(user_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, visibility_from_row(r)?))).collect()
}
