//! `mail.send`: one of the server's own e-mails through the operator's SMTP relay
//! (`crate::mail`); the text (it holds a one-time link) is sealed in the payload.

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    to: String,
    subject: String,
    text_sealed: String,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let Some(url) = &app.settings.smtp_url else {
        return Err(JobError::Permanent("no SMTP relay is configured (ATENDE_SMTP_URL)".into()));
    };
    let relay = crate::mail::Relay::parse(url.expose()).map_err(|e| JobError::Permanent(format!("{e:#}")))?;
    let from = app.settings.mail_from.clone().unwrap_or_default();
    let text = app.master_key.open(&p.text_sealed).map_err(|e| JobError::Permanent(format!("{e:#}")))?;
    let mail = crate::mail::Mail { from: &from, to: &p.to, subject: &p.subject, text: text.expose() };
    let base = app.settings.effective_base_url();
    let host = base.split("://").nth(1).unwrap_or("atende").split(['/', ':']).next().unwrap_or("atende").to_string();
    let now = app.clock.now_ms();
    let date = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().to_rfc2822();
    let message_id = format!("{}.{}@{host}", job.id.0, crate::crypto::random_token(6));
    crate::mail::send(&relay, &host, &mail, &date, &message_id).await.map_err(|e| {
        if e.permanent {
            JobError::Permanent(e.message)
        } else {
            JobError::Retry(anyhow::anyhow!(e.message))
        }
    })?;
    tracing::info!(job.id = job.id.0, "mail sent");
    Ok(())
}
