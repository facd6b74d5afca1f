//! `templates.sync`: reads one connection's message templates from Graph
//! (`actions::templates::sync_connection`). The maintenance scheduler enqueues one per connection
//! every six hours (`actions::templates::schedule_due`); the Modelos page's button enqueues one now.

use serde::Deserialize;

use super::JobError;
use crate::actions::ActionError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    connection_id: i64,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    match crate::actions::templates::sync_connection(app, job.tenant_id, p.connection_id).await {
        Ok(n) => {
            tracing::info!(connection.id = p.connection_id, templates = n, "templates synced");
            Ok(())
        }
        Err(ActionError::Internal(e)) => Err(JobError::Retry(e)),
        Err(ActionError::Invalid { code: "graph_error", message }) => Err(JobError::Retry(anyhow::anyhow!(message))),
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}
