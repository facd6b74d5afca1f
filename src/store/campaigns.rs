//! Campaigns and their recipients. Every query names the tenant, but [`running`], the
//! scheduler's walk over running campaigns. A recipient's state only moves by compare-and-set on
//! the state it was read in, so two runs (or a run and a status webhook) never both move it.

use sqlx::{Any, Executor, Row};

use super::{Placeholders, Tx};
use crate::domain::campaigns::Audience;
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
    updated_at, started_at, finished_at";

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
             start_at, business_hours, rate_per_minute, spacing_pct, daily_cap, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
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
             daily_cap = $13, updated_at = $14
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
struct Ph(Placeholders);

impl Ph {
    fn new(conn: &sqlx::AnyConnection) -> Ph {
        Ph(Placeholders::for_connection(conn))
    }

    fn one(&mut self) -> String {
        let mut s = String::new();
        self.0.push(&mut s, 1);
        s
    }

    fn list(&mut self, n: usize) -> String {
        let mut s = String::new();
        self.0.push(&mut s, n);
        s
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// The SQL condition (on `contacts c`) for an audience; [`bind_audience`] binds its values in the
/// same order. Phones match on the contact's phone key (the Brazilian ninth digit either way).
fn audience_condition(ph: &mut Ph, audience: &Audience, keys: &[String]) -> String {
    if audience.all {
        return "1 = 1".into();
    }
    let mut parts = Vec::new();
    if !audience.tags.is_empty() {
        let tenant = ph.one();
        let tags = ph.list(audience.tags.len());
        parts.push(format!(
            "c.id IN (SELECT contact_id FROM contact_tags WHERE tenant_id = {tenant} AND tag_id IN ({tags}))"
        ));
    }
    if !keys.is_empty() {
        parts.push(format!("c.phone_key IN ({})", ph.list(keys.len())));
    }
    if parts.is_empty() {
        return "1 = 0".into();
    }
    format!("({})", parts.join(" OR "))
}

fn bind_audience<'q>(mut q: AnyQuery<'q>, tenant: TenantId, audience: &Audience, keys: &'q [String]) -> AnyQuery<'q> {
    if audience.all {
        return q;
    }
    if !audience.tags.is_empty() {
        q = q.bind(tenant.0);
        for t in &audience.tags {
            q = q.bind(*t);
        }
    }
    for k in keys {
        q = q.bind(k.as_str());
    }
    q
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
    now: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let keys = match_keys(audience);
    let (in_audience, _) = audience_size(tx, tenant, audience).await?;
    let mut ph = Ph::new(tx);
    let (t, c, n, consent) = (ph.one(), ph.one(), ph.one(), ph.one());
    let t2 = ph.one();
    let condition = audience_condition(&mut ph, audience, &keys);
    let sql = format!(
        "INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id, state, updated_at)
         SELECT {t}, {c}, c.id, 'queued', {n} FROM contacts c
         WHERE c.consent = {consent} AND c.tenant_id = {t2} AND (c.phone <> '' OR c.wa_id IS NOT NULL) AND {condition}
         ORDER BY c.id
         ON CONFLICT DO NOTHING"
    );
    let q = sqlx::query(&sql).bind(tenant.0).bind(id).bind(now).bind("marketing_opt_in").bind(tenant.0);
    let included = bind_audience(q, tenant, audience, &keys).execute(&mut **tx).await?.rows_affected() as i64;
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
) -> Result<(i64, i64), sqlx::Error> {
    let keys = match_keys(audience);
    let mut ph = Ph::new(conn);
    let (consent, t) = (ph.one(), ph.one());
    let condition = audience_condition(&mut ph, audience, &keys);
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.consent = {consent} THEN 1 ELSE 0 END), 0) FROM contacts c
         WHERE c.tenant_id = {t} AND {condition}"
    );
    let q = sqlx::query(&sql).bind("marketing_opt_in").bind(tenant.0);
    let row = bind_audience(q, tenant, audience, &keys).fetch_one(&mut *conn).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Takes (or keeps) the right to send for a running campaign: one run at a time; a dead run's
/// right lapses at `runner_until` (real milliseconds).
pub async fn take_runner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token: &str,
    real_now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaigns SET runner = $1, runner_until = $2
         WHERE tenant_id = $3 AND id = $4 AND status = 'running' AND (runner IS NULL OR runner = $1 OR runner_until < $5)",
    )
    .bind(token)
    .bind(until)
    .bind(tenant.0)
    .bind(id)
    .bind(real_now)
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

/// Recipients left `sending` by an earlier run (it died between committing `sending` and
/// recording the answer): their message may have gone, so they become `unknown`, never queued.
pub async fn orphans_to_unknown<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    token: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET state = 'unknown', updated_at = $1
         WHERE tenant_id = $2 AND campaign_id = $3 AND state = 'sending' AND (runner IS NULL OR runner <> $4)",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .bind(token)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Takes the campaign's next pacing slot (Unix ms) and counts it against today's cap; `None`
/// when today's cap is reached (or the campaign stopped running).
pub async fn reserve_pace(
    db: &super::Db,
    tenant: TenantId,
    id: i64,
    interval_ms: i64,
    today: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let greatest = match db.backend {
        super::Backend::Sqlite => "max",
        super::Backend::Postgres => "GREATEST",
    };
    let sql = format!(
        "UPDATE campaigns SET next_send_at = {greatest}(next_send_at, $1) + $2,
             day_sent = CASE WHEN day_key = $3 THEN day_sent + 1 ELSE 1 END, day_key = $3
         WHERE tenant_id = $4 AND id = $5 AND status = 'running'
           AND (daily_cap IS NULL OR day_key <> $3 OR day_sent < daily_cap)
         RETURNING next_send_at - $2"
    );
    let row = sqlx::query(&sql)
        .bind(now)
        .bind(interval_ms)
        .bind(today)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(db.writer())
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Gives back a pacing slot that sent nothing (the recipient was refused at the last moment).
pub async fn refund_pace<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    today: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaigns SET day_sent = day_sent - 1 WHERE tenant_id = $1 AND id = $2 AND day_key = $3 AND day_sent > 0",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(today)
    .execute(ex)
    .await?;
    Ok(())
}

/// One recipient as stored, with its contact's name and number for pages and exports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Recipient {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub campaign_id: i64,
    pub contact_id: i64,
    pub contact_name: String,
    pub contact_phone: String,
    pub state: String,
    pub variation: Option<i64>,
    pub body: Option<String>,
    pub provider_id: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub attempts: i64,
    pub not_before: i64,
    pub sending_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub ticket_id: Option<i64>,
    pub updated_at: i64,
}

const RECIPIENT_COLUMNS: &str = "r.id, r.tenant_id, r.campaign_id, r.contact_id, c.name, c.phone, r.state, r.variation,
    r.body, r.provider_id, r.error_code, r.error_title, r.attempts, r.not_before, r.sending_at, r.sent_at,
    r.delivered_at, r.read_at, r.replied_at, r.ticket_id, r.updated_at";

fn recipient_from_row(r: &sqlx::any::AnyRow) -> Result<Recipient, sqlx::Error> {
    Ok(Recipient {
        id: r.try_get(0)?,
        tenant_id: TenantId(r.try_get(1)?),
        campaign_id: r.try_get(2)?,
        contact_id: r.try_get(3)?,
        contact_name: r.try_get(4)?,
        contact_phone: r.try_get(5)?,
        state: r.try_get(6)?,
        variation: r.try_get(7)?,
        body: r.try_get(8)?,
        provider_id: r.try_get(9)?,
        error_code: r.try_get(10)?,
        error_title: r.try_get(11)?,
        attempts: r.try_get(12)?,
        not_before: r.try_get(13)?,
        sending_at: r.try_get(14)?,
        sent_at: r.try_get(15)?,
        delivered_at: r.try_get(16)?,
        read_at: r.try_get(17)?,
        replied_at: r.try_get(18)?,
        ticket_id: r.try_get(19)?,
        updated_at: r.try_get(20)?,
    })
}

pub async fn recipient<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Recipient>, sqlx::Error> {
    let sql = format!(
        "SELECT {RECIPIENT_COLUMNS} FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
         WHERE r.tenant_id = $1 AND r.id = $2"
    );
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.map(|r| recipient_from_row(&r)).transpose()
}

/// A page of a campaign's recipients in id order after `after`, optionally in one state.
pub async fn recipients<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    state: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let sql = format!(
        "SELECT {RECIPIENT_COLUMNS} FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
         WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND r.id > $3 AND ($4 = '' OR r.state = $4)
         ORDER BY r.id LIMIT $5"
    );
    sqlx::query(&sql)
        .bind(tenant.0)
        .bind(campaign)
        .bind(after)
        .bind(state.unwrap_or(""))
        .bind(limit)
        .fetch_all(ex)
        .await?
        .iter()
        .map(recipient_from_row)
        .collect()
}

/// The next queued recipients whose time has come, in order.
pub async fn next_queued<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let sql = format!(
        "SELECT {RECIPIENT_COLUMNS} FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
         WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND r.state = 'queued' AND r.not_before <= $3
         ORDER BY r.id LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(tenant.0)
        .bind(campaign)
        .bind(now)
        .bind(limit)
        .fetch_all(ex)
        .await?
        .iter()
        .map(recipient_from_row)
        .collect()
}

/// When the earliest held-back recipient may go (`None`: none is waiting).
pub async fn next_not_before<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(not_before) FROM campaign_recipients WHERE tenant_id = $1 AND campaign_id = $2 AND state = 'queued'",
    )
    .bind(tenant.0)
    .bind(campaign)
    .fetch_one(ex)
    .await
}

/// Commits `sending` for a queued recipient, with what it will get, right before the provider
/// call; false when it is no longer queued or its contact no longer has marketing consent (an
/// opt-out a moment ago stops it here).
#[allow(clippy::too_many_arguments)]
pub async fn claim<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    runner: &str,
    variation: Option<i64>,
    body: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET state = 'sending', runner = $1, variation = $2, body = $3, sending_at = $4,
             attempts = attempts + 1, updated_at = $4
         WHERE tenant_id = $5 AND id = $6 AND state = 'queued'
           AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = campaign_recipients.contact_id AND c.consent = $7)",
    )
    .bind(runner)
    .bind(variation)
    .bind(body)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .bind("marketing_opt_in")
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the provider's id of a sent recipient (a status that arrived first may already have
/// moved it further: it stays there).
pub async fn mark_sent<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    provider_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaign_recipients SET provider_id = COALESCE(provider_id, $1), sent_at = COALESCE(sent_at, $2),
             state = CASE WHEN state IN ('sending', 'unknown') THEN 'sent' ELSE state END, updated_at = $2
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(provider_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Settles a recipient that did not go: `to` is queued again (with `not_before`), failed,
/// opted out, skipped or unknown; only from one of `from`.
#[allow(clippy::too_many_arguments)]
pub async fn settle<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    from: &[&str],
    to: &str,
    error: Option<(Option<i64>, &str)>,
    not_before: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let list = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    // `from` holds the crate's own state names only.
    let sql = format!(
        "UPDATE campaign_recipients SET state = $1, error_code = $2, error_title = $3, not_before = $4, updated_at = $5,
             runner = NULL
         WHERE tenant_id = $6 AND id = $7 AND state IN ({list})"
    );
    let (code, title) = match error {
        Some((code, title)) => (code, Some(title)),
        None => (None, None),
    };
    let done = sqlx::query(&sql)
        .bind(to)
        .bind(code)
        .bind(title)
        .bind(not_before)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A status webhook about a recipient's message: moves it from `from` to `to` (compare-and-set),
/// noting the provider id it names and the time of the step.
#[allow(clippy::too_many_arguments)]
pub async fn apply_status(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    from: &str,
    to: &str,
    provider_id: &str,
    error: Option<(Option<i64>, &str)>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let stamp = match to {
        "delivered" => ", delivered_at = COALESCE(delivered_at, $1)",
        "read" => ", delivered_at = COALESCE(delivered_at, $1), read_at = COALESCE(read_at, $1)",
        _ => "",
    };
    let sql = format!(
        "UPDATE campaign_recipients SET state = $2, provider_id = COALESCE(provider_id, $3),
             sent_at = CASE WHEN $2 = 'failed' THEN sent_at ELSE COALESCE(sent_at, $1) END,
             error_code = COALESCE($4, error_code), error_title = COALESCE($5, error_title), updated_at = $1 {stamp}
         WHERE tenant_id = $6 AND id = $7 AND state = $8"
    );
    let (code, title) = match error {
        Some((code, title)) => (code, Some(title)),
        None => (None, None),
    };
    let done = sqlx::query(&sql)
        .bind(now)
        .bind(to)
        .bind(provider_id)
        .bind(code)
        .bind(title)
        .bind(tenant.0)
        .bind(id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The state of a recipient and the contact it is for (status webhooks read it first).
pub async fn state_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<(String, i64, i64)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT state, contact_id, campaign_id FROM campaign_recipients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(ex)
            .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
}

/// How many recipients are in each state.
pub async fn counts<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT state, COUNT(*) FROM campaign_recipients WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY state",
    )
    .bind(tenant.0)
    .bind(campaign)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// A campaign message that reached one of these contacts lately (the newest per contact), for
/// the reply that opens a ticket: (recipient id, contact id, tag id, body, provider id, sent at,
/// state).
pub type RecentSend = (i64, i64, Option<i64>, Option<String>, Option<String>, i64, String);

pub async fn recent_sends(
    tx: &mut Tx,
    tenant: TenantId,
    contact_ids: &[i64],
    since: i64,
) -> Result<Vec<RecentSend>, sqlx::Error> {
    if contact_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut ph = Ph::new(tx);
    let (t, since_p, list) = (ph.one(), ph.one(), ph.list(contact_ids.len()));
    let sql = format!(
        "SELECT r.id, r.contact_id, k.tag_id, r.body, r.provider_id, r.sent_at, r.state
         FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id
         WHERE r.tenant_id = {t} AND r.sent_at >= {since_p} AND r.state IN ('sent', 'delivered', 'read')
           AND r.contact_id IN ({list})
         ORDER BY r.sent_at DESC"
    );
    let mut q = sqlx::query(&sql).bind(tenant.0).bind(since);
    for c in contact_ids {
        q = q.bind(*c);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in rows {
        let contact: i64 = r.try_get(1)?;
        if seen.insert(contact) {
            out.push((
                r.try_get(0)?,
                contact,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            ));
        }
    }
    Ok(out)
}

/// The customer wrote back: the recipient is `replied`, with the ticket the reply is on.
pub async fn mark_replied(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    ticket_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET state = 'replied', replied_at = $1, ticket_id = $2, updated_at = $1
         WHERE tenant_id = $3 AND id = $4 AND state IN ('sent', 'delivered', 'read')",
    )
    .bind(now)
    .bind(ticket_id)
    .bind(tenant.0)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues again the recipients people decided to resend (`unknown` ones only).
pub async fn requeue_unknown<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET state = 'queued', not_before = 0, runner = NULL, updated_at = $1
         WHERE tenant_id = $2 AND campaign_id = $3 AND state = 'unknown'",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(campaign)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
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

/// Whether the company may run campaigns (the plan's switch).
pub async fn enabled<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<bool, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar("SELECT campaigns_enabled FROM tenants WHERE id = $1")
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

/// A cancelled campaign's recipients not sent yet are skipped, with the reason.
pub async fn skip_remaining<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    reason: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET state = 'skipped', error_title = $1, updated_at = $2
         WHERE tenant_id = $3 AND campaign_id = $4 AND state = 'queued'",
    )
    .bind(reason)
    .bind(now)
    .bind(tenant.0)
    .bind(campaign)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Holds a queued recipient back until `until` (Meta asked to wait).
pub async fn hold_until<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaign_recipients SET not_before = $1 WHERE tenant_id = $2 AND id = $3 AND state = 'queued'")
        .bind(until)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}
