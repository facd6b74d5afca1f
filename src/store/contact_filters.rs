//! Saved contact filters, and the SQL condition of [`ContactCriteria`] shared by the contact list
//! and a campaign's audience (so a filter reaches in a campaign exactly whom the list shows).

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::contacts::ContactCriteria;
use crate::domain::TenantId;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SavedFilter {
    pub id: i64,
    pub name: String,
    pub criteria: ContactCriteria,
}

fn from_row(r: &AnyRow) -> Result<SavedFilter, sqlx::Error> {
    Ok(SavedFilter {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        criteria: ContactCriteria { search: r.try_get(2)?, tag_id: r.try_get(3)?, consent: r.try_get(4)? },
    })
}

pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<SavedFilter>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, search, tag_id, consent FROM contact_filters WHERE tenant_id = $1 ORDER BY name LIMIT 200",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<SavedFilter>, sqlx::Error> {
    sqlx::query("SELECT id, name, search, tag_id, consent FROM contact_filters WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Saves a filter; a name already used in the company is a unique violation.
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    name: &str,
    c: &ContactCriteria,
    created_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO contact_filters (tenant_id, name, search, tag_id, consent, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(name)
    .bind(c.search.trim())
    .bind(c.tag_id)
    .bind(&c.consent)
    .bind(created_by)
    .bind(now)
    .fetch_one(ex)
    .await
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM contact_filters WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A value the condition binds, in order.
pub enum Bind {
    Text(String),
    Int(i64),
}

/// The SQL condition (on contacts as `alias`) for `c`, taking placeholders from `next` in the
/// order of the returned binds (each placeholder used once: SQLite's are anonymous). The search
/// matches name or e-mail (case ignored) or, for digits, the phone.
pub fn condition(
    c: &ContactCriteria,
    alias: &str,
    tenant: TenantId,
    next: &mut dyn FnMut() -> String,
) -> (String, Vec<Bind>) {
    let mut parts = vec!["1 = 1".to_string()];
    let mut binds = Vec::new();
    let search = c.search.trim();
    if !search.is_empty() {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let p = next();
        let mut any = format!(
            "LOWER({alias}.name) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE({alias}.email, '')) LIKE {p} ESCAPE '\\'"
        );
        binds.push(Bind::Text(format!("%{escaped}%")));
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            any.push_str(&format!(" OR {alias}.phone LIKE {}", next()));
            binds.push(Bind::Text(format!("%{digits}%")));
        }
        parts.push(format!("({any})"));
    }
    if let Some(tag) = c.tag_id {
        let (t, g) = (next(), next());
        parts.push(format!(
            "{alias}.id IN (SELECT contact_id FROM contact_tags WHERE tenant_id = {t} AND tag_id = {g})"
        ));
        binds.push(Bind::Int(tenant.0));
        binds.push(Bind::Int(tag));
    }
    if !c.consent.is_empty() {
        parts.push(format!("{alias}.consent = {}", next()));
        binds.push(Bind::Text(c.consent.clone()));
    }
    (format!("({})", parts.join(" AND ")), binds)
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds what [`condition`] returned.
pub fn bind_all(mut q: AnyQuery<'_>, binds: Vec<Bind>) -> AnyQuery<'_> {
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    q
}
