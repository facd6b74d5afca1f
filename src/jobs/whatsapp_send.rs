//! `whatsapp.send`: sends one queued message through its connection's provider (the Graph API,
//! or the WhatsApp Web gateway of a QR-code connection), and `whatsapp.mark_read`.
//!
//! A message whose provider id is recorded is never sent again: the id, the `sent` status, the
//! statuses that arrived by webhook before it (kept as pending) and the job's completion commit in
//! one transaction. Transient failures go back to the runner's ladder until the last try, which
//! marks the message failed with the reason; permanent failures mark it failed at once. The
//! connection's send slots (rows in the database, shared by every worker and instance) keep the
//! configured rate.

use std::time::Duration;

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::channels::whatsapp_cloud::graph::{Account, GraphError};
use crate::channels::ProviderError;
use crate::config::Secret;
use crate::domain::contacts::IdentityKind;
use crate::domain::message::DeliveryStatus;
use crate::domain::outbound::{callback_data, MediaSource, Outbound, OutboundContent, Recipient};
use crate::domain::retry::backoff;
use crate::store::connections::Connection;
use crate::store::jobs::Job;
use crate::store::messages::StoredMessage;
use crate::store::{self};

/// The least wait after Meta's 131056 (pair rate limit: about one message per 6 s to one user).
const RECIPIENT_BACKOFF: Duration = Duration::from_secs(6);

#[derive(Deserialize)]
struct Payload {
    message_id: i64,
}

fn payload(job: &Job) -> Result<Payload, JobError> {
    serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))
}

/// How to reach a connection's Graph API; calls pass the network guard unless its URL is trusted
/// or the operator allows private networks.
pub(super) fn account<'a>(app: &App, c: &'a Connection, token: &'a Secret) -> Account<'a> {
    Account {
        graph_url: &c.graph_url,
        api_version: &c.api_version,
        phone_number_id: &c.phone_number_id,
        access_token: token.expose(),
        guarded: !(c.graph_url_trusted || app.settings.allow_private_networks),
    }
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p = payload(job)?;
    let tenant = job.tenant_id;
    let Some(message) = store::messages::get(app.db.reader(), tenant, p.message_id).await? else {
        return Ok(()); // deleted meanwhile: nothing to send
    };
    if message.direction != "out" || message.provider_id.is_some() || message.status != DeliveryStatus::Queued.as_str()
    {
        // Sent (or settled) by an earlier run: never twice.
        return Ok(());
    }
    let Some(connection) = store::connections::get(app.db.reader(), tenant, message.connection_id).await? else {
        return finish_failed(app, job, &message, None, "the connection was removed").await;
    };
    if !connection.active {
        return finish_failed(app, job, &message, None, "the connection is not active").await;
    }
    if connection.needs_reauth {
        let title = "the access token expired or was revoked; an admin must reconnect this number";
        return finish_failed(app, job, &message, Some(190), title).await;
    }
    let Some(contact) = store::contacts::get(app.db.reader(), tenant, message.contact_id).await? else {
        return finish_failed(app, job, &message, None, "the contact was removed").await;
    };
    let (phone, user_id) = address_of(app, &contact).await?;
    let to = match &user_id {
        Some(u) => Recipient::UserId(u),
        None if phone.is_empty() => {
            return finish_failed(app, job, &message, None, "the contact has no WhatsApp address").await
        }
        None => Recipient::Phone(&phone),
    };
    let Ok(mut outbound) = serde_json::from_str::<Outbound>(&message.payload) else {
        return finish_failed(app, job, &message, None, "the stored message cannot be read").await;
    };
    if connection.kind == crate::actions::qr_sessions::KIND {
        return super::gateway_send::run(app, job, &message, &connection, &phone, &outbound).await;
    }
    let (token, _) = crate::actions::connections::secrets(app, &connection)?;
    let account = account(app, &connection, &token);

    // A file people attached is uploaded first, then sent by its media id.
    if let OutboundContent::Media { kind, source: source @ MediaSource::Stored { .. }, filename, .. } =
        &mut outbound.content
    {
        let MediaSource::Stored { sha256, mime } = source.clone() else { return Ok(()) };
        let Ok(data) = store::files::read(&app.settings.data_dir, &sha256).await else {
            return finish_failed(app, job, &message, None, "the attached file is missing").await;
        };
        let name =
            filename.clone().unwrap_or_else(|| format!("{}.{}", kind.as_str(), crate::domain::media::extension(&mime)));
        match app.graph.upload_media(&account, data, &mime, &name).await {
            Ok(id) => *source = MediaSource::Id(id),
            Err(e) => return settle_error(app, job, &message, &connection, e.into()).await,
        }
    }

    // Checked again late (the upload takes time): a run that lost its lease, or whose message
    // another run sent and recorded meanwhile, sends nothing. Before the slot, not after it: the
    // checks read from the database, and their varying latency between slot and call would
    // bunch sends past the connection's rate.
    if !super::still_holds(app, job).await? {
        return Err(JobError::LeaseLost);
    }
    if !still_unsent(app, &message).await? {
        return Ok(());
    }
    wait_for_send_slot(app, &connection).await?;
    let body = outbound.request_json(to, Some(&callback_data(message.id)));
    match app.graph.send_message(&account, &body).await {
        Ok(wamid) => record_sent(app, job, &message, &connection, &wamid).await,
        Err(e) => settle_error(app, job, &message, &connection, e.into()).await,
    }
}

/// Where a contact is reached: its WhatsApp number (its `wa_id`, else its phone) and, for a
/// customer who shows a username instead of a number (no phone), the business-scoped user id
/// Meta takes as `recipient`.
pub(super) async fn address_of(
    app: &App,
    contact: &crate::store::contacts::Contact,
) -> Result<(String, Option<String>), JobError> {
    let user_id = if contact.phone.is_empty() {
        store::identities::value_of(app.db.reader(), contact.tenant_id, contact.id, IdentityKind::WhatsAppUser).await?
    } else {
        None
    };
    Ok((contact.wa_id.clone().unwrap_or_else(|| contact.phone.clone()), user_id))
}

/// The message is still queued without a provider id, read from the writer (which sees every
/// commit, a recorded send included).
pub(super) async fn still_unsent(app: &App, message: &StoredMessage) -> Result<bool, JobError> {
    let now = store::messages::get(app.db.writer(), message.tenant_id, message.id).await?;
    Ok(now.is_some_and(|m| m.provider_id.is_none() && m.status == DeliveryStatus::Queued.as_str()))
}

/// Takes the connection's next send slot and sleeps until it starts.
pub(super) async fn wait_for_send_slot(app: &App, c: &Connection) -> Result<(), JobError> {
    let slot_us = store::connections::reserve_send_slot(&app.db, c.tenant_id, c.id, app.clock.now_ms()).await?;
    let wait_us = slot_us - app.clock.now_us();
    if wait_us > 0 {
        tokio::time::sleep(Duration::from_micros(wait_us as u64)).await;
    }
    Ok(())
}

/// Records the provider's id for the message. The send happened, so this is retried a few times
/// before giving up: a send recorded late is better than one sent twice.
pub(super) async fn record_sent(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    connection: &Connection,
    wamid: &str,
) -> Result<(), JobError> {
    let mut last = None;
    for attempt in 0..5u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        match crate::actions::delivery::record_sent(app, job, message, connection, wamid).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), message.id = message.id, "recording a send failed; trying again");
                last = Some(e);
            }
        }
    }
    Err(JobError::Retry(last.unwrap_or_else(|| anyhow::anyhow!("recording the send failed"))))
}

/// What a provider error means for the message and the job.
pub(super) async fn settle_error(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    connection: &Connection,
    e: ProviderError,
) -> Result<(), JobError> {
    let now = app.clock.now_ms();
    let reason = e.reason();
    // A gateway's refused key is the operator's to fix, not a Cloud API token to renew.
    let reauth = matches!(e, ProviderError::Auth { .. }) && connection.kind != crate::actions::qr_sessions::KIND;
    // The last error is shown to admins on the connection.
    if let Err(db) =
        store::connections::mark_error(app.db.writer(), job.tenant_id, connection.id, &reason, reauth, now).await
    {
        tracing::warn!(error = %db, "recording the connection's last error failed");
    }
    tracing::warn!(message.id = message.id, code = ?e.code(), reason = %reason, attempt = job.attempts, "send failed");
    let last_try = job.attempts >= job.max_attempts;
    let code = e.code();
    if code == Some(MARKETING_STOPPED) {
        // Meta says the customer stopped marketing: their consent follows (with history).
        if let Err(db) =
            crate::actions::consent::marketing_stopped_by_error(app, job.tenant_id, message.contact_id).await
        {
            tracing::warn!(error = %format!("{db:#}"), "recording the customer's marketing stop failed");
        }
    }
    match e {
        ProviderError::Transient { .. } if !last_try && code == Some(MARKETING_CAP) => {
            let delay = MARKETING_CAP_WAIT * (job.attempts.clamp(1, 6) as u32);
            Err(JobError::RetryAfter { error: anyhow::anyhow!(reason), delay })
        }
        ProviderError::Transient { .. } if !last_try => Err(JobError::Retry(anyhow::anyhow!(reason))),
        ProviderError::RecipientThrottled { .. } if !last_try => {
            let delay = backoff(job.attempts as u32).max(RECIPIENT_BACKOFF);
            Err(JobError::RetryAfter { error: anyhow::anyhow!(reason), delay })
        }
        ProviderError::Disconnected { .. } if !last_try => wait_for_session(job, reason),
        ProviderError::Transient { .. }
        | ProviderError::RecipientThrottled { .. }
        | ProviderError::Disconnected { .. } => {
            let title = format!("gave up after {} tries: {reason}", job.attempts);
            finish_failed(app, job, message, code, &title).await
        }
        ProviderError::Permanent { .. } | ProviderError::Auth { .. } => {
            finish_failed(app, job, message, code, &reason).await
        }
    }
}

/// Meta's 131049 (per-user marketing cap): wait hours, growing with each try, never at once.
const MARKETING_CAP: i64 = 131049;
const MARKETING_CAP_WAIT: Duration = Duration::from_secs(4 * 3600);
/// Meta's 131050: the customer stopped marketing messages.
const MARKETING_STOPPED: i64 = 131050;

/// The least wait of a send whose session is down.
const SESSION_WAIT: Duration = Duration::from_secs(30);

/// A send whose connection is not connected waits (it stays queued) and tries again later.
pub(super) fn wait_for_session(job: &Job, reason: String) -> Result<(), JobError> {
    let delay = backoff(job.attempts as u32).max(SESSION_WAIT);
    Err(JobError::RetryAfter { error: anyhow::anyhow!(reason), delay })
}

/// Marks the message failed with a reason people can read, and finishes the job, in one
/// transaction (`actions::delivery`).
pub(super) async fn finish_failed(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    code: Option<i64>,
    title: &str,
) -> Result<(), JobError> {
    if crate::actions::delivery::record_failed(app, job, message, code, title).await? {
        Ok(())
    } else {
        Err(JobError::LeaseLost)
    }
}

/// `whatsapp.mark_read`: blue ticks for a received message. Failures retry; none is shown.
pub async fn run_mark_read(app: &App, job: &Job) -> Result<(), JobError> {
    let p = payload(job)?;
    let tenant = job.tenant_id;
    let Some(message) = store::messages::get(app.db.reader(), tenant, p.message_id).await? else { return Ok(()) };
    let Some(provider_id) = message.provider_id.as_deref() else { return Ok(()) };
    let Some(connection) = store::connections::get(app.db.reader(), tenant, message.connection_id).await? else {
        return Ok(());
    };
    if connection.kind != crate::actions::connections::KIND_WHATSAPP_CLOUD {
        return Ok(()); // read receipts are sent for Cloud API numbers only
    }
    let (token, _) = crate::actions::connections::secrets(app, &connection)?;
    match app.graph.mark_read(&account(app, &connection, &token), provider_id).await {
        Ok(()) => clear_reauth_after_success(app, &connection).await,
        Err(e @ (GraphError::Transient { .. } | GraphError::RecipientThrottled { .. })) => {
            Err(JobError::Retry(anyhow::anyhow!(e.reason())))
        }
        Err(e) => {
            let reauth = matches!(e, GraphError::Auth { .. });
            let now = app.clock.now_ms();
            store::connections::mark_error(app.db.writer(), tenant, connection.id, &e.reason(), reauth, now).await?;
            Err(JobError::Permanent(e.reason()))
        }
    }
}

/// A Graph call just succeeded with the connection's current token: a re-authentication flag
/// (raised by an earlier 190) no longer holds.
pub(crate) async fn clear_reauth_after_success(app: &App, connection: &Connection) -> Result<(), JobError> {
    if connection.needs_reauth
        && store::connections::clear_reauth(
            app.db.writer(),
            connection.tenant_id,
            connection.id,
            &connection.access_token_sealed,
            app.clock.now_ms(),
        )
        .await?
    {
        tracing::info!(connection.id = connection.id, "the access token works again; re-authentication flag cleared");
    }
    Ok(())
}
