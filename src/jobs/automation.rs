//! `automation.inbound`: greeting, away message or the chatbot's next step for one customer
//! message (`actions::automation`). A run that finds the ticket moved by another message's run
//! is retried on the new state.

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    ticket_id: i64,
    message_id: i64,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    crate::actions::automation::on_inbound(app, job.tenant_id, p.ticket_id, p.message_id).await?;
    Ok(())
}
