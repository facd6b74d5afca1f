//! Carteira: the owner agent of a contact, and who of them can take a ticket right now.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// Sets (or clears) a contact's owner; false when the contact is not the tenant's.
pub async fn set_owner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact_id: i64,
    owner: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE contacts SET owner_id = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(owner)
        .bind(now)
        .bind(tenant.0)
        .bind(contact_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the owner of many contacts at once (CSV import), in the caller's transaction.
pub async fn set_owner_many(
    tx: &mut super::Tx,
    tenant: TenantId,
    owners: &[(i64, i64)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for (contact_id, owner) in owners {
        set_owner(&mut **tx, tenant, *contact_id, Some(*owner), now).await?;
    }
    Ok(())
}

/// The owner of the ticket's contact when they can take it now: active, not away, and seen
/// since `seen_since` (the same presence rule as automatic distribution).
pub async fn available_owner<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    seen_since: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id FROM tickets t
         JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.contact_id
         JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.owner_id
         WHERE t.tenant_id = $1 AND t.id = $2 AND u.active = 1 AND u.away = 0 AND u.last_seen_at >= $3",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(seen_since)
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}
