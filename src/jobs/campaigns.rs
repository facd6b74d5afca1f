//! `campaigns.send`: sends a running campaign's recipients for up to [`RUN_BUDGET`] (or until
//! shutdown), at the campaign's pace and never faster than the connection's rate, then hands over
//! to its successor run. One run sends for a campaign at a time (the campaign's runner lease); the decisions and
//! the "never twice" rule live in [`crate::actions::campaigns::run`].
//!
//! Provider calls overlap (up to [`MAX_IN_FLIGHT`]) so a slow provider does not slow the pace;
//! each recipient's `sending` is committed before its call.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use rand::Rng;
use serde::Deserialize;
use tokio::sync::watch;

use super::JobError;
use crate::actions::campaigns::run::{self as decide, Context, Outcome, Prepared};
use crate::app::App;
use crate::channels::ProviderError;
use crate::domain::campaigns as rules;
use crate::domain::connection::ConnectionState;
use crate::domain::outbound::{Outbound, Recipient as To};
use crate::domain::retry::backoff;
use crate::store::campaign_recipients::Recipient;
use crate::store::connections::Connection;
use crate::store::jobs::Job;
use crate::store::{self};

/// How long one run sends before its successor takes over. Long, because a hand-over costs the
/// pace a few hundred milliseconds (20-second runs lost ~1.5 % of the rate); the runner lease is
/// renewed every round, and a shutdown ends the run at once, so a long budget holds nothing up.
const RUN_BUDGET: Duration = Duration::from_secs(300);
/// Provider calls one run keeps going at once.
const MAX_IN_FLIGHT: usize = 8;
/// Recipients read per round.
const BATCH: i64 = 50;

#[derive(Deserialize)]
struct Payload {
    campaign_id: i64,
}

/// Where the campaign goes on.
enum Next {
    /// Nothing more to do now (finished, paused, cancelled, or another run sends).
    Done,
    /// Another run at this instant (Unix ms).
    At(i64),
}

pub async fn run(app: &App, job: &Job, shutdown: &watch::Receiver<bool>) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let tenant = job.tenant_id;
    // The job's id names the run across its attempts; the lease token, this attempt.
    let job_prefix = format!("{}:", job.id.0);
    let token = format!("{job_prefix}{}", job.lease_token);
    let lease_ms = (app.settings.job_lease_secs * 1000) as i64;
    let real = crate::clock::now_ms();
    let (w, id) = (app.db.writer(), p.campaign_id);
    if !store::campaigns::take_runner(w, tenant, id, &token, &job_prefix, real, real + lease_ms).await? {
        return Ok(()); // another run sends for it (or it is not running)
    }
    let next = send_for_a_while(app, tenant, p.campaign_id, &token, lease_ms, shutdown).await;
    store::campaigns::release_runner(app.db.writer(), tenant, p.campaign_id, &token).await?;
    if let Next::At(at) = next? {
        let now = app.clock.now_ms();
        let mut tx = app.db.begin().await?;
        crate::actions::campaigns::wake(&mut tx, tenant, p.campaign_id, at.max(now), now)
            .await
            .map_err(|e| JobError::Retry(anyhow::anyhow!("{e}")))?;
        tx.commit().await?;
        app.jobs_wakeup.notify_one();
    }
    Ok(())
}

/// A provider call that ended: the recipient and what the provider answered.
type Done = (Recipient, Result<String, ProviderError>);

/// Calls in flight. They touch no database connection: outcomes are recorded by the run's own
/// loop, so a call left unpolled while the loop waits for the (single SQLite) writer never holds
/// that writer.
type InFlight<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = Done> + Send + 'a>>>;

/// Sleeps until `until_us` (the app's clock, µs) while recording the calls that end meanwhile;
/// true when one asked the campaign to stop (the number's token was refused).
async fn sleep_polling(app: &App, ctx: &Context, in_flight: &mut InFlight<'_>, until_us: i64) -> bool {
    let mut stop = false;
    loop {
        let wait = until_us - app.clock.now_us();
        if wait <= 0 {
            return stop;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_micros(wait as u64)) => return stop,
            Some(done) = in_flight.next(), if !in_flight.is_empty() => stop |= settle(app, ctx, done).await,
        }
    }
}

async fn drain(app: &App, ctx: &Context, in_flight: &mut InFlight<'_>) -> bool {
    let mut stop = false;
    while let Some(done) = in_flight.next().await {
        stop |= settle(app, ctx, done).await;
    }
    stop
}

fn usable(c: &Connection) -> Result<(), &'static str> {
    if !c.active || c.removed_at.is_some() {
        return Err("the connection is not active");
    }
    if c.needs_reauth {
        return Err("the number's access token expired or was revoked: an admin must reconnect it");
    }
    Ok(())
}

async fn pause_with(app: &App, ctx: &Context, reason: &str) -> Result<(), JobError> {
    let now = app.clock.now_ms();
    let (tenant, id) = (ctx.campaign.tenant_id, ctx.campaign.id);
    store::campaigns::set_status(app.db.writer(), tenant, id, &["running"], "paused", now).await?;
    store::campaigns::set_error(app.db.writer(), tenant, id, Some(reason), now).await?;
    tracing::warn!(campaign.id = id, reason, "campaign paused");
    Ok(())
}

/// Uploads the campaign's stored file to Graph once for this run, so every recipient's message
/// names the same media id (Graph keeps it 30 days; a run lasts seconds). `Err(next)`: not now —
/// a refused file pauses the campaign, a passing failure retries in 30 s.
async fn upload_file(app: &App, ctx: &mut Context) -> Result<Result<(), Next>, JobError> {
    use crate::domain::outbound::MediaSource;
    let Some(media) = ctx.campaign.media.as_mut() else { return Ok(Ok(())) };
    let MediaSource::Stored { sha256, mime } = media.source.clone() else { return Ok(Ok(())) };
    if ctx.connection.kind == crate::actions::qr_sessions::KIND {
        return Ok(Ok(())); // a WhatsApp Web number takes text variations only (see provider_send)
    }
    let Ok(data) = store::files::read(&app.settings.data_dir, &sha256).await else {
        pause_with(app, ctx, "the campaign's file is missing from the media store").await?;
        return Ok(Err(Next::Done));
    };
    let (token, _) = crate::actions::connections::secrets(app, &ctx.connection)?;
    let account = super::whatsapp_send::account(app, &ctx.connection, &token);
    let name = media
        .filename
        .clone()
        .unwrap_or_else(|| format!("{}.{}", media.kind.as_str(), crate::domain::media::extension(&mime)));
    match app.graph.upload_media(&account, data, &mime, &name).await {
        Ok(id) => {
            media.source = MediaSource::Id(id);
            Ok(Ok(()))
        }
        Err(e) => match ProviderError::from(e) {
            ProviderError::Permanent { title, .. } => {
                pause_with(app, ctx, &format!("WhatsApp refused the campaign's file: {title}")).await?;
                Ok(Err(Next::Done))
            }
            other => {
                tracing::warn!(campaign.id = ctx.campaign.id, error = %other, "uploading the campaign's file failed; trying again soon");
                Ok(Err(Next::At(app.clock.now_ms() + 30_000)))
            }
        },
    }
}

async fn send_for_a_while(
    app: &App,
    tenant: crate::domain::TenantId,
    id: i64,
    token: &str,
    lease_ms: i64,
    shutdown: &watch::Receiver<bool>,
) -> Result<Next, JobError> {
    let now = app.clock.now_ms();
    let orphans = store::campaign_recipients::orphans_to_unknown(app.db.writer(), tenant, id, token, now).await?;
    if orphans > 0 {
        tracing::warn!(
            campaign.id = id,
            orphans,
            "sends an earlier run left open are now unknown (never resent blindly)"
        );
    }
    let Some(mut ctx) = decide::context(app, tenant, id).await? else { return Ok(Next::Done) };
    if ctx.campaign.status != rules::Status::Running.as_str() {
        return Ok(Next::Done);
    }
    if let Err(reason) = usable(&ctx.connection) {
        pause_with(app, &ctx, reason).await?;
        return Ok(Next::Done);
    }
    if let Err(next) = upload_file(app, &mut ctx).await? {
        return Ok(next);
    }
    let started = Instant::now();
    let mut in_flight: InFlight<'_> = FuturesUnordered::new();
    let mut stop = false;
    // This run's pace (the next send's earliest instant, µs) and the company's day with the
    // sends claimed in it (for the daily cap).
    let mut next_us = app.clock.now_us();
    let mut day: (i64, i64) = (i64::MIN, 0);
    let next = 'run: loop {
        let now = app.clock.now_ms();
        if started.elapsed() > RUN_BUDGET || stop || *shutdown.borrow() {
            break Next::At(now);
        }
        let until = crate::clock::now_ms() + lease_ms;
        if !store::campaigns::renew_runner(app.db.writer(), tenant, id, token, until).await? {
            break Next::Done; // paused, cancelled, or (after a stall) another run took over
        }
        if ctx.campaign.start_at > now {
            break Next::At(ctx.campaign.start_at);
        }
        if ctx.campaign.business_hours {
            let open = decide::open_at(app, tenant, now).await?;
            if open > now {
                break Next::At(open);
            }
        }
        if ctx.connection.kind == crate::actions::qr_sessions::KIND {
            let state = store::connections::get(app.db.reader(), tenant, ctx.connection.id).await?.map(|c| c.state);
            if state != Some(ConnectionState::Connected) {
                break Next::At(now + 30_000); // the session is down: wait, send nothing
            }
        }
        let batch = store::campaign_recipients::next_queued(app.db.writer(), tenant, id, now, BATCH).await?;
        if batch.is_empty() {
            if !in_flight.is_empty() {
                stop |= drain(app, &ctx, &mut in_flight).await;
                continue;
            }
            if let Some(at) = store::campaign_recipients::next_not_before(app.db.writer(), tenant, id).await? {
                break Next::At(at.max(now + 1_000));
            }
            store::campaigns::set_status(app.db.writer(), tenant, id, &["running"], "finished", now).await?;
            tracing::info!(campaign.id = id, "campaign finished");
            break Next::Done;
        }
        for r in batch {
            if started.elapsed() > RUN_BUDGET || stop || *shutdown.borrow() {
                continue 'run;
            }
            // The pacing slot first, then this recipient's reads while it comes: the reads do
            // not add up into the interval, so the pace holds. Only this run sends for the
            // campaign, so its pace lives here; the day's count is read once per run and day.
            let now = app.clock.now_ms();
            let (today_start, tomorrow) = decide::local_day_bounds(&ctx, now);
            if day.0 != today_start {
                let claimed =
                    store::campaign_recipients::claimed_since(app.db.writer(), tenant, id, today_start).await?;
                day = (today_start, claimed);
            }
            if ctx.campaign.daily_cap.is_some_and(|cap| day.1 >= cap) {
                break 'run Next::At(tomorrow); // today's cap is reached
            }
            let unit: f64 = rand::thread_rng().gen();
            let interval = rules::interval_us(ctx.campaign.rate_per_minute, ctx.campaign.spacing_pct, unit);
            let slot_us = next_us.max(app.clock.now_us());
            next_us = slot_us + interval;
            let (content, variation, body, contact) = match decide::prepare(app, &ctx, &r, now).await? {
                Prepared::Refuse { state, code, message } => {
                    next_us = slot_us; // nothing goes: the slot is given back
                    decide::refuse(app, tenant, &r, state, code, &message).await?;
                    continue;
                }
                Prepared::Send { content, variation, body, contact } => (content, variation, body, contact),
            };
            // Read before the claim: after it, an error here would leave the recipient `sending`.
            let address = super::whatsapp_send::address_of(app, &contact).await?;
            stop |= sleep_polling(app, &ctx, &mut in_flight, slot_us).await;
            // `sending` and the connection's slot in one commit, right before the call.
            let now = app.clock.now_ms();
            let mut tx = app.db.begin().await?;
            if !store::campaign_recipients::claim(&mut *tx, tenant, r.id, token, variation, &body, now).await? {
                drop(tx);
                // Opted out (or settled) a moment ago: nothing goes.
                if let Some(c) = store::contacts::get(app.db.reader(), tenant, r.contact_id).await? {
                    if c.consent().as_str() != "marketing_opt_in" {
                        let message = "the contact withdrew marketing consent";
                        let state = rules::RecipientState::OptedOut;
                        decide::refuse(app, tenant, &r, state, "marketing_consent_required", message).await?;
                    }
                }
                continue;
            }
            let connection_slot_us =
                store::connections::reserve_send_slot_in(&mut tx, app.db.backend, tenant, ctx.connection.id, now)
                    .await?;
            tx.commit().await?;
            day.1 += 1;
            stop |= sleep_polling(app, &ctx, &mut in_flight, connection_slot_us).await;
            while in_flight.len() >= MAX_IN_FLIGHT {
                if let Some(done) = in_flight.next().await {
                    stop |= settle(app, &ctx, done).await;
                }
            }
            let outbound = decide::outbound(content);
            let connection = &ctx.connection;
            in_flight.push(Box::pin(async move {
                let result = provider_send(app, connection, address, &outbound, r.id).await;
                (r, result)
            }));
            // Polled once at once, so the request leaves at its slot and not after the next
            // recipient's reads (that delay would bunch sends past the provider's rate).
            tokio::select! {
                biased;
                Some(done) = in_flight.next() => stop |= settle(app, &ctx, done).await,
                _ = std::future::ready(()) => {}
            }
        }
    };
    if drain(app, &ctx, &mut in_flight).await {
        stop = true;
    }
    if stop {
        pause_with(app, &ctx, "the number's access token was refused: an admin must reconnect it").await?;
        return Ok(Next::Done);
    }
    Ok(next)
}

/// Records how a call ended; true when the campaign must stop (the token was refused: every
/// further send would fail).
async fn settle(app: &App, ctx: &Context, (r, result): Done) -> bool {
    let tenant = ctx.campaign.tenant_id;
    let attempts = r.attempts + 1;
    let (outcome, stop) = match result {
        Ok(id) => (Outcome::Sent(id), false),
        Err(e) => classify(e, attempts, app.clock.now_ms()),
    };
    let mut outcome = Some(outcome);
    for attempt in 0..5u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        let Some(o) = outcome.take() else { break };
        match decide::record(app, tenant, &r, attempts, o.clone()).await {
            Ok(()) => return stop,
            // Left `sending`, the next run makes it `unknown`: never resent blindly.
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), recipient = r.id, "recording a campaign send failed");
                outcome = Some(o);
            }
        }
    }
    stop
}

/// What a provider error means for the recipient: Meta's error answers say the message did not
/// go (retry later); no answer at all leaves it open (`unknown`).
fn classify(e: ProviderError, attempts: i64, now: i64) -> (Outcome, bool) {
    let reason = e.reason();
    let code = e.code();
    let later = |d: Duration| now + d.as_millis() as i64;
    match e {
        ProviderError::Transient { code: Some(131049), .. } => {
            (Outcome::NotSent { code, reason, retry_at: later(Duration::from_secs(4 * 3600)) }, false)
        }
        ProviderError::Transient { code: Some(_), .. } => {
            let retry_at = later(backoff(attempts as u32).max(Duration::from_secs(5)));
            (Outcome::NotSent { code, reason, retry_at }, false)
        }
        ProviderError::Transient { code: None, .. } => (Outcome::Unknown { reason }, false),
        ProviderError::RecipientThrottled { .. } => {
            (Outcome::NotSent { code, reason, retry_at: later(Duration::from_secs(60)) }, false)
        }
        ProviderError::Disconnected { .. } => {
            (Outcome::NotSent { code, reason, retry_at: later(Duration::from_secs(30)) }, false)
        }
        ProviderError::Permanent { code: Some(131050), .. } => (Outcome::Stopped { code, reason }, false),
        ProviderError::Permanent { .. } => (Outcome::Failed { code, reason }, false),
        ProviderError::Auth { .. } => (Outcome::NotSent { code, reason, retry_at: now }, true),
    }
}

/// Calls the connection's provider once: the Graph API (text or template, with the recipient's
/// callback data) or the WhatsApp Web gateway (text).
async fn provider_send(
    app: &App,
    connection: &Connection,
    (phone, user_id): (String, Option<String>),
    outbound: &Outbound,
    recipient: i64,
) -> Result<String, ProviderError> {
    let refused = |title: &str| ProviderError::Permanent { code: None, title: title.to_string() };
    if connection.kind == crate::actions::qr_sessions::KIND {
        let crate::domain::outbound::OutboundContent::Text { body, .. } = &outbound.content else {
            return Err(refused("templates are for WhatsApp Cloud API numbers; write a text variation"));
        };
        let number: String = phone.chars().filter(char::is_ascii_digit).collect();
        if number.is_empty() {
            return Err(refused("the contact has no phone number"));
        }
        let token = crate::actions::qr_sessions::token(app, connection)
            .map_err(|_| refused("the gateway key cannot be read"))?;
        let instance = crate::actions::qr_sessions::instance(connection, &token);
        let send = crate::channels::whatsapp_qr::client::Send::Text { text: body };
        return app.gateway.send(&instance, &number, send).await;
    }
    let to = match &user_id {
        Some(u) => To::UserId(u),
        None if phone.is_empty() => return Err(refused("the contact has no WhatsApp address")),
        None => To::Phone(&phone),
    };
    let (token, _) = crate::actions::connections::secrets(app, connection)
        .map_err(|_| refused("the access token cannot be read"))?;
    let account = super::whatsapp_send::account(app, connection, &token);
    let body = outbound.request_json(to, Some(&rules::callback_data(recipient)));
    Ok(app.graph.send_message(&account, &body).await?)
}
