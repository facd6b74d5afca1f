//! Contacts' tags: the names of many contacts' tags, creating missing tags by name, and
//! attaching or replacing a contact's tags.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use crate::domain::TenantId;

/// Tag names of many contacts (for lists and exports), by contact id.
pub async fn tag_names_of_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let mut p = crate::store::Placeholders::for_connection(conn);
        let mut sql = String::from(
            "SELECT x.contact_id, g.name FROM contact_tags x JOIN tags g ON g.tenant_id = x.tenant_id AND g.id = x.tag_id WHERE x.tenant_id = ",
        );
        p.push(&mut sql, 1);
        sql.push_str(" AND x.contact_id IN (");
        p.push(&mut sql, chunk.len());
        sql.push_str(") ORDER BY g.name");
        let mut q = sqlx::query(&sql).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
    }
    Ok(out)
}

/// Ids of the tenant's tags with these names, creating the missing ones (grey), keyed by the
/// names as given: a name that differs from an existing tag only in case or accents is that
/// tag (`vip` finds `VIP`).
pub async fn ensure_tags(
    conn: &mut AnyConnection,
    tenant: TenantId,
    names: &[&str],
    now: i64,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut out = HashMap::new();
    for chunk in names.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let keys: Vec<String> = chunk.iter().map(|n| crate::domain::contacts::tag_key(n)).collect();
        let values = crate::store::Placeholders::for_connection(conn).rows(chunk.len(), 4);
        let sql = format!(
            "INSERT INTO tags (tenant_id, name, created_at, name_key) VALUES {values}
             ON CONFLICT (tenant_id, name_key) DO NOTHING"
        );
        let mut q = sqlx::query(&sql);
        for (n, k) in chunk.iter().zip(&keys) {
            q = q.bind(tenant.0).bind(*n).bind(now).bind(k.as_str());
        }
        q.execute(&mut *conn).await?;
        let mut p = crate::store::Placeholders::for_connection(conn);
        let mut sql = String::from("SELECT id, name_key FROM tags WHERE tenant_id = ");
        p.push(&mut sql, 1);
        sql.push_str(" AND name_key IN (");
        p.push(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query(&sql).bind(tenant.0);
        for k in &keys {
            q = q.bind(k.as_str());
        }
        let mut by_key = HashMap::new();
        for r in q.fetch_all(&mut *conn).await? {
            by_key.insert(r.try_get::<String, _>(1)?, r.try_get::<i64, _>(0)?);
        }
        for (n, k) in chunk.iter().zip(&keys) {
            if let Some(&id) = by_key.get(k) {
                out.insert((*n).to_string(), id);
            }
        }
    }
    Ok(out)
}

/// Puts tags on contacts (`(contact_id, tag_id)` pairs); pairs already there are left alone.
pub async fn attach_tags_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    pairs: &[(i64, i64)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let values = crate::store::Placeholders::for_connection(conn).rows(chunk.len(), 4);
        let sql = format!(
            "INSERT INTO contact_tags (tenant_id, contact_id, tag_id, created_at) VALUES {values} ON CONFLICT DO NOTHING"
        );
        let mut q = sqlx::query(&sql);
        for (contact, tag) in chunk {
            q = q.bind(tenant.0).bind(*contact).bind(*tag).bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets a contact's tags to exactly these names (missing tags are created).
pub async fn replace_tags(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    id: i64,
    names: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM contact_tags WHERE tenant_id = $1 AND contact_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let ids = ensure_tags(tx, tenant, &refs, now).await?;
    let pairs: Vec<(i64, i64)> = ids.values().map(|&t| (id, t)).collect();
    attach_tags_many(tx, tenant, &pairs, now).await
}
