//! The erasure of one contact, inside the caller's transaction: its messages' content, its
//! identities and tags, the personal parts of its tickets, consent history, campaign and schedule
//! rows, vault credentials and webhook bodies, then the contact row itself made an anonymous stub;
//! and [`scrub`], which replaces the contact's name, phone and e-mail wherever the company's own
//! text copied them (tasks, internal chat, audit details, event and webhook payloads, jobs).

use sqlx::Row;

use crate::domain::TenantId;
use crate::store::Tx;

/// What an erasure changed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Erased {
    pub messages: u64,
    pub tickets: u64,
    pub identities: u64,
    /// The media files its messages named (deleted after commit when nothing else names them).
    #[serde(skip)]
    pub media: Vec<String>,
}

const TICKETS_OF: &str = "SELECT id FROM tickets WHERE tenant_id = $1 AND contact_id = $2";

/// `None`: no such contact; `Some(None)`: not erased; `Some(Some(at))`: erased then.
pub async fn erased_at(tx: &mut Tx, tenant: TenantId, contact: i64) -> Result<Option<Option<i64>>, sqlx::Error> {
    let row = sqlx::query("SELECT erased_at FROM contacts WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(contact)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| r.try_get::<Option<i64>, _>(0)).transpose()
}

/// The values of the contact's identities (phone, WhatsApp ids, e-mail).
pub async fn identity_values(tx: &mut Tx, tenant: TenantId, contact: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2")
        .bind(tenant.0)
        .bind(contact)
        .fetch_all(&mut **tx)
        .await
}

/// Everything of the erasure but the needle scrub; the contact must exist.
pub async fn erase_contact(
    tx: &mut Tx,
    tenant: TenantId,
    contact: i64,
    stub_name: &str,
    now: i64,
) -> Result<Erased, sqlx::Error> {
    let t = tenant.0;
    let media: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT media_path FROM messages WHERE tenant_id = $1 AND contact_id = $2 AND media_path IS NOT NULL",
    )
    .bind(t)
    .bind(contact)
    .fetch_all(&mut **tx)
    .await?;
    let messages = sqlx::query(
        "UPDATE messages SET body = NULL, payload = '{}', media_path = NULL, media_id = NULL, error_title = NULL,
             redacted_at = COALESCE(redacted_at, $3),
             status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END
         WHERE tenant_id = $1 AND contact_id = $2",
    )
    .bind(t)
    .bind(contact)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let tickets = sqlx::query(
        "UPDATE tickets SET last_message_preview = NULL, bot_state = NULL WHERE tenant_id = $1 AND contact_id = $2",
    )
    .bind(t)
    .bind(contact)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let statements = [
        format!("UPDATE ticket_events SET note = NULL WHERE tenant_id = $1 AND ticket_id IN ({TICKETS_OF})"),
        format!(
            "UPDATE ticket_credentials SET label = '', host = '', username = '', notes = '', secret_ciphertext = NULL,
                 destroyed_at = COALESCE(destroyed_at, $3)
             WHERE tenant_id = $1 AND ticket_id IN ({TICKETS_OF}) AND $3 > 0"
        ),
        "DELETE FROM contact_tags WHERE tenant_id = $1 AND contact_id = $2".into(),
        "UPDATE consent_events SET detail = '' WHERE tenant_id = $1 AND contact_id = $2".into(),
        "UPDATE campaign_recipients SET body = NULL, error_title = NULL WHERE tenant_id = $1 AND contact_id = $2"
            .into(),
        "UPDATE schedules SET body = '', last_error = NULL, media = NULL, updated_at = $3,
             status = CASE WHEN status IN ('active', 'paused') THEN 'cancelled' ELSE status END
         WHERE tenant_id = $1 AND contact_id = $2"
            .into(),
    ];
    for sql in &statements {
        let q = sqlx::query(sql).bind(t).bind(contact);
        let q = if sql.contains("$3") { q.bind(now) } else { q };
        q.execute(&mut **tx).await?;
    }
    // Webhook bodies carry the records of the contact, its tickets and messages.
    let (a, b) = (format!("%\"contact_id\":{contact},%"), format!("%\"contact_id\":{contact}}}%"));
    sqlx::query(
        "UPDATE webhook_deliveries SET body = '{\"redacted\":true}' WHERE tenant_id = $1 AND (body LIKE $2 OR body LIKE $3)",
    )
    .bind(t)
    .bind(&a)
    .bind(&b)
    .execute(&mut **tx)
    .await?;
    let identities = sqlx::query("DELETE FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2")
        .bind(t)
        .bind(contact)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE contacts SET name = $3, phone = '', phone_key = $4, wa_id = NULL, username = NULL, email = NULL,
             notes = '', custom_fields = '{}', consent_source = NULL, owner_id = NULL, erased_at = $5, updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(t)
    .bind(contact)
    .bind(stub_name)
    .bind(format!("erased:{contact}"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(Erased { messages, tickets, identities, media })
}

/// The columns where the company's own text or our payloads may have copied a contact's name,
/// phone or e-mail (every one has `tenant_id`).
pub const COPIES: &[(&str, &str)] = &[
    ("events", "data"),
    ("webhook_deliveries", "body"),
    ("webhook_deliveries", "last_error"),
    ("webhook_attempts", "response_excerpt"),
    ("webhook_attempts", "error"),
    ("jobs", "payload"),
    ("jobs", "last_error"),
    ("audit_log", "details"),
    ("ticket_events", "note"),
    ("ticket_events", "data"),
    ("tasks", "title"),
    ("tasks", "description"),
    ("task_comments", "body"),
    ("chat_messages", "body"),
    ("contact_filters", "search"),
    ("campaign_recipients", "body"),
    ("schedules", "body"),
    ("messages", "error_title"),
    ("tickets", "last_message_preview"),
];

/// What a copied value becomes.
pub const REMOVED: &str = "[removido]";

fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Replaces every occurrence of `needle` in [`COPIES`] of the company by [`REMOVED`]; returns
/// how many values changed.
pub async fn scrub(tx: &mut Tx, tenant: TenantId, needle: &str) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    let pattern = like_pattern(needle);
    for (table, column) in COPIES {
        let sql = format!(
            "UPDATE {table} SET {column} = REPLACE({column}, $2, $3) WHERE tenant_id = $1 AND {column} LIKE $4 ESCAPE '\\'"
        );
        changed += sqlx::query(&sql)
            .bind(tenant.0)
            .bind(needle)
            .bind(REMOVED)
            .bind(&pattern)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    }
    Ok(changed)
}
