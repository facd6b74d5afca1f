//! Contact identities: the addresses that name a contact on a channel (phone in E.164,
//! WhatsApp id, WhatsApp business-scoped user id, e-mail), each unique per tenant and kind.

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::contacts::IdentityKind;
use crate::domain::TenantId;

/// A stored identity with what the inbound writer needs of its contact.
#[derive(Debug, Clone)]
pub struct IdentityMatch {
    pub value: String,
    pub contact_id: i64,
    /// The contact's phone key ([`super::contacts::user_key`] when it has no phone).
    pub phone_key: String,
    /// The contact's WhatsApp username and WhatsApp id.
    pub username: Option<String>,
    pub wa_id: Option<String>,
}

/// The identities of one kind among `values` in a tenant, with their contacts (one read per
/// 500 values; rows in no particular order).
pub async fn find_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    kind: IdentityKind,
    values: &[&str],
) -> Result<Vec<IdentityMatch>, sqlx::Error> {
    let mut out = Vec::with_capacity(values.len());
    for chunk in values.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut p = super::Placeholders::for_connection(conn);
        let mut sql = String::from(
            "SELECT i.value, i.contact_id, c.phone_key, c.username, c.wa_id FROM contact_identities i
             JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
             WHERE i.tenant_id = ",
        );
        p.push(&mut sql, 1);
        sql.push_str(" AND i.kind = ");
        p.push(&mut sql, 1);
        sql.push_str(" AND i.value IN (");
        p.push(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0).bind(kind.as_str());
        for v in chunk {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(IdentityMatch {
                value: r.try_get("value")?,
                contact_id: r.try_get("contact_id")?,
                phone_key: r.try_get("phone_key")?,
                username: r.try_get("username")?,
                wa_id: r.try_get("wa_id")?,
            });
        }
    }
    Ok(out)
}

/// A new identity of a contact.
#[derive(Debug, Clone, Copy)]
pub struct NewIdentity<'a> {
    pub tenant_id: TenantId,
    pub contact_id: i64,
    pub kind: IdentityKind,
    pub value: &'a str,
}

/// Adds identities; one another contact (or this one) already has is left where it is.
pub async fn insert_many(conn: &mut AnyConnection, rows: &[NewIdentity<'_>], now: i64) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 5);
        let sql = format!(
            "INSERT INTO contact_identities (tenant_id, contact_id, kind, value, created_at) VALUES {values}
             ON CONFLICT (tenant_id, kind, value) DO NOTHING"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for r in chunk {
            q = q.bind(r.tenant_id.0).bind(r.contact_id).bind(r.kind.as_str()).bind(r.value).bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Gives contacts that have a phone (and a WhatsApp id) the matching identities, for paths
/// that write contacts by phone (CRM create and import, sends to a new number).
pub async fn sync_phone_identities(
    conn: &mut AnyConnection,
    tenant: TenantId,
    contact_ids: &[i64],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in contact_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        for (kind, value, present) in [
            (IdentityKind::Phone, "'+' || phone", "phone <> ''"),
            (IdentityKind::WhatsApp, "wa_id", "wa_id IS NOT NULL AND wa_id <> ''"),
        ] {
            let mut p = super::Placeholders::for_connection(conn);
            let mut sql = String::from("INSERT INTO contact_identities (tenant_id, contact_id, kind, value, created_at) SELECT tenant_id, id, ");
            p.push(&mut sql, 1);
            sql.push_str(&format!(", {value}, "));
            p.push(&mut sql, 1);
            sql.push_str(&format!(" FROM contacts WHERE {present} AND tenant_id = "));
            p.push(&mut sql, 1);
            sql.push_str(" AND id IN (");
            p.push(&mut sql, chunk.len());
            sql.push_str(") ON CONFLICT (tenant_id, kind, value) DO NOTHING");
            let mut q = sqlx::query(&sql).bind(kind.as_str()).bind(now).bind(tenant.0);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// A contact's identity of one kind (the oldest, when it has several).
pub async fn value_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    kind: IdentityKind,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT value FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2 AND kind = $3 ORDER BY id LIMIT 1",
    )
    .bind(tenant.0)
    .bind(contact_id)
    .bind(kind.as_str())
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Every identity of a contact as `(kind, value)`, oldest first.
pub async fn of_contact<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT kind, value FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id")
            .bind(tenant.0)
            .bind(contact_id)
            .fetch_all(ex)
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}
