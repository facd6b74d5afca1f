//! One delivery's status webhooks, inside the batch's transaction: each moves its outbound
//! message on (or waits, kept, for a message not recorded yet); a campaign's (named by its
//! callback data) moves the campaign recipient instead.

use crate::domain::access::Audience;
use crate::domain::{outbound, TenantId};
use crate::realtime::NewEvent;
use crate::store::messages::{StatusChange, StatusOutcome};
use crate::store::{self, Tx};

use super::{IngestSummary, Request};
use crate::actions::campaigns::run::apply_status as campaign_status;

pub(super) async fn apply(
    tx: &mut Tx,
    tenant: TenantId,
    req: &Request,
    summary: &mut IngestSummary,
    events: &mut Vec<NewEvent>,
    now: i64,
) -> anyhow::Result<()> {
    for s in &req.delivery.statuses {
        let change = StatusChange {
            connection_id: req.connection_id,
            provider_id: &s.provider_id,
            status: s.status,
            error_code: s.error_code,
            error_title: s.error_title.as_deref(),
        };
        if let Some(recipient) = s.callback_data.as_deref().and_then(crate::domain::campaigns::parse_callback_data) {
            // A campaign's message: its recipient row follows; a message row exists only
            // once a reply copied it into a ticket, so nothing is kept pending for it.
            let error = (s.error_code, s.error_title.as_deref());
            let status = s.status.as_str();
            if campaign_status(tx, tenant, recipient, status, &s.provider_id, error, now).await? {
                summary.statuses_applied += 1;
            }
            if let StatusOutcome::Applied(message_id, ticket_id) =
                store::messages::apply_status(tx, tenant, &change, now).await?
            {
                let data = serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "status": s.status });
                events.push(NewEvent { tenant, kind: "message.status", audience: Audience::Tenant, data });
            }
            continue;
        }
        let mut outcome = store::messages::apply_status(tx, tenant, &change, now).await?;
        if let (StatusOutcome::Unknown, Some(ours)) =
            (&outcome, s.callback_data.as_deref().and_then(outbound::parse_callback_data))
        {
            // Our callback data names the message: Meta accepted it, so its wamid is known
            // now even though the send's answer is not recorded (or was lost).
            if store::messages::adopt_provider_id(tx, tenant, req.connection_id, ours, &s.provider_id, now).await? {
                outcome = store::messages::apply_status(tx, tenant, &change, now).await?;
            }
        }
        match outcome {
            StatusOutcome::Applied(message_id, ticket_id) => {
                summary.statuses_applied += 1;
                let data = serde_json::json!({ "message_id": message_id, "ticket_id": ticket_id, "status": s.status });
                events.push(NewEvent { tenant, kind: "message.status", audience: Audience::Tenant, data });
            }
            StatusOutcome::Stale => {}
            StatusOutcome::Unknown => {
                // The status overtook its message (or our send is not recorded yet): keep it.
                store::messages::keep_pending_status(&mut **tx, tenant, &change, now).await?;
                summary.statuses_kept += 1;
            }
        }
    }
    Ok(())
}
