//! Contacts (customers), keyed per tenant by their phone's match key: the ingest upsert, the
//! bulk writes of CRM sync, search, merge, tags, custom-field keys and opt-out keyword settings.
//! A WhatsApp customer who shows a username instead of a number has no phone: such a contact
//! is stored with an empty phone and the key [`user_key`] of its business-scoped user id, so the
//! unique key and the ingest upsert work unchanged; its user id is also one of its identities
//! (`store::identities`).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::contacts::Consent;
use crate::domain::TenantId;

mod bulk;
mod merge;
mod settings;
mod tags;
pub use bulk::*;
pub use merge::*;
pub use settings::*;
pub use tags::*;

#[derive(Clone, Copy)]
pub struct ContactUpsert<'a> {
    pub tenant_id: TenantId,
    /// Normalised digits (E.164 without `+`).
    pub phone: &'a str,
    pub phone_key: &'a str,
    pub wa_id: Option<&'a str>,
    /// Profile name; an empty one never overwrites a known name.
    pub name: &'a str,
    /// WhatsApp username, when the customer has one (a newer one replaces it).
    pub username: Option<&'a str>,
}

/// The phone key of a contact known only by its WhatsApp user id. Real phone keys are digits,
/// so this never meets one.
pub fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// Whether a phone key is a [`user_key`] (the contact has no phone).
pub fn is_user_key(phone_key: &str) -> bool {
    phone_key.starts_with("user:")
}

impl ContactUpsert<'_> {
    /// The name a new contact gets: the profile name, else the username, else the phone.
    fn display_name(&self) -> &str {
        if !self.name.is_empty() {
            self.name
        } else {
            self.username.filter(|u| !u.is_empty()).unwrap_or(self.phone)
        }
    }
}

/// Finds or creates the contact with this phone key; returns its id and whether it is new.
pub async fn upsert_by_phone<'e>(
    ex: impl Executor<'e, Database = Any>,
    c: ContactUpsert<'_>,
    now: i64,
) -> Result<(i64, bool), sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO contacts (tenant_id, name, phone, phone_key, wa_id, username, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (tenant_id, phone_key) DO UPDATE SET
             name = CASE WHEN contacts.name = '' OR contacts.name = contacts.phone THEN excluded.name ELSE contacts.name END,
             wa_id = COALESCE(excluded.wa_id, contacts.wa_id),
             username = COALESCE(excluded.username, contacts.username),
             updated_at = excluded.updated_at
         RETURNING id, created_at",
    )
    .bind(c.tenant_id.0)
    .bind(c.display_name())
    .bind(c.phone)
    .bind(c.phone_key)
    .bind(c.wa_id)
    .bind(c.username)
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
    /// Normalised digits (E.164 without `+`).
    pub phone: String,
    pub wa_id: Option<String>,
    /// WhatsApp username (display only; the user id in `contact_identities` is the identity).
    pub username: Option<String>,
    pub email: Option<String>,
    pub notes: String,
    /// A JSON object of string values.
    pub custom_fields: String,
    /// `transactional`, `marketing_opt_in` or `opted_out`.
    pub consent: String,
    pub consent_at: Option<i64>,
    pub consent_source: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The owner agent of the Carteira (store::wallet).
    pub owner_id: Option<i64>,
}

impl Contact {
    pub fn consent(&self) -> Consent {
        Consent::parse(&self.consent).unwrap_or(Consent::Transactional)
    }

    /// The custom fields as a map (string values only; anything else stored is skipped).
    pub fn fields(&self) -> BTreeMap<String, String> {
        parse_fields(&self.custom_fields)
    }
}

/// A stored custom-fields object as a map of its string values.
pub fn parse_fields(json: &str) -> BTreeMap<String, String> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(m)) => {
            m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string()))).collect()
        }
        _ => BTreeMap::new(),
    }
}

const COLUMNS: &str = "id, tenant_id, name, phone, wa_id, username, email, notes, custom_fields, consent, consent_at, consent_source, created_at, updated_at, owner_id";

fn from_row(r: &AnyRow) -> Result<Contact, sqlx::Error> {
    Ok(Contact {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        wa_id: r.try_get("wa_id")?,
        username: r.try_get("username")?,
        email: r.try_get("email")?,
        notes: r.try_get("notes")?,
        custom_fields: r.try_get("custom_fields")?,
        consent: r.try_get("consent")?,
        consent_at: r.try_get("consent_at")?,
        consent_source: r.try_get("consent_source")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        owner_id: r.try_get("owner_id")?,
    })
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Contact>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
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

/// Records a consent with its date and source.
pub async fn set_consent<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    consent: Consent,
    source: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE contacts SET consent = $1, consent_at = $2, consent_source = $3, updated_at = $2 WHERE tenant_id = $4 AND id = $5",
    )
    .bind(consent.as_str())
    .bind(now)
    .bind(source)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opts contacts out at once (an opt-out keyword arrived); those already out are left alone.
/// Returns how many changed.
pub async fn opt_out_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    ids: &[i64],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    for chunk in ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut p = super::Placeholders::for_connection(conn);
        let mut sql =
            String::from("UPDATE contacts SET consent = 'opted_out', consent_source = 'keyword', consent_at = ");
        p.push(&mut sql, 1);
        sql.push_str(", updated_at = ");
        p.push(&mut sql, 1);
        sql.push_str(" WHERE tenant_id = ");
        p.push(&mut sql, 1);
        sql.push_str(" AND consent <> 'opted_out' AND id IN (");
        p.push(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query(&sql).bind(now).bind(now).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        changed += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(changed)
}

/// A page of a tenant's contacts matching the criteria (search on name, phone digits or e-mail,
/// a tag, a consent); keyset-paginated by id (`after`: the last id of the previous page).
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    criteria: &crate::domain::contacts::ContactCriteria,
    after: Option<i64>,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let (cmp, order) = if newest_first { ("<", "DESC") } else { (">", "ASC") };
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let page = after.map(|_| format!(" AND c.id {cmp} {}", next()));
    let (matches, binds) = super::contact_filters::condition(criteria, "c", tenant, &mut next);
    let limit_ph = next();
    let columns = COLUMNS.split(',').map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns} FROM contacts c WHERE c.tenant_id = $1{} AND {matches} ORDER BY c.id {order} LIMIT {limit_ph}",
        page.unwrap_or_default()
    );
    let mut q = sqlx::query(&sql).bind(tenant.0);
    if let Some(a) = after {
        q = q.bind(a);
    }
    q = super::contact_filters::bind_all(q, binds).bind(limit);
    q.fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Contacts of a tenant (with their phone keys) whose phone key or e-mail is one of these
/// (bulk matching).
pub async fn find_by_column(
    conn: &mut AnyConnection,
    tenant: TenantId,
    column: MatchColumn,
    values: &[&str],
) -> Result<Vec<(Contact, String)>, sqlx::Error> {
    let mut out = Vec::new();
    let column = match column {
        MatchColumn::PhoneKey => "phone_key",
        MatchColumn::Email => "email",
    };
    let postgres = conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME;
    for chunk in values.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let mut p = super::Placeholders::for_connection(conn);
        let mut sql = format!("SELECT {COLUMNS}, phone_key FROM contacts WHERE tenant_id = ");
        p.push(&mut sql, 1);
        if postgres {
            // A long IN list is compared row by row when PostgreSQL's statistics still say the
            // table is small (a fresh import): joined as a VALUES list it is hashed instead.
            sql.push_str(&format!(" AND {column} IN (SELECT k FROM (VALUES "));
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                p.push(&mut sql, 1);
                sql.push(')');
            }
            sql.push_str(") AS v(k)) ORDER BY id");
        } else {
            sql.push_str(&format!(" AND {column} IN ("));
            p.push(&mut sql, chunk.len());
            sql.push_str(") ORDER BY id");
        }
        let mut q = sqlx::query(&sql).bind(tenant.0);
        for v in chunk {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((from_row(&r)?, r.try_get("phone_key")?));
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug)]
pub enum MatchColumn {
    PhoneKey,
    Email,
}

/// The phone key of a stored contact.
pub async fn phone_key_of(conn: &mut AnyConnection, tenant: TenantId, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT phone_key FROM contacts WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The whole new state of a contact written by a bulk upsert (computed by the caller from what
/// is stored and what arrived).
pub struct FullContact<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub phone_key: &'a str,
    pub email: Option<&'a str>,
    pub custom_fields: &'a str,
    pub consent: &'a str,
    pub consent_at: Option<i64>,
    pub consent_source: Option<&'a str>,
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds the tenant and a contact's columns, in `INSERT INTO contacts (tenant_id, name, …,
/// consent_source, …)` order.
fn bind_full<'q>(q: AnyQuery<'q>, tenant: TenantId, c: &FullContact<'q>) -> AnyQuery<'q> {
    q.bind(tenant.0)
        .bind(c.name)
        .bind(c.phone)
        .bind(c.phone_key)
        .bind(c.email)
        .bind(c.custom_fields)
        .bind(c.consent)
        .bind(c.consent_at)
        .bind(c.consent_source)
}

/// Writes many contacts of one tenant: new phone keys are inserted, known ones get the given
/// state (their phone, as WhatsApp knows it, stays). Phone keys must be distinct. Returns
/// `(phone_key, id)` pairs in no particular order.
pub async fn write_many(
    conn: &mut AnyConnection,
    tenant: TenantId,
    rows: &[FullContact<'_>],
    now: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let values = super::Placeholders::for_connection(conn).rows(chunk.len(), 11);
        let sql = format!(
            "INSERT INTO contacts (tenant_id, name, phone, phone_key, email, custom_fields, consent, consent_at, consent_source, created_at, updated_at)
             VALUES {values}
             ON CONFLICT (tenant_id, phone_key) DO UPDATE SET
                 name = excluded.name, email = excluded.email, custom_fields = excluded.custom_fields,
                 consent = excluded.consent, consent_at = excluded.consent_at,
                 consent_source = excluded.consent_source, updated_at = excluded.updated_at
             RETURNING id, phone_key"
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len()));
        for c in chunk {
            q = bind_full(q, tenant, c).bind(now).bind(now);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push((row.try_get("phone_key")?, row.try_get("id")?));
        }
    }
    Ok(out)
}

/// Inserts one contact (API create); `None` when its phone key is taken.
pub async fn insert(
    tx: &mut super::Tx,
    tenant: TenantId,
    c: &FullContact<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let q = sqlx::query(
        "INSERT INTO contacts (tenant_id, name, phone, phone_key, email, custom_fields, consent, consent_at, consent_source, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (tenant_id, phone_key) DO NOTHING RETURNING id",
    );
    let row = bind_full(q, tenant, c).bind(now).fetch_optional(&mut **tx).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Gives a contact known only by its WhatsApp user id the phone it turned out to have (the
/// same person wrote with both); false when the contact has a phone already.
pub async fn attach_phone(
    tx: &mut super::Tx,
    tenant: TenantId,
    id: i64,
    phone: &str,
    phone_key: &str,
    wa_id: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE contacts SET phone = $1, phone_key = $2, wa_id = COALESCE($3, wa_id),
             name = CASE WHEN name = '' THEN $1 ELSE name END, updated_at = $4
         WHERE tenant_id = $5 AND id = $6 AND phone = ''",
    )
    .bind(phone)
    .bind(phone_key)
    .bind(wa_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what WhatsApp now says of a contact found by its user id: a new username (people
/// change it) and the newest WhatsApp id of its number (a Brazilian number may arrive with or
/// without its ninth digit). `None` keeps what is stored.
pub async fn refresh_whatsapp<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    username: Option<&str>,
    wa_id: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contacts SET username = COALESCE($1, username), wa_id = COALESCE($2, wa_id), updated_at = $3
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(username)
    .bind(wa_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM contacts").fetch_one(ex).await?.try_get(0)
}

/// Makes a custom-field key known to the tenant (label = key) unless it is already.
pub async fn add_field_if_missing<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contact_fields (tenant_id, field_key, label, created_at) VALUES ($1, $2, $2, $3)
         ON CONFLICT (tenant_id, field_key) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(key)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
