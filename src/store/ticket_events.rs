//! A ticket's history: created, captured, assigned, transferred (from/to department and agent,
//! with the note), closed, reopened, CSAT answered. Kept for good; the UI shows it in order.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TicketEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub actor_user_id: Option<i64>,
    pub from_department_id: Option<i64>,
    pub to_department_id: Option<i64>,
    pub from_user_id: Option<i64>,
    pub to_user_id: Option<i64>,
    pub note: Option<String>,
    /// JSON object with anything else (e.g. `{"auto": true}`, `{"rating": 5}`).
    pub data: String,
    pub created_at: i64,
}

/// Records an event; `id` and `created_at` of `e` are ignored (`now` is used).
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    e: &TicketEvent,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let data = if e.data.is_empty() { "{}" } else { e.data.as_str() };
    sqlx::query(
        "INSERT INTO ticket_events (tenant_id, ticket_id, kind, actor_user_id, from_department_id, to_department_id,
             from_user_id, to_user_id, note, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant.0)
    .bind(e.ticket_id)
    .bind(e.kind.as_str())
    .bind(e.actor_user_id)
    .bind(e.from_department_id)
    .bind(e.to_department_id)
    .bind(e.from_user_id)
    .bind(e.to_user_id)
    .bind(e.note.as_deref())
    .bind(data)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// A ticket's history, oldest first.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Vec<TicketEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, kind, actor_user_id, from_department_id, to_department_id, from_user_id, to_user_id, note,
             data, created_at
         FROM ticket_events WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TicketEvent {
                id: r.try_get("id")?,
                ticket_id: r.try_get("ticket_id")?,
                kind: r.try_get("kind")?,
                actor_user_id: r.try_get("actor_user_id")?,
                from_department_id: r.try_get("from_department_id")?,
                to_department_id: r.try_get("to_department_id")?,
                from_user_id: r.try_get("from_user_id")?,
                to_user_id: r.try_get("to_user_id")?,
                note: r.try_get("note")?,
                data: r.try_get("data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// `created` events of tickets the inbound batch opened: (tenant, ticket, department, whether
/// it starts in the chatbot — `data` `{"bot": true}`, which reports read as "people's clock not
/// started yet").
pub async fn insert_created_many(
    conn: &mut sqlx::AnyConnection,
    tickets: &[(TenantId, i64, Option<i64>, bool)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in tickets.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 6);
        let sql = format!(
            "INSERT INTO ticket_events (tenant_id, ticket_id, kind, to_department_id, data, created_at) VALUES {values}"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for (tenant, ticket, department, bot) in chunk {
            let data = if *bot { r#"{"bot":true}"# } else { "{}" };
            q = q.bind(tenant.0).bind(*ticket).bind("created").bind(*department).bind(data).bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
