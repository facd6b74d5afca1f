//! A connection's message templates as last synced from Graph, with the company's mapping of
//! their parameters.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::templates::GraphTemplate;
use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Template {
    pub id: i64,
    pub connection_id: i64,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub provider_id: String,
    /// Graph's `components` array (JSON text).
    pub components: String,
    /// `domain::templates::Mapping` as JSON.
    pub mapping: String,
    /// Still listed by the last sync.
    pub listed: bool,
    pub synced_at: i64,
}

const COLUMNS: &str =
    "id, connection_id, name, language, category, status, provider_id, components, mapping, listed, synced_at";

fn from_row(r: &AnyRow) -> Result<Template, sqlx::Error> {
    Ok(Template {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        name: r.try_get("name")?,
        language: r.try_get("language")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        provider_id: r.try_get("provider_id")?,
        components: r.try_get("components")?,
        mapping: r.try_get("mapping")?,
        listed: r.try_get::<i64, _>("listed")? != 0,
        synced_at: r.try_get("synced_at")?,
    })
}

/// Writes what a sync read: new templates added, known ones updated (their mapping kept), and
/// those Graph no longer lists marked unlisted. Returns how many are listed.
pub async fn replace_synced(
    tx: &mut super::Tx,
    tenant: TenantId,
    connection_id: i64,
    templates: &[GraphTemplate],
    now: i64,
) -> Result<usize, sqlx::Error> {
    sqlx::query("UPDATE message_templates SET listed = 0 WHERE tenant_id = $1 AND connection_id = $2")
        .bind(tenant.0)
        .bind(connection_id)
        .execute(&mut **tx)
        .await?;
    for t in templates {
        sqlx::query(
            "INSERT INTO message_templates (tenant_id, connection_id, name, language, category, status, provider_id,
               components, listed, synced_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)
             ON CONFLICT (tenant_id, connection_id, name, language) DO UPDATE SET category = excluded.category,
               status = excluded.status, provider_id = excluded.provider_id, components = excluded.components,
               listed = 1, synced_at = excluded.synced_at, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(connection_id)
        .bind(&t.name)
        .bind(&t.language)
        .bind(&t.category)
        .bind(&t.status)
        .bind(&t.provider_id)
        .bind(t.components.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE connections SET templates_synced_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(now)
        .bind(tenant.0)
        .bind(connection_id)
        .execute(&mut **tx)
        .await?;
    Ok(templates.len())
}

/// The tenant's templates (listed ones first), optionally of one connection.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: Option<i64>,
) -> Result<Vec<Template>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM message_templates WHERE tenant_id = $1 AND ($2 = 0 OR connection_id = $2)
         ORDER BY listed DESC, name, language LIMIT 1000"
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(connection_id.unwrap_or(0)).fetch_all(ex).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Template>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM message_templates WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?;
    row.as_ref().map(from_row).transpose()
}

/// The template a send names on a connection.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
    name: &str,
    language: &str,
) -> Result<Option<Template>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM message_templates WHERE tenant_id = $1 AND connection_id = $2 AND name = $3 AND language = $4"
    );
    let row = sqlx::query(&sql).bind(tenant.0).bind(connection_id).bind(name).bind(language).fetch_optional(ex).await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the connection's templates were ever synced (then a send of an unknown one is refused).
pub async fn any_synced<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT templates_synced_at FROM connections WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(connection_id)
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>, _>(0)?.is_some(),
        None => false,
    })
}

pub async fn set_mapping<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    mapping: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE message_templates SET mapping = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(mapping)
            .bind(now)
            .bind(tenant.0)
            .bind(id)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Active Cloud API connections with a WABA id whose templates were last synced before
/// `before` (never synced first), for the periodic sync: `(tenant, connection id)`.
pub async fn due_for_sync<'e>(
    ex: impl Executor<'e, Database = Any>,
    before: i64,
    limit: i64,
) -> Result<Vec<(TenantId, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT tenant_id, id FROM connections WHERE kind = 'whatsapp_cloud' AND active = 1 AND removed_at IS NULL
           AND waba_id <> '' AND (templates_synced_at IS NULL OR templates_synced_at < $1)
         ORDER BY COALESCE(templates_synced_at, 0), id LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((TenantId(r.try_get(0)?), r.try_get(1)?))).collect()
}
