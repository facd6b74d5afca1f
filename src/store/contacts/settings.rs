//! Custom-field keys and opt-out keywords of a company's contacts.

#[allow(unused_imports)]
use super::*;

/// A tenant's known custom field.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
}

pub async fn list_fields<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<FieldDef>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT field_key, label FROM contact_fields WHERE tenant_id = $1 ORDER BY label, field_key")
            .bind(tenant.0)
            .fetch_all(ex)
            .await?;
    rows.iter().map(|r| Ok(FieldDef { key: r.try_get(0)?, label: r.try_get(1)? })).collect()
}

/// Adds a field or renames its label.
pub async fn put_field<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    key: &str,
    label: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contact_fields (tenant_id, field_key, label, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, field_key) DO UPDATE SET label = excluded.label",
    )
    .bind(tenant.0)
    .bind(key)
    .bind(label)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Forgets a field's definition (values on contacts stay).
pub async fn delete_field<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    key: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM contact_fields WHERE tenant_id = $1 AND field_key = $2")
        .bind(tenant.0)
        .bind(key)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The tenant's opt-out keyword setting as typed (the default when never set).
pub async fn opt_out_keywords<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<String, sqlx::Error> {
    let row = sqlx::query("SELECT opt_out_keywords FROM contact_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => crate::domain::contacts::DEFAULT_OPT_OUT_KEYWORDS.to_string(),
    })
}

pub async fn put_opt_out_keywords<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    keywords: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contact_settings (tenant_id, opt_out_keywords, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET opt_out_keywords = excluded.opt_out_keywords, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(keywords)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
