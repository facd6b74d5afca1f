//! The inbound writer's upserts: contacts found by phone key and written many at a time.

#[allow(unused_imports)]
use super::*;

/// A contact found or created by [`upsert_many`].
#[derive(Debug, Clone)]
pub struct UpsertedContact {
    pub tenant_id: TenantId,
    pub phone_key: String,
    pub id: i64,
    /// Created by this statement (its `created_at` is `now`).
    pub created: bool,
}

/// What the ingest writer needs to know of an existing contact.
#[derive(Debug, Clone)]
pub struct KnownContact {
    pub id: i64,
    pub phone_key: String,
    pub name: String,
    pub phone: String,
    pub wa_id: Option<String>,
    pub username: Option<String>,
}

/// The contacts of a tenant with these phone keys (one read; rows in no particular order).
pub async fn find_by_phone_keys(
    conn: &mut AnyConnection,
    tenant: TenantId,
    phone_keys: &[&str],
) -> Result<Vec<KnownContact>, sqlx::Error> {
    let mut out = Vec::with_capacity(phone_keys.len());
    for chunk in phone_keys.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let mut ph = crate::store::Placeholders::for_connection(conn);
        let (mut tenant_param, mut list) = (String::new(), String::with_capacity(chunk.len() * 6));
        ph.push(&mut tenant_param, 1);
        ph.push(&mut list, chunk.len());
        let sql = format!(
            "SELECT id, phone_key, name, phone, wa_id, username FROM contacts WHERE tenant_id = {tenant_param} AND phone_key IN ({list})"
        );
        let mut q = sqlx::query(&sql).persistent(crate::store::keep_prepared(chunk.len())).bind(tenant.0);
        for k in chunk {
            q = q.bind(*k);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(KnownContact {
                id: row.try_get("id")?,
                phone_key: row.try_get("phone_key")?,
                name: row.try_get("name")?,
                phone: row.try_get("phone")?,
                wa_id: row.try_get("wa_id")?,
                username: row.try_get("username")?,
            });
        }
    }
    Ok(out)
}

/// Whether [`upsert_many`] of `upsert` would change this existing contact: it fills a missing
/// name (or one that is just the phone) and sets the WhatsApp id and username it was given,
/// nothing else.
pub fn upsert_would_change(known: &KnownContact, upsert: &ContactUpsert<'_>) -> bool {
    let name = upsert.display_name();
    let wa_id = upsert.wa_id;
    let name_fills = (known.name.is_empty() || known.name == known.phone) && name != known.name;
    // The newest WhatsApp id wins (a Brazilian number may arrive with or without its 9th digit).
    let wa_id_fills = wa_id.is_some() && known.wa_id.as_deref() != wa_id;
    let username_changes = upsert.username.is_some() && known.username.as_deref() != upsert.username;
    name_fills || wa_id_fills || username_changes
}

/// [`upsert_by_phone`] for many contacts in few statements. Phone keys must be distinct per
/// tenant (PostgreSQL refuses to update one row twice in a statement). Rows come back in no
/// particular order: match them by tenant and phone key.
pub async fn upsert_many(
    conn: &mut AnyConnection,
    contacts: &[ContactUpsert<'_>],
    now: i64,
) -> Result<Vec<UpsertedContact>, sqlx::Error> {
    let mut out = Vec::with_capacity(contacts.len());
    for chunk in contacts.chunks(crate::store::MAX_ROWS_PER_STATEMENT) {
        let values = crate::store::Placeholders::for_connection(conn).rows(chunk.len(), 8);
        let sql = format!(
            "INSERT INTO contacts (tenant_id, name, phone, phone_key, wa_id, username, created_at, updated_at)
             VALUES {values}
             ON CONFLICT (tenant_id, phone_key) DO UPDATE SET
                 name = CASE WHEN contacts.name = '' OR contacts.name = contacts.phone THEN excluded.name ELSE contacts.name END,
                 wa_id = COALESCE(excluded.wa_id, contacts.wa_id),
                 username = COALESCE(excluded.username, contacts.username),
                 updated_at = excluded.updated_at
             RETURNING id, tenant_id, phone_key, created_at"
        );
        let mut q = sqlx::query(&sql).persistent(crate::store::keep_prepared(chunk.len()));
        for c in chunk {
            q = q
                .bind(c.tenant_id.0)
                .bind(c.display_name())
                .bind(c.phone)
                .bind(c.phone_key)
                .bind(c.wa_id)
                .bind(c.username)
                .bind(now)
                .bind(now);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let created_at: i64 = row.try_get("created_at")?;
            out.push(UpsertedContact {
                tenant_id: TenantId(row.try_get("tenant_id")?),
                phone_key: row.try_get("phone_key")?,
                id: row.try_get("id")?,
                created: created_at == now,
            });
        }
    }
    Ok(out)
}
