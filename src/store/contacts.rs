//! Contacts (customers), keyed per tenant by their phone's match key.

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Copy)]
pub struct ContactUpsert<'a> {
    pub tenant_id: TenantId,
    /// Normalised digits (E.164 without `+`).
    pub phone: &'a str,
    pub phone_key: &'a str,
    pub wa_id: Option<&'a str>,
    /// Profile name; an empty one never overwrites a known name.
    pub name: &'a str,
}

/// Finds or creates the contact with this phone key; returns its id and whether it is new.
pub async fn upsert_by_phone<'e>(
    ex: impl Executor<'e, Database = Any>,
    c: ContactUpsert<'_>,
    now: i64,
) -> Result<(i64, bool), sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO contacts (tenant_id, name, phone, phone_key, wa_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (tenant_id, phone_key) DO UPDATE SET
             name = CASE WHEN contacts.name = '' OR contacts.name = contacts.phone THEN excluded.name ELSE contacts.name END,
             wa_id = COALESCE(excluded.wa_id, contacts.wa_id),
             updated_at = excluded.updated_at
         RETURNING id, created_at",
    )
    .bind(c.tenant_id.0)
    .bind(if c.name.is_empty() { c.phone } else { c.name })
    .bind(c.phone)
    .bind(c.phone_key)
    .bind(c.wa_id)
    .bind(now)
    .fetch_one(ex)
    .await?;
    let created_at: i64 = row.try_get("created_at")?;
    Ok((row.try_get("id")?, created_at == now))
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Contact {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub phone: String,
    pub wa_id: Option<String>,
    pub email: Option<String>,
    pub notes: String,
    /// A JSON object of string values.
    pub custom_fields: String,
    pub created_at: i64,
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Contact>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, tenant_id, name, phone, wa_id, email, notes, custom_fields, created_at FROM contacts
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(Contact {
            id: r.try_get("id")?,
            tenant_id: TenantId(r.try_get("tenant_id")?),
            name: r.try_get("name")?,
            phone: r.try_get("phone")?,
            wa_id: r.try_get("wa_id")?,
            email: r.try_get("email")?,
            notes: r.try_get("notes")?,
            custom_fields: r.try_get("custom_fields")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Edits what people may change of a contact (the phone is its identity and stays).
#[allow(clippy::too_many_arguments)]
pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    name: &str,
    email: Option<&str>,
    notes: &str,
    custom_fields: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE contacts SET name = $1, email = $2, notes = $3, custom_fields = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7",
    )
    .bind(name)
    .bind(email)
    .bind(notes)
    .bind(custom_fields)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

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
}

/// The contacts of a tenant with these phone keys (one read; rows in no particular order).
pub async fn find_by_phone_keys(
    conn: &mut AnyConnection,
    tenant: TenantId,
    phone_keys: &[&str],
) -> Result<Vec<KnownContact>, sqlx::Error> {
    let mut out = Vec::with_capacity(phone_keys.len());
    for chunk in phone_keys.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut ph = super::Placeholders::for_connection(conn);
        let (mut tenant_param, mut list) = (String::new(), String::with_capacity(chunk.len() * 6));
        ph.push(&mut tenant_param, 1);
        ph.push(&mut list, chunk.len());
        let sql = format!(
            "SELECT id, phone_key, name, phone, wa_id FROM contacts WHERE tenant_id = {tenant_param} AND phone_key IN ({list})"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0);
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
            });
        }
    }
    Ok(out)
}

/// Whether [`upsert_many`] of `upsert` would change this existing contact: it fills a missing
/// name (or one that is just the phone) and sets the WhatsApp id it was given, nothing else.
pub fn upsert_would_change(known: &KnownContact, upsert: &ContactUpsert<'_>) -> bool {
    let name = if upsert.name.is_empty() { upsert.phone } else { upsert.name };
    let wa_id = upsert.wa_id;
    let name_fills = (known.name.is_empty() || known.name == known.phone) && name != known.name;
    // The newest WhatsApp id wins (a Brazilian number may arrive with or without its 9th digit).
    let wa_id_fills = wa_id.is_some() && known.wa_id.as_deref() != wa_id;
    name_fills || wa_id_fills
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
    for chunk in contacts.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 7);
        let sql = format!(
            "INSERT INTO contacts (tenant_id, name, phone, phone_key, wa_id, created_at, updated_at)
             VALUES {values}
             ON CONFLICT (tenant_id, phone_key) DO UPDATE SET
                 name = CASE WHEN contacts.name = '' OR contacts.name = contacts.phone THEN excluded.name ELSE contacts.name END,
                 wa_id = COALESCE(excluded.wa_id, contacts.wa_id),
                 updated_at = excluded.updated_at
             RETURNING id, tenant_id, phone_key, created_at"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for c in chunk {
            q = q
                .bind(c.tenant_id.0)
                .bind(if c.name.is_empty() { c.phone } else { c.name })
                .bind(c.phone)
                .bind(c.phone_key)
                .bind(c.wa_id)
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

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM contacts").fetch_one(ex).await?.try_get(0)
}
