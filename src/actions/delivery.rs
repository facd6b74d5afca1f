//! The outcome of an outbound send, for every provider: recorded as sent (with the statuses that
//! arrived before it applied) or as failed, in one transaction with the job's completion. A
//! provider's send job only calls the provider and classifies its answer.

use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::message::DeliveryStatus;
use crate::store::connections::Connection;
use crate::store::jobs::Job;
use crate::store::messages::{StatusChange, StatusOutcome, StoredMessage};
use crate::store::{self};

/// Records the provider's id for a sent message, applies statuses the provider's webhook
/// delivered before this moment, completes the job and notes the connection's last send. If the
/// run outlived its lease the send is still recorded: the other run then sees the id and sends
/// nothing.
pub async fn record_sent(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    connection: &Connection,
    provider_id: &str,
) -> anyhow::Result<()> {
    let tenant = job.tenant_id;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    if store::messages::mark_sent(&mut tx, tenant, message.id, provider_id, now).await? {
        let data = serde_json::json!({ "message_id": message.id, "ticket_id": message.ticket_id, "status": DeliveryStatus::Sent });
        events.push(app.bus.record(&mut tx, tenant, "message.status", Audience::Tenant, data, now).await?);
        for pending in store::messages::take_pending_statuses(&mut tx, tenant, connection.id, provider_id).await? {
            let change = StatusChange {
                connection_id: connection.id,
                provider_id,
                status: pending.status,
                error_code: pending.error_code,
                error_title: pending.error_title.as_deref(),
            };
            if let StatusOutcome::Applied(message_id, ticket_id) =
                store::messages::apply_status(&mut tx, tenant, &change, now).await?
            {
                let data =
                    serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "status": pending.status });
                events.push(app.bus.record(&mut tx, tenant, "message.status", Audience::Tenant, data, now).await?);
            }
        }
    }
    if !store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await? {
        tracing::warn!(message.id = message.id, "send recorded by a run whose lease was taken over");
    }
    store::connections::mark_send(&mut *tx, tenant, connection.id, &connection.access_token_sealed, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    tracing::debug!(message.id = message.id, connection.id = connection.id, "message sent");
    Ok(())
}

/// Marks the message failed with a reason people can read and completes the job; `false` (and
/// nothing written) when the job is no longer this run's.
pub async fn record_failed(
    app: &App,
    job: &Job,
    message: &StoredMessage,
    code: Option<i64>,
    title: &str,
) -> anyhow::Result<bool> {
    let tenant = job.tenant_id;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await? {
        return Ok(false);
    }
    store::messages::mark_failed(&mut *tx, tenant, message.id, code, title, now).await?;
    let data = serde_json::json!({ "message_id": message.id, "ticket_id": message.ticket_id, "status": DeliveryStatus::Failed });
    let event = app.bus.record(&mut tx, tenant, "message.status", Audience::Tenant, data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    tracing::warn!(message.id = message.id, code = ?code, reason = %title, "message failed");
    Ok(true)
}
