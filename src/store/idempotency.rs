//! `Idempotency-Key` records of the REST API: claimed before a request runs, completed with its
//! response, replayed to repeats. The unique `(tenant, token, key)` decides who runs a request
//! when two instances receive it at once.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// What a key already holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub request_hash: String,
    /// `running` or `done`.
    pub state: String,
    pub response_status: Option<i64>,
    pub response_type: Option<String>,
    pub response_body: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Claims a key for a request (state `running`); false when the key exists.
#[allow(clippy::too_many_arguments)]
pub async fn claim<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    token_id: i64,
    key: &str,
    request_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO api_idempotency (tenant_id, token_id, idem_key, request_hash, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, 'running', $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(token_id)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    token_id: i64,
    key: &str,
) -> Result<Option<Record>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash, state, response_status, response_type, response_body, created_at, expires_at
         FROM api_idempotency WHERE tenant_id = $1 AND token_id = $2 AND idem_key = $3",
    )
    .bind(tenant.0)
    .bind(token_id)
    .bind(key)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(Record {
            request_hash: r.try_get(0)?,
            state: r.try_get(1)?,
            response_status: r.try_get(2)?,
            response_type: r.try_get(3)?,
            response_body: r.try_get(4)?,
            created_at: r.try_get(5)?,
            expires_at: r.try_get(6)?,
        })
    })
    .transpose()
}

/// Stores the response of a claimed key.
pub async fn complete<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    token_id: i64,
    key: &str,
    status: i64,
    content_type: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_idempotency SET state = 'done', response_status = $1, response_type = $2, response_body = $3
         WHERE tenant_id = $4 AND token_id = $5 AND idem_key = $6",
    )
    .bind(status)
    .bind(content_type)
    .bind(body)
    .bind(tenant.0)
    .bind(token_id)
    .bind(key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Forgets a key: after a failure worth retrying, or when it expired. `created_at` guards
/// against removing a newer claim made meanwhile by another request.
pub async fn release<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    token_id: i64,
    key: &str,
    created_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM api_idempotency WHERE tenant_id = $1 AND token_id = $2 AND idem_key = $3 AND created_at = $4",
    )
    .bind(tenant.0)
    .bind(token_id)
    .bind(key)
    .bind(created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes expired keys of every tenant (maintenance).
pub async fn purge_expired<'e>(ex: impl Executor<'e, Database = Any>, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM api_idempotency WHERE expires_at <= $1").bind(now).execute(ex).await?.rows_affected())
}
