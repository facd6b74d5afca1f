//! Campaign recipients: one row per (campaign, contact), ever. A recipient's state only moves by
//! compare-and-set on the state it was read in, so two runs (or a run and a status webhook)
//! never both move it. Every query names the tenant.

use sqlx::{Any, Executor, Row};

use super::campaigns::Ph;
use super::Tx;
use crate::domain::TenantId;

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

/// Recipients whose last error was Meta's `code` (benchmarks count 130429, the throughput limit).
pub async fn count_with_error<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    code: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_recipients WHERE tenant_id = $1 AND campaign_id = $2 AND error_code = $3",
    )
    .bind(tenant.0)
    .bind(campaign)
    .bind(code)
    .fetch_one(ex)
    .await
}

/// Recipients a campaign claimed for sending since `since` (Unix ms): what today's cap counts.
pub async fn claimed_since<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    campaign: i64,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_recipients WHERE tenant_id = $1 AND campaign_id = $2 AND sending_at >= $3",
    )
    .bind(tenant.0)
    .bind(campaign)
    .bind(since)
    .fetch_one(ex)
    .await
}
