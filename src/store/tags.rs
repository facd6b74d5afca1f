//! Tags of a tenant and their use on tickets and contacts.

use sqlx::{Any, Executor, Row};

use crate::domain::contacts::tag_key;
use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub colour: String,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    name: &str,
    colour: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO tags (tenant_id, name, colour, created_at, name_key) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(name)
    .bind(colour)
    .bind(now)
    .bind(tag_key(name))
    .fetch_one(ex)
    .await?
    .try_get(0)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Tag>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, colour FROM tags WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    row.map(|r| Ok(Tag { id: r.try_get(0)?, name: r.try_get(1)?, colour: r.try_get(2)? })).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Tag>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name, colour FROM tags WHERE tenant_id = $1 ORDER BY name, id")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| Ok(Tag { id: r.try_get(0)?, name: r.try_get(1)?, colour: r.try_get(2)? })).collect()
}

/// Deletes a tag and its uses.
pub async fn delete(tx: &mut super::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM ticket_tags WHERE tenant_id = $1 AND tag_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM contact_tags WHERE tenant_id = $1 AND tag_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM tags WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What a tag is put on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Ticket(i64),
    Contact(i64),
}

impl Target {
    fn table(self) -> (&'static str, &'static str, i64) {
        match self {
            Target::Ticket(id) => ("ticket_tags", "ticket_id", id),
            Target::Contact(id) => ("contact_tags", "contact_id", id),
        }
    }
}

/// Puts a tag on a ticket or contact; false when it was there already.
pub async fn attach<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    target: Target,
    tag_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (table, column, id) = target.table();
    let sql = format!(
        "INSERT INTO {table} (tenant_id, {column}, tag_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
    );
    let done = sqlx::query(&sql).bind(tenant.0).bind(id).bind(tag_id).bind(now).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn detach<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    target: Target,
    tag_id: i64,
) -> Result<bool, sqlx::Error> {
    let (table, column, id) = target.table();
    let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2 AND tag_id = $3");
    let done = sqlx::query(&sql).bind(tenant.0).bind(id).bind(tag_id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// Tags on a ticket or contact, by name.
pub async fn of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    target: Target,
) -> Result<Vec<Tag>, sqlx::Error> {
    let (table, column, id) = target.table();
    let sql = format!(
        "SELECT g.id, g.name, g.colour FROM {table} x JOIN tags g ON g.tenant_id = x.tenant_id AND g.id = x.tag_id
         WHERE x.tenant_id = $1 AND x.{column} = $2 ORDER BY g.name, g.id"
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(id).fetch_all(ex).await?;
    rows.iter().map(|r| Ok(Tag { id: r.try_get(0)?, name: r.try_get(1)?, colour: r.try_get(2)? })).collect()
}

/// Renames or recolours a tag; false when it does not exist.
pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    name: &str,
    colour: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tags SET name = $1, colour = $2, name_key = $5 WHERE tenant_id = $3 AND id = $4")
        .bind(name)
        .bind(colour)
        .bind(tenant.0)
        .bind(id)
        .bind(tag_key(name))
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Fills the folded key of every tag (migration 16) and merges tags whose names differ only in
/// case or accents into the oldest one: its tickets and contacts gain the others' uses, then
/// the others are deleted. Returns how many were merged away.
pub async fn fill_keys(conn: &mut sqlx::AnyConnection) -> Result<u64, sqlx::Error> {
    // From scratch, so a run over keys already filled (a re-run) never meets its own rows.
    sqlx::query("UPDATE tags SET name_key = NULL").execute(&mut *conn).await?;
    let rows = sqlx::query("SELECT id, tenant_id, name FROM tags ORDER BY tenant_id, id").fetch_all(&mut *conn).await?;
    let mut survivors: std::collections::HashMap<(i64, String), i64> = std::collections::HashMap::new();
    let mut merged = 0;
    for r in &rows {
        let (id, tenant, name): (i64, i64, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let key = tag_key(&name);
        match survivors.get(&(tenant, key.clone())) {
            None => {
                sqlx::query("UPDATE tags SET name_key = $1 WHERE id = $2")
                    .bind(&key)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                survivors.insert((tenant, key), id);
            }
            Some(&keep) => {
                for (table, owner) in [("ticket_tags", "ticket_id"), ("contact_tags", "contact_id")] {
                    let sql = format!(
                        "UPDATE {table} SET tag_id = $1 WHERE tag_id = $2 AND NOT EXISTS
                         (SELECT 1 FROM {table} x WHERE x.tenant_id = {table}.tenant_id AND x.{owner} = {table}.{owner}
                          AND x.tag_id = $1)"
                    );
                    sqlx::query(&sql).bind(keep).bind(id).execute(&mut *conn).await?;
                    let sql = format!("DELETE FROM {table} WHERE tag_id = $1");
                    sqlx::query(&sql).bind(id).execute(&mut *conn).await?;
                }
                sqlx::query("DELETE FROM tags WHERE id = $1").bind(id).execute(&mut *conn).await?;
                merged += 1;
            }
        }
    }
    Ok(merged)
}
