//! Consent history (`consent_events`) and the keyword settings beside the opt-out words
//! (opt-in words, the two confirmation texts).

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// One change of a contact's consent.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConsentEvent {
    pub id: i64,
    pub contact_id: i64,
    /// `None` when the contact was created with this consent.
    pub previous: Option<String>,
    pub consent: String,
    pub source: String,
    pub actor: String,
    pub detail: String,
    pub created_at: i64,
}

fn from_row(r: &AnyRow) -> Result<ConsentEvent, sqlx::Error> {
    Ok(ConsentEvent {
        id: r.try_get("id")?,
        contact_id: r.try_get("contact_id")?,
        previous: r.try_get("previous")?,
        consent: r.try_get("consent")?,
        source: r.try_get("source")?,
        actor: r.try_get("actor")?,
        detail: r.try_get("detail")?,
        created_at: r.try_get("created_at")?,
    })
}

/// What [`insert`] writes.
pub struct NewConsentEvent<'a> {
    pub contact_id: i64,
    pub previous: Option<&'a str>,
    pub consent: &'a str,
    pub source: &'a str,
    pub actor: &'a str,
    pub detail: &'a str,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    e: &NewConsentEvent<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consent_events (tenant_id, contact_id, previous, consent, source, actor, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.0)
    .bind(e.contact_id)
    .bind(e.previous)
    .bind(e.consent)
    .bind(e.source)
    .bind(e.actor)
    .bind(e.detail)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// A contact's history, newest first (at most `limit`).
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    limit: i64,
) -> Result<Vec<ConsentEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, contact_id, previous, consent, source, actor, detail, created_at FROM consent_events
         WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(contact_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A merge keeps the history of both contacts on the one that stays.
pub async fn move_to<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    source: i64,
    target: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE consent_events SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3")
        .bind(target)
        .bind(tenant.0)
        .bind(source)
        .execute(ex)
        .await?;
    Ok(())
}

/// The keyword settings of a tenant (`None` fields: the built-in defaults apply).
#[derive(Clone, Debug, Default)]
pub struct KeywordSettings {
    pub opt_in_keywords: Option<String>,
    pub opt_out_reply: String,
    pub opt_in_reply: String,
}

pub async fn keyword_settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<KeywordSettings, sqlx::Error> {
    let row =
        sqlx::query("SELECT opt_in_keywords, opt_out_reply, opt_in_reply FROM contact_settings WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(ex)
            .await?;
    Ok(match row {
        Some(r) => KeywordSettings {
            opt_in_keywords: Some(r.try_get("opt_in_keywords")?),
            opt_out_reply: r.try_get("opt_out_reply")?,
            opt_in_reply: r.try_get("opt_in_reply")?,
        },
        None => KeywordSettings::default(),
    })
}

/// Saves the opt-in words and the confirmations (the opt-out words keep their value, or get the
/// default when the row is new).
pub async fn put_keyword_settings<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    opt_in_keywords: &str,
    opt_out_reply: &str,
    opt_in_reply: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contact_settings (tenant_id, opt_out_keywords, opt_in_keywords, opt_out_reply, opt_in_reply, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET opt_in_keywords = excluded.opt_in_keywords,
           opt_out_reply = excluded.opt_out_reply, opt_in_reply = excluded.opt_in_reply, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(crate::domain::contacts::DEFAULT_OPT_OUT_KEYWORDS)
    .bind(opt_in_keywords)
    .bind(opt_out_reply)
    .bind(opt_in_reply)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
