//! `whatsapp.fetch_media`: downloads a received message's file. Graph gives a URL that lives about
//! five minutes (on expiry we ask again, once per try); the download carries the bearer token and
//! stops as soon as it passes WhatsApp's limit for the kind; the real type is read from the bytes;
//! the file is stored content-addressed, and the message row points at it.

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::channels::whatsapp_cloud::graph::{Account, DownloadError, GraphError, MediaInfo};
use crate::channels::ProviderError;
use crate::domain::access::Audience;
use crate::domain::message::MessageKind;
use crate::store::jobs::Job;
use crate::store::messages::StoredMessage;
use crate::store::{self};

#[derive(Deserialize)]
struct Payload {
    message_id: i64,
}

enum FetchError {
    TooLarge,
    Graph(GraphError),
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let tenant = job.tenant_id;
    let Some(message) = store::messages::get(app.db.reader(), tenant, p.message_id).await? else { return Ok(()) };
    let Some(media_id) = message.media_id.clone().filter(|_| message.media_path.is_none()) else {
        return Ok(()); // fetched already, or nothing to fetch
    };
    let Some(connection) = store::connections::get(app.db.reader(), tenant, message.connection_id).await? else {
        return Ok(());
    };
    let kind: MessageKind =
        serde_json::from_value(serde_json::Value::String(message.kind.clone())).unwrap_or(MessageKind::Document);
    let limit = kind.media_limit_bytes();
    let too_large = format!("media too large: WhatsApp allows {} MB for {}", limit / (1024 * 1024), kind.as_str());
    if connection.kind == crate::actions::qr_sessions::KIND {
        // The gateway hands the file over by message id.
        let token = crate::actions::qr_sessions::token(app, &connection)?;
        let instance = crate::actions::qr_sessions::instance(&connection, &token);
        return match app.gateway.media(&instance, &media_id).await {
            Ok(m) if m.data.len() as u64 > limit => refuse(app, job, &message, &too_large).await,
            Ok(m) => keep(app, job, &message, m.data, m.mime.as_deref(), None).await,
            Err(e @ ProviderError::Permanent { .. }) => {
                refuse(app, job, &message, &format!("media unavailable: {}", e.reason())).await
            }
            Err(e) => Err(JobError::Retry(anyhow::anyhow!(e.reason()))),
        };
    }
    let (token, _) = crate::actions::connections::secrets(app, &connection)?;
    let account = super::whatsapp_send::account(app, &connection, &token);
    let (data, info) = match fetch(app, &account, &media_id, limit).await {
        Ok(fetched) => fetched,
        Err(FetchError::TooLarge) => return refuse(app, job, &message, &too_large).await,
        Err(FetchError::Graph(e)) => {
            let now = app.clock.now_ms();
            let reauth = matches!(e, GraphError::Auth { .. });
            store::connections::mark_error(app.db.writer(), tenant, connection.id, &e.reason(), reauth, now).await?;
            return match e {
                GraphError::Transient { .. } | GraphError::RecipientThrottled { .. } => {
                    Err(JobError::Retry(anyhow::anyhow!(e.reason())))
                }
                // After a reconnect the media id is still valid (30 days): keep trying slowly.
                GraphError::Auth { .. } => Err(JobError::Retry(anyhow::anyhow!(e.reason()))),
                GraphError::Permanent { .. } => {
                    refuse(app, job, &message, &format!("media unavailable: {}", e.reason())).await
                }
            };
        }
    };
    super::whatsapp_send::clear_reauth_after_success(app, &connection).await?;
    keep(app, job, &message, data, info.mime_type.as_deref(), info.sha256.as_deref()).await
}

/// Stores a downloaded file (its real type read from the bytes; checked against the provider's
/// SHA-256 when it gave one) and points the message at it.
async fn keep(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    data: Vec<u8>,
    declared_mime: Option<&str>,
    expected_sha256: Option<&str>,
) -> Result<(), JobError> {
    let tenant = job.tenant_id;
    let declared = declared_mime.or(message.media_mime.as_deref());
    let mime = crate::domain::media::sniff(&data, declared);
    let size = data.len() as i64;
    let sha = store::files::put(&app.settings.data_dir, data).await?;
    if let Some(expected) = expected_sha256.filter(|s| s.len() == 64) {
        if expected != sha {
            return Err(JobError::Retry(anyhow::anyhow!("the downloaded file does not match Graph's SHA-256")));
        }
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await? {
        return Err(JobError::LeaseLost);
    }
    store::messages::set_media(&mut *tx, tenant, message.id, &sha, mime, size, now).await?;
    let data = serde_json::json!({ "message_id": message.id, "ticket_id": message.ticket_id });
    let event = app.bus.record(&mut tx, tenant, "message.media", Audience::Tenant, data, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    app.bus.deliver([event]);
    tracing::info!(message.id = message.id, mime, size, "media stored");
    Ok(())
}

/// Asks Graph where the file is and downloads it; an expired URL is asked for again once.
async fn fetch(
    app: &App,
    account: &Account<'_>,
    media_id: &str,
    limit: u64,
) -> Result<(Vec<u8>, MediaInfo), FetchError> {
    let mut fresh_url_asked = false;
    loop {
        let info = app.graph.media_info(account, media_id).await.map_err(FetchError::Graph)?;
        if info.file_size.is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge);
        }
        match app.graph.download(account, &info.url, limit).await {
            Ok(data) => return Ok((data, info)),
            Err(DownloadError::TooLarge { .. }) => return Err(FetchError::TooLarge),
            Err(DownloadError::Graph(e)) => return Err(FetchError::Graph(e)),
            Err(DownloadError::Expired(status)) if !fresh_url_asked => {
                tracing::info!(status, "media URL expired; asking Graph for a fresh one");
                fresh_url_asked = true;
            }
            Err(DownloadError::Expired(status)) => {
                return Err(FetchError::Graph(GraphError::Transient {
                    code: None,
                    reason: format!("the media URL was refused twice (HTTP {status})"),
                }))
            }
        }
    }
}

/// Records why the file was not fetched and finishes the job: no retry will change it.
async fn refuse(app: &App, job: &Job, message: &StoredMessage, reason: &str) -> Result<(), JobError> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await? {
        return Err(JobError::LeaseLost);
    }
    store::messages::refuse_media(&mut *tx, job.tenant_id, message.id, reason, now).await?;
    let data = serde_json::json!({ "message_id": message.id, "ticket_id": message.ticket_id });
    let event = app.bus.record(&mut tx, job.tenant_id, "message.media", Audience::Tenant, data, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    app.bus.deliver([event]);
    tracing::warn!(message.id = message.id, reason, "media refused");
    Ok(())
}
