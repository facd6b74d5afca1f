//! `connection.reconnect`: brings a dropped WhatsApp (QR Code) session back. Each run asks the
//! gateway to connect; while it cannot, the job retries itself with exponential back-off and
//! jitter (1 s, 2 s, 4 s … at most five minutes apart), never in a tight loop. A session that
//! comes back needs nothing more; one that answers with a QR was unlinked and waits for a scan.

use serde::Deserialize;

use super::JobError;
use crate::actions::qr_sessions;
use crate::app::App;
use crate::channels::whatsapp_qr::client::Connect;
use crate::channels::whatsapp_qr::events::SessionEvent;
use crate::domain::connection::ConnectionState;
use crate::domain::retry::reconnect_delay;
use crate::store::jobs::Job;
use crate::store::{self};

#[derive(Deserialize)]
struct Payload {
    connection_id: i64,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let Some(c) = store::connections::get(app.db.reader(), job.tenant_id, p.connection_id).await? else {
        return Ok(());
    };
    // Back already, switched off, removed, or waiting for a person: nothing to do.
    let dropped = matches!(c.state, ConnectionState::Disconnected | ConnectionState::Connecting);
    if !dropped || !c.active || c.removed_at.is_some() || c.kind != qr_sessions::KIND {
        return Ok(());
    }
    let attempt = store::connections::next_reconnect_attempt(app.db.writer(), c.tenant_id, c.id).await?;
    let token = qr_sessions::token(app, &c)?;
    let answer = app.gateway.connect(&qr_sessions::instance(&c, &token), None).await;
    let retry = |reason: String| {
        let delay = reconnect_delay(attempt.clamp(0, 64) as u32 + 1, rand::random::<f64>());
        tracing::info!(
            connection.id = c.id,
            attempt,
            delay_ms = delay.as_millis() as u64,
            "session still down; retrying"
        );
        Err(JobError::RetryAfter { error: anyhow::anyhow!(reason), delay })
    };
    match answer {
        Ok(Connect::Open) => {
            qr_sessions::record(app, &c, SessionEvent::Open { phone: None }).await?;
            Ok(())
        }
        // A QR means the old session is gone: a person has to scan again.
        Ok(Connect::Qr(qr)) => {
            qr_sessions::record(app, &c, SessionEvent::Qr(qr)).await?;
            Ok(())
        }
        Ok(Connect::Connecting) => retry("the gateway is still connecting".into()),
        Err(e) => retry(e.reason()),
    }
}
