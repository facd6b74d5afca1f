//! Moving one contact into another (tickets, tags, identities, tasks) and deleting rows.

#[allow(unused_imports)]
use super::*;

/// Moves everything of contact `source` to `target` (messages, tickets, tags), then deletes
/// `source`. The caller writes the target's merged fields.
pub async fn move_and_delete(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    source: i64,
    target: i64,
) -> Result<MergeCounts, sqlx::Error> {
    // Messages by their tickets (the messages_ticket index), before the tickets move.
    let messages = sqlx::query(
        "UPDATE messages SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3
           AND ticket_id IN (SELECT id FROM tickets WHERE tenant_id = $2 AND contact_id = $3)",
    )
    .bind(target)
    .bind(tenant.0)
    .bind(source)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let tickets = sqlx::query("UPDATE tickets SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3")
        .bind(target)
        .bind(tenant.0)
        .bind(source)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let tags = sqlx::query(
        "INSERT INTO contact_tags (tenant_id, contact_id, tag_id, created_at)
         SELECT tenant_id, $1, tag_id, created_at FROM contact_tags WHERE tenant_id = $2 AND contact_id = $3
         ON CONFLICT DO NOTHING",
    )
    .bind(target)
    .bind(tenant.0)
    .bind(source)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // Its tasks follow it (a task links a contact by id, with no foreign key).
    sqlx::query("UPDATE tasks SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3")
        .bind(target)
        .bind(tenant.0)
        .bind(source)
        .execute(&mut **tx)
        .await?;
    // An identity is unique per tenant, so none of the source's can already be the target's.
    sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3")
        .bind(target)
        .bind(tenant.0)
        .bind(source)
        .execute(&mut **tx)
        .await?;
    delete_row(tx, tenant, source).await?;
    Ok(MergeCounts { messages, tickets, tags })
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct MergeCounts {
    pub messages: u64,
    pub tickets: u64,
    pub tags: u64,
}

/// Whether any ticket belongs to the contact (a contact with history is merged, not deleted).
pub async fn has_tickets(tx: &mut crate::store::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 FROM tickets WHERE tenant_id = $1 AND contact_id = $2 LIMIT 1")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// Deletes a contact, its tags and its identities (its tasks stay, unlinked); false when there
/// was none.
pub async fn delete_row(tx: &mut crate::store::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE tasks SET contact_id = NULL WHERE tenant_id = $1 AND contact_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for table in ["contact_tags", "contact_identities"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND contact_id = $2"))
            .bind(tenant.0)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let done = sqlx::query("DELETE FROM contacts WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Rewrites a contact's kept fields after a merge.
#[allow(clippy::too_many_arguments)]
pub async fn write_merged(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    id: i64,
    email: Option<&str>,
    wa_id: Option<&str>,
    notes: &str,
    custom_fields: &str,
    consent: &str,
    consent_at: Option<i64>,
    consent_source: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contacts SET email = $1, wa_id = $2, notes = $3, custom_fields = $4, consent = $5, consent_at = $6,
             consent_source = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10",
    )
    .bind(email)
    .bind(wa_id)
    .bind(notes)
    .bind(custom_fields)
    .bind(consent)
    .bind(consent_at)
    .bind(consent_source)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
