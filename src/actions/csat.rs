//! After the rating: a customer who answered the rating question gets a thank-you (the
//! company's text, else a built-in pt-BR one), queued like any automatic message. The ingest
//! writer stores the rating and enqueues `inbox.csat_thanks`; this runs that job.

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::outbound::OutboundContent;
use crate::domain::TenantId;
use crate::store;

/// The thank-you when the company wrote none.
pub const DEFAULT_CSAT_THANKS: &str = "Obrigado pela sua avaliação!";

/// Queues the thank-you for a rated ticket, at most once per ticket (an idempotency key):
/// a job run again after a crash sends nothing more. Outside the window or on an unusable
/// connection nothing is sent — a thank-you is not worth a paid template.
pub async fn thank_for_rating(app: &App, tenant: TenantId, ticket_id: i64) -> anyhow::Result<Option<i64>> {
    let now = app.clock.now_ms();
    let settings = store::settings::get(app.db.reader(), tenant).await?;
    let text = match settings.csat_thanks.trim() {
        "" => DEFAULT_CSAT_THANKS.to_string(),
        t => t.to_string(),
    };
    let mut tx = app.db.begin().await?;
    let Some(ticket) = store::tickets::get(&mut *tx, tenant, ticket_id).await? else { return Ok(None) };
    if ticket.csat_rating.is_none() {
        return Ok(None);
    }
    let key = format!("csat-thanks:{ticket_id}");
    let m = QueueMessage {
        marketing: false,
        content: OutboundContent::Text { body: text, preview_url: false },
        reply_to: None,
        idempotency_key: Some(&key),
        sender: None,
        sign: false,
        automatic: true,
    };
    let mut events = Vec::new();
    let id = match queue_on_ticket(app, &mut tx, &ticket, m, now, &mut events).await {
        Ok(id) => id,
        Err(ActionError::Invalid { code, .. }) => {
            tracing::info!(ticket.id = ticket_id, reason = code, "rating thank-you not sent");
            return Ok(None);
        }
        Err(ActionError::Internal(e)) => return Err(e),
        Err(e) => {
            tracing::info!(ticket.id = ticket_id, error = %e, "rating thank-you not sent");
            return Ok(None);
        }
    };
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    Ok(id)
}
