//! Campaigns (their recipients are in `campaign_recipients`). Every query names the tenant, but
//! [`running`], the scheduler's walk over running campaigns.

use sqlx::{Any, Executor, Row};

use super::contact_filters::{bind_all, Bind};
use super::{Placeholders, Tx};
use crate::domain::campaigns::Audience;
use crate::domain::contacts::ContactCriteria;
use crate::domain::outbound::Attached;
use crate::domain::TenantId;

/// One campaign as stored (see migration 0026).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Campaign {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub name: String,
    pub connection_id: i64,
    /// `draft`, `running`, `paused`, `finished` or `cancelled`.
    pub status: String,
    pub variations: Vec<String>,
    pub template_id: Option<i64>,
    /// A file sent with the text (the text is its caption) to contacts inside the window.
    pub media: Option<Attached>,
    pub audience: Audience,
    /// Put on the ticket a reply opens.
    pub tag_id: Option<i64>,
    /// Not before this instant (Unix ms).
    pub start_at: i64,
    pub business_hours: bool,
    pub rate_per_minute: i64,
    pub spacing_pct: i64,
    pub daily_cap: Option<i64>,
    /// Contacts frozen in as recipients when it started.
    pub total: i64,
    /// Contacts of the audience left out for want of marketing consent.
    pub excluded: i64,
    pub last_error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// What a create or an edit of a draft writes.
#[derive(Clone, Debug)]
pub struct CampaignFields<'a> {
    pub name: &'a str,
    pub connection_id: i64,
    pub variations: &'a [String],
    pub template_id: Option<i64>,
    pub media: Option<&'a Attached>,
    pub audience: &'a Audience,
    pub tag_id: Option<i64>,
    pub start_at: i64,
    pub business_hours: bool,
    pub rate_per_minute: i64,
    pub spacing_pct: i64,
    pub daily_cap: Option<i64>,
}

const COLUMNS: &str = "id, tenant_id, name, connection_id, status, variations, template_id, audience, tag_id, start_at,
    business_hours, rate_per_minute, spacing_pct, daily_cap, total, excluded, last_error, created_by, created_at,
    updated_at, started_at, finished_at, media";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Campaign, sqlx::Error> {
    let variations: String = r.try_get(5)?;
    let audience: String = r.try_get(7)?;
    Ok(Campaign {
        id: r.try_get(0)?,
        tenant_id: TenantId(r.try_get(1)?),
        name: r.try_get(2)?,
        connection_id: r.try_get(3)?,
        status: r.try_get(4)?,
        variations: serde_json::from_str(&variations).unwrap_or_default(),
        template_id: r.try_get(6)?,
        audience: serde_json::from_str(&audience).unwrap_or_default(),
        tag_id: r.try_get(8)?,
        start_at: r.try_get(9)?,
        business_hours: r.try_get::<i64, _>(10)? != 0,
        rate_per_minute: r.try_get(11)?,
        spacing_pct: r.try_get(12)?,
        daily_cap: r.try_get(13)?,
        total: r.try_get(14)?,
        excluded: r.try_get(15)?,
        last_error: r.try_get(16)?,
        created_by: r.try_get(17)?,
        created_at: r.try_get(18)?,
        updated_at: r.try_get(19)?,
        started_at: r.try_get(20)?,
        finished_at: r.try_get(21)?,
        media: r.try_get::<Option<String>, _>(22)?.as_deref().and_then(Attached::parse),
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &CampaignFields<'_>,
    created_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO campaigns (tenant_id, name, connection_id, status, variations, template_id, audience, tag_id,
             start_at, business_hours, rate_per_minute, spacing_pct, daily_cap, created_by, created_at, updated_at, media)
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.name)
    .bind(f.connection_id)
    .bind(json(&f.variations))
    .bind(f.template_id)
    .bind(json(f.audience))
    .bind(f.tag_id)
    .bind(f.start_at)
    .bind(i64::from(f.business_hours))
    .bind(f.rate_per_minute)
    .bind(f.spacing_pct)
    .bind(f.daily_cap)
    .bind(created_by)
    .bind(now)
    .bind(f.media.map(Attached::to_json))
    .fetch_one(ex)
    .await
}

/// Rewrites a draft; false when it is no longer a draft.
pub async fn update_draft<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    f: &CampaignFields<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaigns SET name = $3, connection_id = $4, variations = $5, template_id = $6, audience = $7,
             tag_id = $8, start_at = $9, business_hours = $10, rate_per_minute = $11, spacing_pct = $12,
             daily_cap = $13, updated_at = $14, media = $15
         WHERE tenant_id = $1 AND id = $2 AND status = 'draft'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(f.name)
    .bind(f.connection_id)
    .bind(json(&f.variations))
    .bind(f.template_id)
    .bind(json(f.audience))
    .bind(f.tag_id)
    .bind(f.start_at)
    .bind(i64::from(f.business_hours))
    .bind(f.rate_per_minute)
    .bind(f.spacing_pct)
    .bind(f.daily_cap)
    .bind(now)
    .bind(f.media.map(Attached::to_json))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Campaign>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.map(|r| from_row(&r)).transpose()
}

/// The company's campaigns, newest first.
pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Campaign>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 ORDER BY id DESC LIMIT 500");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Moves a campaign from one of `from` to `to`; false when it was in none of them.
pub async fn set_status<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    from: &[&str],
    to: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let list = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    // Only the crate's own state names reach `from`; never people's input.
    let sql = format!(
        "UPDATE campaigns SET status = $1, updated_at = $2,
             started_at = CASE WHEN $1 = 'running' AND started_at IS NULL THEN $2 ELSE started_at END,
             finished_at = CASE WHEN $1 IN ('finished', 'cancelled') THEN $2 ELSE finished_at END
         WHERE tenant_id = $3 AND id = $4 AND status IN ({list})"
    );
    let done = sqlx::query(&sql).bind(to).bind(now).bind(tenant.0).bind(id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_error<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaigns SET last_error = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(error)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Numbered or anonymous placeholders in the order their values are bound (see
/// [`Placeholders`]); every value of these statements is bound through it, none by number.
pub(super) struct Ph(Placeholders);

impl Ph {
    pub(super) fn new(conn: &sqlx::AnyConnection) -> Ph {
        Ph(Placeholders::for_connection(conn))
    }

    pub(super) fn one(&mut self) -> String {
        let mut s = String::new();
        self.0.push(&mut s, 1);
        s
    }

    pub(super) fn list(&mut self, n: usize) -> String {
        let mut s = String::new();
        self.0.push(&mut s, n);
        s
    }
}

/// The SQL condition (on `contacts c`) for an audience and its binds, in placeholder order. Phones match on the contact's phone key (the Brazilian ninth digit either
/// way); a saved filter's criteria (resolved by the caller) are those of the contact list.
fn audience_condition(
    ph: &mut Ph,
    tenant: TenantId,
    audience: &Audience,
    filter: Option<&ContactCriteria>,
    keys: &[String],
) -> (String, Vec<Bind>) {
    if audience.all {
        return ("1 = 1".into(), Vec::new());
    }
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    if !audience.tags.is_empty() {
        let t = ph.one();
        let tags = ph.list(audience.tags.len());
        parts.push(format!(
            "c.id IN (SELECT contact_id FROM contact_tags WHERE tenant_id = {t} AND tag_id IN ({tags}))"
        ));
        binds.push(Bind::Int(tenant.0));
        binds.extend(audience.tags.iter().map(|t| Bind::Int(*t)));
    }
    if !keys.is_empty() {
        parts.push(format!("c.phone_key IN ({})", ph.list(keys.len())));
        binds.extend(keys.iter().map(|k| Bind::Text(k.clone())));
    }
    if let Some(f) = filter {
        let (condition, more) = super::contact_filters::condition(f, "c", tenant, &mut || ph.one());
        parts.push(condition);
        binds.extend(more);
    }
    if parts.is_empty() {
        return ("1 = 0".into(), Vec::new());
    }
    (format!("({})", parts.join(" OR ")), binds)
}

fn match_keys(audience: &Audience) -> Vec<String> {
    audience.phones.iter().map(|p| crate::domain::phone::match_key(p)).collect()
}

/// Freezes a starting campaign's audience into recipients (`queued`): only contacts with
/// marketing consent and a WhatsApp address; returns (recipients, contacts left out).
pub async fn freeze_audience(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    audience: &Audience,
    filter: Option<&ContactCriteria>,
    now: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let keys = match_keys(audience);
    let (in_audience, _) = audience_size(tx, tenant, audience, filter).await?;
    let mut ph = Ph::new(tx);
    let (t, c, n, consent) = (ph.one(), ph.one(), ph.one(), ph.one());
    let t2 = ph.one();
    let (condition, binds) = audience_condition(&mut ph, tenant, audience, filter, &keys);
    let sql = format!(
        "INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id, state, updated_at)
         SELECT {t}, {c}, c.id, 'queued', {n} FROM contacts c
         WHERE c.consent = {consent} AND c.tenant_id = {t2} AND (c.phone <> '' OR c.wa_id IS NOT NULL) AND {condition}
         ORDER BY c.id
         ON CONFLICT DO NOTHING"
    );
    let q = sqlx::query(&sql).bind(tenant.0).bind(id).bind(now).bind("marketing_opt_in").bind(tenant.0);
    let included = bind_all(q, binds).execute(&mut **tx).await?.rows_affected() as i64;
    sqlx::query("UPDATE campaigns SET total = $1, excluded = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5")
        .bind(included)
        .bind(in_audience - included)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok((included, in_audience - included))
}

/// How many contacts an audience reaches now, and how many of them have marketing consent.
pub async fn audience_size(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    audience: &Audience,
    filter: Option<&ContactCriteria>,
) -> Result<(i64, i64), sqlx::Error> {
    let keys = match_keys(audience);
    let mut ph = Ph::new(conn);
    let (consent, t) = (ph.one(), ph.one());
    let (condition, binds) = audience_condition(&mut ph, tenant, audience, filter, &keys);
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.consent = {consent} THEN 1 ELSE 0 END), 0) FROM contacts c
         WHERE c.tenant_id = {t} AND {condition}"
    );
    let q = sqlx::query(&sql).bind("marketing_opt_in").bind(tenant.0);
    let row = bind_all(q, binds).fetch_one(&mut *conn).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Takes the right to send for a running campaign at the start of a run: one run at a time. A
/// dead run's right lapses at `runner_until` (real milliseconds); the same job run again after
/// a crash (its token starts with `job_prefix`) takes it over at once.
pub async fn take_runner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token: &str,
    job_prefix: &str,
    real_now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaigns SET runner = $1, runner_until = $2
         WHERE tenant_id = $3 AND id = $4 AND status = 'running'
           AND (runner IS NULL OR runner = $1 OR runner_until < $5 OR runner LIKE $6)",
    )
    .bind(token)
    .bind(until)
    .bind(tenant.0)
    .bind(id)
    .bind(real_now)
    .bind(format!("{job_prefix}%"))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keeps the right to send while a run goes on; false when the campaign stopped running or
/// another run took it over (this one must stop).
pub async fn renew_runner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token: &str,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaigns SET runner_until = $1 WHERE tenant_id = $2 AND id = $3 AND status = 'running' AND runner = $4",
    )
    .bind(until)
    .bind(tenant.0)
    .bind(id)
    .bind(token)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_runner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaigns SET runner = NULL, runner_until = 0 WHERE tenant_id = $1 AND id = $2 AND runner = $3",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(token)
    .execute(ex)
    .await?;
    Ok(())
}

/// Running campaigns whose start has come, of every company (the scheduler keeps one run
/// queued for each).
pub async fn running<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    limit: i64,
) -> Result<Vec<(TenantId, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT tenant_id, id FROM campaigns WHERE status = 'running' AND start_at <= $1 ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((TenantId(r.try_get(0)?), r.try_get(1)?))).collect()
}

/// Whether the company may run campaigns: the platform admin's switch for the company, and its
/// plan's (a company on no plan has every feature).
pub async fn enabled<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<bool, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT t.campaigns_enabled * COALESCE(p.feature_campaigns, 1)
         FROM tenants t LEFT JOIN plans p ON p.id = t.plan_id WHERE t.id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(ex)
    .await?;
    Ok(v.unwrap_or(0) != 0)
}

pub async fn set_enabled<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    enabled: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tenants SET campaigns_enabled = $1 WHERE id = $2")
        .bind(i64::from(enabled))
        .bind(tenant.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
