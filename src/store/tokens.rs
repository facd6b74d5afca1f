//! API tokens: stored as SHA-256 of the secret, listed by prefix.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::ids::TokenId;
use crate::domain::{Scope, TenantId};

#[derive(Clone, Debug, serde::Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at";

fn from_row(r: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiToken {
        id: TokenId(r.try_get("id")?),
        tenant_id: TenantId(r.try_get("tenant_id")?),
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        scopes: Scope::parse_list(&scopes).map_err(|e| sqlx::Error::Decode(e.into()))?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

pub struct NewToken<'a> {
    pub tenant_id: TenantId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a [Scope],
    pub created_by: Option<i64>,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    t: NewToken<'_>,
    now: i64,
) -> Result<TokenId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (tenant_id, name, prefix, token_hash, scopes, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.tenant_id.0)
    .bind(t.name)
    .bind(t.prefix)
    .bind(t.token_hash)
    .bind(Scope::join(t.scopes))
    .bind(t.created_by)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(TokenId(row.try_get(0)?))
}

/// The unrevoked token with this hash whose tenant is active.
pub async fn find_active<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
) -> Result<Option<ApiToken>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id
         WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND t.active = 1"
    );
    sqlx::query(&sql).bind(token_hash).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<ApiToken>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens k WHERE k.tenant_id = $1 ORDER BY k.id DESC");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: TokenId,
) -> Result<Option<ApiToken>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens k WHERE k.tenant_id = $1 AND k.id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id.0).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// Revokes a token of this tenant; false when there is none or it was already revoked.
pub async fn revoke<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: TokenId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(tenant.0)
            .bind(id.0)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch<'e>(ex: impl Executor<'e, Database = Any>, id: TokenId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(id.0).execute(ex).await?;
    Ok(())
}
