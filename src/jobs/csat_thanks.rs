//! `inbox.csat_thanks`: the thank-you after a customer's rating (`actions::csat`).

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    ticket_id: i64,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    crate::actions::csat::thank_for_rating(app, job.tenant_id, p.ticket_id).await?;
    Ok(())
}
