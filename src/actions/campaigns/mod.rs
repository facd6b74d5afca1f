//! Campaigns ("campanhas"): supervisors write a marketing message (up to five variations, a
//! template for contacts outside the 24-hour window), choose an audience (tags, a list of
//! numbers, everyone) and a pace (rate per minute, random spacing, daily cap, business hours
//! only), and start it. Starting freezes the audience into one recipient row per contact — only
//! contacts with marketing consent; the rest are counted as excluded — and the `campaigns.send`
//! job sends them (`run`). Pause, resume and cancel take effect before the next send.
//!
//! Never twice: see [`run`]. Campaigns can be switched off per company (`feature_disabled`).

pub mod export;
pub mod run;

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::campaigns::{self as rules, Audience, Command, Status};
use crate::domain::jobs::JobKind;
use crate::domain::outbound::Attached;
use crate::domain::{phone, TenantId};
pub use crate::store::campaign_recipients::Recipient;
pub use crate::store::campaigns::Campaign;
use crate::store::campaigns::CampaignFields;
use crate::store::jobs::NewJob;
use crate::store::{self, Tx};

/// What people fill in to create or edit a campaign.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: String,
    /// The number it goes out through (default: the company's first active connection).
    pub connection_id: Option<i64>,
    /// Up to five texts; each recipient gets one. `{{nome}}`, `{{telefone}}`, `{{email}}` and
    /// custom fields are filled from the contact.
    #[serde(default)]
    pub variations: Vec<String>,
    /// An approved template of the number, sent to contacts outside the 24-hour window (its
    /// parameters filled as mapped on Modelos).
    pub template_id: Option<i64>,
    /// A file by link sent with the text (the text goes as its caption) to contacts inside the
    /// window.
    pub media: Option<crate::actions::composer::MediaLink>,
    /// A file uploaded on the page, checked and stored (`composer::store_upload`); never read
    /// from a request, so nobody names another company's file.
    #[serde(skip)]
    #[schema(ignore)]
    pub upload: Option<Attached>,
    /// Every contact of the company.
    #[serde(default)]
    pub all_contacts: bool,
    /// Contacts with any of these tags.
    #[serde(default)]
    pub tag_ids: Vec<i64>,
    /// These numbers (international form; numbers that are not contacts are left out).
    #[serde(default)]
    pub phones: Vec<String>,
    /// The contacts a saved filter (`/contacts`, "Salvar filtro") matches when it starts.
    pub filter_id: Option<i64>,
    /// Put on the ticket a customer's reply opens.
    pub reply_tag_id: Option<i64>,
    /// Local date and time in the company's time zone, "2026-12-24T09:30" (default: at once).
    pub start: Option<String>,
    /// Send only within the company's business hours.
    #[serde(default)]
    pub business_hours: bool,
    /// Messages a minute (1 to 4,800; default 20).
    pub rate_per_minute: Option<i64>,
    /// Random spacing between sends, ± this share of the interval (0 to 90 %; default 30).
    pub spacing_pct: Option<i64>,
    /// At most this many sends a day (company's day).
    pub daily_cap: Option<i64>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ActionError {
    ActionError::invalid(code, message)
}

/// Refuses everything campaigns do when the company's plan switched them off.
async fn require_enabled(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    if !store::campaigns::enabled(app.db.reader(), tenant).await? {
        return Err(ActionError::Disabled {
            code: "feature_disabled",
            message: "campaigns are not part of this company's plan".into(),
        });
    }
    Ok(())
}

/// Whether the company may use campaigns (pages hide the menu entry otherwise).
pub async fn enabled(app: &App, tenant: TenantId) -> ActionResult<bool> {
    Ok(store::campaigns::enabled(app.db.reader(), tenant).await?)
}

/// The plan's switch (the platform admin's; the SaaS plans set it).
pub async fn set_enabled(app: &App, actor: &Actor, tenant: TenantId, on: bool) -> ActionResult<()> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    if !store::campaigns::set_enabled(app.db.writer(), tenant, on).await? {
        return Err(ActionError::NotFound);
    }
    Ok(())
}

struct Checked {
    name: String,
    connection_id: i64,
    variations: Vec<String>,
    audience: Audience,
    media: Option<Attached>,
    start_at: i64,
    rate: i64,
    spacing: i64,
}

async fn check(tx: &mut Tx, tenant: TenantId, input: &CampaignInput, now: i64) -> ActionResult<Checked> {
    let variations: Vec<String> =
        input.variations.iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    let rate = input.rate_per_minute.unwrap_or(20);
    let spacing = input.spacing_pct.unwrap_or(30);
    let has_other = input.template_id.is_some() || input.upload.is_some() || input.media.is_some();
    rules::check_fields(&input.name, &variations, has_other, rate, spacing, input.daily_cap)
        .map_err(|(code, message)| invalid(code, message))?;
    let connection = match input.connection_id {
        Some(id) => store::connections::get(&mut **tx, tenant, id)
            .await?
            .filter(|c| c.removed_at.is_none())
            .ok_or_else(|| invalid("unknown_connection", "no such connection"))?,
        None => store::connections::list(&mut **tx, tenant)
            .await?
            .into_iter()
            .find(|c| c.active && c.removed_at.is_none())
            .ok_or_else(|| invalid("no_connection", "connect a WhatsApp number first"))?,
    };
    if let Some(t) = input.template_id {
        crate::actions::templates::approved(tx, tenant, t, Some(connection.id)).await?;
    }
    for tag in input.tag_ids.iter().chain(input.reply_tag_id.iter()) {
        store::tags::get(&mut **tx, tenant, *tag).await?.ok_or_else(|| invalid("unknown_tag", "no such tag"))?;
    }
    let mut phones = Vec::new();
    for p in input.phones.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let digits = phone::normalize(p, None)
            .ok_or_else(|| invalid("invalid_phone", format!("{p} is not a phone number in international form")))?;
        if !phones.contains(&digits) {
            phones.push(digits);
        }
    }
    if phones.len() > 10_000 {
        return Err(invalid("too_many_phones", "a list has at most 10,000 numbers: import them with a tag instead"));
    }
    let audience =
        Audience { all: input.all_contacts, tags: input.tag_ids.clone(), phones, filter_id: input.filter_id };
    saved_filter(tx, tenant, &audience).await?;
    if audience.is_empty() {
        return Err(invalid("audience_required", "choose who receives the campaign"));
    }
    let start_at = match input.start.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => now,
        Some(s) => {
            let local = crate::domain::schedules::parse_local(s)
                .ok_or_else(|| invalid("invalid_start", "the start is a date and time, e.g. 2026-12-24T09:30"))?;
            let tz = company_zone(tx, tenant).await?;
            crate::domain::schedules::resolve_local(tz, local)
                .ok_or_else(|| invalid("invalid_start", "that local time does not exist (a summer-time change)"))?
        }
    };
    let media = match (&input.upload, &input.media) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(link)) => Some(link.attached()?),
        (None, None) => None,
    };
    if let Some(m) = &media {
        check_media(m, &variations)?;
    }
    Ok(Checked {
        media,
        name: input.name.trim().to_string(),
        connection_id: connection.id,
        variations,
        audience,
        start_at,
        rate,
        spacing,
    })
}

/// A campaign's file: each variation goes as its caption, so it must fit one (and audio takes
/// none); a link must be one WhatsApp can fetch.
fn check_media(m: &Attached, variations: &[String]) -> ActionResult<()> {
    if !m.takes_text() && !variations.is_empty() {
        return Err(invalid("invalid_media", "an audio file goes without text: leave the variations empty"));
    }
    if variations.iter().any(|v| v.chars().count() > crate::actions::composer::CAPTION_MAX) {
        return Err(invalid("invalid_caption", "with a file, each variation has at most 1024 characters"));
    }
    m.content("").validate().map_err(|e| invalid("invalid_media", e))
}

async fn company_zone(tx: &mut Tx, tenant: TenantId) -> ActionResult<chrono_tz::Tz> {
    let name = store::automation::time_zone(&mut **tx, tenant).await?;
    Ok(crate::domain::hours::parse_tz(&name).unwrap_or(chrono_tz::America::Sao_Paulo))
}

fn fields<'a>(c: &'a Checked, input: &CampaignInput) -> CampaignFields<'a> {
    CampaignFields {
        name: &c.name,
        connection_id: c.connection_id,
        variations: &c.variations,
        template_id: input.template_id,
        media: c.media.as_ref(),
        audience: &c.audience,
        tag_id: input.reply_tag_id,
        start_at: c.start_at,
        business_hours: input.business_hours,
        rate_per_minute: c.rate,
        spacing_pct: c.spacing,
        daily_cap: input.daily_cap,
    }
}

async fn audit(tx: &mut Tx, actor: &Actor, tenant: TenantId, what: &str, id: i64, now: i64) -> ActionResult<()> {
    let data = serde_json::json!({});
    store::audit::record(&mut **tx, tenant, &actor.label(), what, &format!("campaign:{id}"), &data, now).await?;
    Ok(())
}

/// Creates a draft.
pub async fn create(app: &App, actor: &Actor, tenant: TenantId, input: CampaignInput) -> ActionResult<Campaign> {
    require_enabled(app, actor, tenant).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::CampaignsPerMonth, 1).await?;
    let c = check(&mut tx, tenant, &input, now).await?;
    let id = store::campaigns::insert(&mut *tx, tenant, &fields(&c, &input), &actor.label(), now).await?;
    audit(&mut tx, actor, tenant, "campaign.created", id, now).await?;
    tx.commit().await?;
    get(app, actor, tenant, id).await
}

/// Rewrites a draft (`campaign_not_draft` once it started).
pub async fn update(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: CampaignInput,
) -> ActionResult<Campaign> {
    require_enabled(app, actor, tenant).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::campaigns::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let c = check(&mut tx, tenant, &input, now).await?;
    if !store::campaigns::update_draft(&mut *tx, tenant, id, &fields(&c, &input), now).await? {
        return Err(ActionError::Conflict {
            code: "campaign_not_draft",
            message: "a campaign that started can no longer be edited".into(),
        });
    }
    audit(&mut tx, actor, tenant, "campaign.updated", id, now).await?;
    tx.commit().await?;
    get(app, actor, tenant, id).await
}

/// Start, pause, resume or cancel. Starting freezes the audience; cancelling skips the
/// recipients not sent yet.
pub async fn command(app: &App, actor: &Actor, tenant: TenantId, id: i64, command: &str) -> ActionResult<Campaign> {
    require_enabled(app, actor, tenant).await?;
    let cmd = Command::parse(command)
        .ok_or_else(|| invalid("invalid_command", "the command is start, pause, resume or cancel"))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let campaign = store::campaigns::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let (from, to) = cmd.moves();
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    if !store::campaigns::set_status(&mut *tx, tenant, id, &from, to.as_str(), now).await? {
        return Err(ActionError::Conflict {
            code: "invalid_campaign_state",
            message: format!("the campaign is {}: it cannot {command}", campaign.status),
        });
    }
    match cmd {
        Command::Start => {
            let filter = saved_filter(&mut tx, tenant, &campaign.audience).await?;
            let (included, _) =
                store::campaigns::freeze_audience(&mut tx, tenant, id, &campaign.audience, filter.as_ref(), now)
                    .await?;
            if included == 0 {
                return Err(invalid(
                    "empty_audience",
                    "no contact of this audience has marketing consent: nobody would receive it",
                ));
            }
            wake(&mut tx, tenant, id, campaign.start_at.max(now), now).await?;
        }
        Command::Resume => wake(&mut tx, tenant, id, now, now).await?,
        Command::Cancel => {
            store::campaign_recipients::skip_remaining(&mut *tx, tenant, id, "the campaign was cancelled", now).await?;
        }
        Command::Pause => {}
    }
    audit(&mut tx, actor, tenant, &format!("campaign.{command}"), id, now).await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    get(app, actor, tenant, id).await
}

/// A person decided: the recipients whose send is `unknown` go again (Atende never resends them
/// on its own). A finished campaign runs again for them.
pub async fn resend_unknown(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<u64> {
    require_enabled(app, actor, tenant).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let campaign = store::campaigns::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    if Status::parse(&campaign.status).is_none_or(|s| matches!(s, Status::Draft | Status::Cancelled)) {
        return Err(ActionError::Conflict {
            code: "invalid_campaign_state",
            message: format!("the campaign is {}", campaign.status),
        });
    }
    let n = store::campaign_recipients::requeue_unknown(&mut *tx, tenant, id, now).await?;
    if n > 0 {
        store::campaigns::set_status(&mut *tx, tenant, id, &["finished"], "running", now).await?;
        wake(&mut tx, tenant, id, now, now).await?;
        audit(&mut tx, actor, tenant, "campaign.resend_unknown", id, now).await?;
    }
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(n)
}

/// Enqueues a send run for the campaign at `at` (one per instant, by its key).
pub(crate) async fn wake(tx: &mut Tx, tenant: TenantId, id: i64, at: i64, now: i64) -> ActionResult<()> {
    let key = format!("campaign:{id}:at:{at}");
    let payload = serde_json::json!({ "campaign_id": id });
    let job = NewJob {
        tenant_id: tenant,
        kind: JobKind::Campaigns.as_str(),
        payload: &payload,
        run_at: at,
        max_attempts: 20,
        dedupe_key: Some(&key),
    };
    store::jobs::enqueue(&mut **tx, job, now).await?;
    Ok(())
}

/// The scheduler's minute: a send run for every running campaign (a run already sending for
/// it makes the new one end at once), so a campaign whose runs all died goes on.
pub async fn keep_running(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now_ms();
    let running = store::campaigns::running(app.db.reader(), now, 1000).await?;
    if running.is_empty() {
        return Ok(0);
    }
    let mut tx = app.db.begin().await?;
    for (tenant, id) in &running {
        wake(&mut tx, *tenant, *id, now - now % 60_000, now).await.map_err(anyhow::Error::from)?;
    }
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(running.len())
}

/// The numbers a campaign may go out through: (id, name), active ones only.
pub async fn connections(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, String)>> {
    actor.require_supervisor_of(tenant)?;
    let all = store::connections::list(app.db.reader(), tenant).await?;
    Ok(all.into_iter().filter(|c| c.active && c.removed_at.is_none()).map(|c| (c.id, c.name)).collect())
}

pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Campaign> {
    actor.require_supervisor_of(tenant)?;
    store::campaigns::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Campaign>> {
    require_enabled(app, actor, tenant).await?;
    Ok(store::campaigns::list(app.db.reader(), tenant).await?)
}

/// Recipients per state, every state listed (zeros included), in [`rules::RecipientState::ALL`]
/// order.
pub async fn counts(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Vec<(&'static str, i64)>> {
    get(app, actor, tenant, id).await?;
    let stored = store::campaign_recipients::counts(app.db.reader(), tenant, id).await?;
    Ok(rules::RecipientState::ALL
        .iter()
        .map(|s| (s.as_str(), stored.iter().find(|(k, _)| k == s.as_str()).map(|(_, n)| *n).unwrap_or(0)))
        .collect())
}

/// A page of recipients (id order after `after`), optionally in one state.
pub async fn recipients(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    state: Option<&str>,
    after: i64,
    limit: i64,
) -> ActionResult<Vec<Recipient>> {
    get(app, actor, tenant, id).await?;
    if let Some(s) = state.filter(|s| rules::RecipientState::parse(s).is_none()) {
        return Err(invalid("invalid_state", format!("{s} is not a recipient state")));
    }
    Ok(store::campaign_recipients::recipients(app.db.reader(), tenant, id, state, after, limit.clamp(1, 1000)).await?)
}

/// How many contacts an audience reaches and how many have marketing consent (the form shows
/// both before starting).
pub async fn audience_preview(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    audience: &Audience,
) -> ActionResult<(i64, i64)> {
    require_enabled(app, actor, tenant).await?;
    let mut conn = app.db.reader().acquire().await?;
    let filter = saved_filter(&mut conn, tenant, audience).await?;
    Ok(store::campaigns::audience_size(&mut conn, tenant, audience, filter.as_ref()).await?)
}

/// The criteria of the audience's saved filter as they are now (a filter removed since the
/// draft was saved is `unknown_filter`).
async fn saved_filter(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    audience: &Audience,
) -> ActionResult<Option<crate::domain::contacts::ContactCriteria>> {
    let Some(id) = audience.filter_id else { return Ok(None) };
    let saved = store::contact_filters::get(&mut *conn, tenant, id).await?;
    let saved =
        saved.ok_or_else(|| invalid("unknown_filter", "the saved filter was removed: choose another audience"))?;
    Ok(Some(saved.criteria))
}
