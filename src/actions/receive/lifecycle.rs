//! What a batch's transaction does to tickets' lifecycle once its messages are in: reopened
//! tickets queue again (or go to their owner's wallet), CSAT answers are kept with the thank-you
//! queued, and tickets that entered waiting in a distributing department are handed out.

use std::collections::HashMap;

use crate::domain::access::Audience;
use crate::domain::inbox;
use crate::domain::TenantId;
use crate::realtime::NewEvent;
use crate::store::jobs::NewJob;
use crate::store::ticket_events::TicketEvent;
use crate::store::tickets::ClosedTicket;
use crate::store::{self, Backend, Tx};

use super::items::ticket_updated;

/// Reopens the closed tickets a customer wrote to within the window; those not taken by their
/// owner's wallet join `to_distribute` (tenant, ticket, department).
pub(super) async fn reopen(
    tx: &mut Tx,
    reopened: &[(TenantId, ClosedTicket)],
    now: i64,
    events: &mut Vec<NewEvent>,
    to_distribute: &mut Vec<(TenantId, i64, i64)>,
) -> anyhow::Result<()> {
    for (tenant, t) in reopened {
        if store::tickets::reopen_waiting(&mut **tx, *tenant, t.id, now).await? {
            let e = TicketEvent {
                ticket_id: t.id,
                kind: "reopened".into(),
                data: serde_json::json!({ "by": "customer" }).to_string(),
                ..Default::default()
            };
            store::ticket_events::insert(&mut **tx, *tenant, &e, now).await?;
            events.push(ticket_updated(*tenant, t.id, "reopened", "waiting", t.department_id, None));
            if let Some(owner) = crate::actions::wallet::to_owner(tx, *tenant, t.id, now).await? {
                events.push(ticket_updated(*tenant, t.id, "assigned", "open", t.department_id, Some(owner)));
            } else if let Some(d) = t.department_id {
                to_distribute.push((*tenant, t.id, d));
            }
        }
    }
    Ok(())
}

/// Keeps the first valid CSAT answer of each ticket (tenant, ticket, rating) and queues its
/// thank-you; how many jobs it queued.
pub(super) async fn keep_ratings(
    tx: &mut Tx,
    ratings: &[(TenantId, i64, i64)],
    now: i64,
    events: &mut Vec<NewEvent>,
) -> anyhow::Result<usize> {
    let mut jobs = 0;
    for (tenant, id, rating) in ratings {
        if store::tickets::set_csat_rating(&mut **tx, *tenant, *id, *rating).await? {
            let e = TicketEvent {
                ticket_id: *id,
                kind: "csat".into(),
                data: serde_json::json!({ "rating": rating }).to_string(),
                ..Default::default()
            };
            store::ticket_events::insert(&mut **tx, *tenant, &e, now).await?;
            let data = serde_json::json!({ "ticket_id": id, "change": "csat", "rating": rating });
            events.push(NewEvent { tenant: *tenant, kind: "ticket.updated", audience: Audience::Tenant, data });
            // The thank-you goes through the outbound queue like any automatic message; the
            // writer has no sender of its own, so a job queues it after this commit.
            let payload = serde_json::json!({ "ticket_id": id });
            let dedupe = format!("csat-thanks:{id}");
            let job = NewJob {
                tenant_id: *tenant,
                kind: crate::domain::jobs::JobKind::CsatThanks.as_str(),
                payload: &payload,
                run_at: now,
                max_attempts: 5,
                dedupe_key: Some(&dedupe),
            };
            store::jobs::enqueue(&mut **tx, job, now).await?;
            jobs += 1;
        }
    }
    Ok(jobs)
}

/// Hands each waiting ticket of a distributing department to an online member (one read of
/// each department's mode per batch).
pub(super) async fn distribute(
    tx: &mut Tx,
    backend: Backend,
    to_distribute: Vec<(TenantId, i64, i64)>,
    now: i64,
    events: &mut Vec<NewEvent>,
) -> anyhow::Result<()> {
    let mut distributes: HashMap<(TenantId, i64), bool> = HashMap::new();
    for (tenant, id, department) in to_distribute {
        let on = match distributes.get(&(tenant, department)) {
            Some(on) => *on,
            None => {
                let on = store::departments::get(&mut **tx, tenant, department)
                    .await?
                    .is_some_and(|d| d.distribution_mode != inbox::DistributionMode::Off);
                distributes.insert((tenant, department), on);
                on
            }
        };
        if on {
            if let Some(agent) =
                crate::actions::inbox::distribute_in_tx(tx, backend, tenant, id, department, now).await?
            {
                events.push(ticket_updated(tenant, id, "assigned", "open", Some(department), Some(agent)));
            }
        }
    }
    Ok(())
}
