//! What a batch's messages become on the way in: one item per message, the ticket slot it goes
//! to, the activity it adds to its ticket, and the ticket events the lifecycle raises.

use crate::domain::access::Audience;
use crate::domain::inbound::InboundMessage;
use crate::domain::TenantId;
use crate::realtime::NewEvent;
use crate::store::tickets::NewTicket;

#[derive(Default)]
pub(super) struct TicketActivity {
    pub(super) new_messages: i64,
    pub(super) last_at: i64,
    pub(super) preview: String,
}

/// Which ticket a message of the batch goes to.
pub(super) enum Slot {
    Ticket(i64),
    /// The ticket this batch opens for the pair.
    New(NewTicket),
    /// Stored before (or earlier in this batch): not written again.
    Duplicate,
}

/// One inbound message of a batch: its request, and its contact's index in the batch.
pub(super) struct Item<'a> {
    pub(super) req: usize,
    pub(super) message: &'a InboundMessage,
    pub(super) contact: usize,
}

pub(super) fn ticket_updated(
    tenant: TenantId,
    id: i64,
    change: &str,
    status: &str,
    department_id: Option<i64>,
    assignee_id: Option<i64>,
) -> NewEvent {
    let data = serde_json::json!({ "ticket_id": id, "change": change, "status": status,
        "department_id": department_id, "assignee_id": assignee_id });
    NewEvent { tenant, kind: "ticket.updated", audience: Audience::Tenant, data }
}
