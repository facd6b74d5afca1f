//! Automatic distribution of waiting tickets among a department's online members.

use super::*;

/// Hands a waiting ticket of `department` to an online member (seen in the last five minutes)
/// by the department's mode, inside the caller's transaction; returns the agent, or `None`
/// when the department does not distribute or nobody is online. The department's row is
/// locked, so concurrent distributions of one department take turns on its cursor.
pub(crate) async fn distribute_in_tx(
    tx: &mut Tx,
    backend: Backend,
    tenant: TenantId,
    ticket_id: i64,
    department_id: i64,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    let Some(d) = store::departments::get_for_update(tx, backend, tenant, department_id).await? else {
        return Ok(None);
    };
    if d.distribution_mode == inbox::DistributionMode::Off {
        return Ok(None);
    }
    let online =
        store::departments::online_members(&mut **tx, tenant, department_id, now - inbox::ONLINE_WINDOW_MS).await?;
    let mut candidates = Vec::with_capacity(online.len());
    for user in online {
        let open_tickets = match d.distribution_mode {
            inbox::DistributionMode::LeastBusy => {
                store::departments::open_tickets_capped(&mut **tx, tenant, user, inbox::LEAST_BUSY_COUNT_CAP).await?
            }
            _ => 0,
        };
        candidates.push(inbox::Candidate { user, open_tickets });
    }
    let Some(agent) = inbox::pick_agent(d.distribution_mode, &candidates, d.rr_cursor) else {
        return Ok(None);
    };
    if !store::tickets::assign_if_waiting(&mut **tx, tenant, ticket_id, agent).await? {
        return Ok(None);
    }
    store::departments::set_cursor(&mut **tx, tenant, department_id, agent).await?;
    let e = TicketEvent {
        ticket_id,
        kind: "assigned".into(),
        to_department_id: Some(department_id),
        to_user_id: Some(agent),
        data: serde_json::json!({ "auto": d.distribution_mode }).to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
    Ok(Some(agent))
}
