//! Chatbots: a company's named flows, each with versions (rows of `flows`; the newest is the
//! chatbot's `flow_id`), and the chatbot a connection's new tickets start in.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// A chatbot: its name and current version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chatbot {
    pub id: i64,
    pub name: String,
    /// The version new tickets start on; `None` before the first save.
    pub flow_id: Option<i64>,
    pub updated_at: i64,
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Chatbot>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name, flow_id, updated_at FROM chatbots WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Chatbot { id: r.try_get(0)?, name: r.try_get(1)?, flow_id: r.try_get(2)?, updated_at: r.try_get(3)? })
        })
        .collect()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Chatbot>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, flow_id, updated_at FROM chatbots WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        Ok(Chatbot { id: r.try_get(0)?, name: r.try_get(1)?, flow_id: r.try_get(2)?, updated_at: r.try_get(3)? })
    })
    .transpose()
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    name: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO chatbots (tenant_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
        .bind(tenant.0)
        .bind(name)
        .bind(now)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

pub async fn rename<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    name: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE chatbots SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(name)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a chatbot; its versions stay for the tickets still running on them.
pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM chatbots WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves a new version of a chatbot's flow and makes it current; returns the version's id.
pub async fn insert_version(
    tx: &mut super::Tx,
    tenant: TenantId,
    chatbot: i64,
    definition: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO flows (tenant_id, chatbot_id, definition, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(tenant.0)
    .bind(chatbot)
    .bind(definition)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    sqlx::query("UPDATE chatbots SET flow_id = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(id)
        .bind(now)
        .bind(tenant.0)
        .bind(chatbot)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// A flow version's definition (JSON).
pub async fn version<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT definition FROM flows WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The chatbot a connection names for its new tickets: `None` the company's default, `Some(0)`
/// none.
pub async fn of_connection<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT chatbot_id FROM connections WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(connection)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten())
}

/// Every connection's choice (`(connection, chatbot)`; connections on the default left out).
pub async fn connection_choices<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, chatbot_id FROM connections WHERE tenant_id = $1 AND chatbot_id IS NOT NULL AND removed_at IS NULL",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn set_for_connection<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection: i64,
    chatbot: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE connections SET chatbot_id = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(chatbot)
        .bind(tenant.0)
        .bind(connection)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
