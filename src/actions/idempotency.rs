//! `Idempotency-Key` for the REST API: the first request with a key runs and its response is
//! kept 24 hours; a repeat with the same request gets that response again without running; a
//! repeat with another request is refused, and so is one arriving while the first still runs.
//! Stored in the database, so it holds across instances.

use crate::actions::{ActionError, ActionResult};
use crate::app::App;
use crate::store::idempotency::Record;
use crate::store::tokens::ApiToken;

/// How long a key is remembered.
pub const KEY_TTL_MS: i64 = 24 * 3600 * 1000;
/// A request still `running` after this long is taken to have died with its instance (it never
/// completed nor released its key), so the key may run again.
pub const STALE_RUNNING_MS: i64 = 10 * 60 * 1000;
const KEY_MAX: usize = 255;

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// Run it; the claim was made at `claimed_at`.
    Run { claimed_at: i64 },
    /// Answer with the stored response.
    Replay { status: u16, content_type: String, body: String },
    /// The same key is running now.
    InProgress,
    /// The key was used for a different request.
    Reused,
}

/// Checks a key as clients send it: 1–255 visible ASCII characters.
pub fn check_key(key: &str) -> ActionResult<()> {
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ActionError::invalid(
            "invalid_idempotency_key",
            "an Idempotency-Key has 1 to 255 visible ASCII characters",
        ));
    }
    Ok(())
}

pub async fn begin(app: &App, token: &ApiToken, key: &str, request_hash: &str) -> ActionResult<Begin> {
    check_key(key)?;
    let (tenant, token_id) = (token.tenant_id, token.id.0);
    // A few rounds: an expired or stale key is released and claimed again.
    for _ in 0..3 {
        let now = app.clock.now_ms();
        let w = app.db.writer();
        if crate::store::idempotency::claim(w, tenant, token_id, key, request_hash, now, now + KEY_TTL_MS).await? {
            return Ok(Begin::Run { claimed_at: now });
        }
        let Some(record) = crate::store::idempotency::get(w, tenant, token_id, key).await? else {
            continue;
        };
        let stale = record.state == "running" && now - record.created_at > STALE_RUNNING_MS;
        if record.expires_at <= now || stale {
            crate::store::idempotency::release(w, tenant, token_id, key, record.created_at).await?;
            continue;
        }
        return Ok(decide(record, request_hash));
    }
    Ok(Begin::InProgress)
}

fn decide(record: Record, request_hash: &str) -> Begin {
    if record.request_hash != request_hash {
        return Begin::Reused;
    }
    match (record.state.as_str(), record.response_status) {
        ("done", Some(status)) => Begin::Replay {
            status: u16::try_from(status).unwrap_or(500),
            content_type: record.response_type.unwrap_or_else(|| "application/json".into()),
            body: record.response_body.unwrap_or_default(),
        },
        _ => Begin::InProgress,
    }
}

/// Keeps the response of a request that ran.
pub async fn complete(
    app: &App,
    token: &ApiToken,
    key: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> ActionResult<()> {
    let w = app.db.writer();
    crate::store::idempotency::complete(w, token.tenant_id, token.id.0, key, i64::from(status), content_type, body)
        .await?;
    Ok(())
}

/// Forgets the key of a request that failed on our side, so a retry runs it again.
pub async fn release(app: &App, token: &ApiToken, key: &str, claimed_at: i64) -> ActionResult<()> {
    crate::store::idempotency::release(app.db.writer(), token.tenant_id, token.id.0, key, claimed_at).await?;
    Ok(())
}
