//! The credential vault's tables: a ticket's wrapped data key, its credentials (the secret only
//! as ciphertext) and the customers' one-time links (only the token's hash).

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// A credential without its secret: what lists show.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CredentialMeta {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub label: String,
    pub host: String,
    pub username: String,
    pub notes: String,
    pub created_by: String,
    pub source: String,
    pub created_at: i64,
    pub destroyed_at: Option<i64>,
}

const META: &str = "id, ticket_id, kind, label, host, username, notes, created_by, source, created_at, destroyed_at";

fn meta(r: &sqlx::any::AnyRow) -> Result<CredentialMeta, sqlx::Error> {
    Ok(CredentialMeta {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        host: r.try_get("host")?,
        username: r.try_get("username")?,
        notes: r.try_get("notes")?,
        created_by: r.try_get("created_by")?,
        source: r.try_get("source")?,
        created_at: r.try_get("created_at")?,
        destroyed_at: r.try_get("destroyed_at")?,
    })
}

/// The ticket's wrapped key while it is not destroyed.
pub async fn wrapped_key<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT wrapped_key FROM ticket_vault_keys WHERE tenant_id = $1 AND ticket_id = $2 AND destroyed_at IS NULL",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.try_get::<Option<String>, _>(0)).transpose()?.flatten())
}

/// Stores a new wrapped key for the ticket (a reopened ticket whose key was destroyed gets a
/// fresh one in the same row).
pub async fn put_key(
    tx: &mut super::Tx,
    tenant: TenantId,
    ticket_id: i64,
    wrapped: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE ticket_vault_keys SET wrapped_key = $1, created_at = $2, destroyed_at = NULL
         WHERE tenant_id = $3 AND ticket_id = $4",
    )
    .bind(wrapped)
    .bind(now)
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO ticket_vault_keys (tenant_id, ticket_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(wrapped)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a new credential row holds (the secret already sealed).
pub struct NewCredential<'a> {
    pub ticket_id: i64,
    pub kind: &'a str,
    pub label: &'a str,
    pub host: &'a str,
    pub username: &'a str,
    pub ciphertext: &'a str,
    pub notes: &'a str,
    pub created_by: &'a str,
    pub source: &'a str,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    c: &NewCredential<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_credentials (tenant_id, ticket_id, kind, label, host, username, secret_ciphertext, notes,
             created_by, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant.0)
    .bind(c.ticket_id)
    .bind(c.kind)
    .bind(c.label)
    .bind(c.host)
    .bind(c.username)
    .bind(c.ciphertext)
    .bind(c.notes)
    .bind(c.created_by)
    .bind(c.source)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// A ticket's credentials (destroyed ones too), oldest first, without secrets.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Vec<CredentialMeta>, sqlx::Error> {
    let sql = format!("SELECT {META} FROM ticket_credentials WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id");
    sqlx::query(&sql).bind(tenant.0).bind(ticket_id).fetch_all(ex).await?.iter().map(meta).collect()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    id: i64,
) -> Result<Option<CredentialMeta>, sqlx::Error> {
    let sql = format!("SELECT {META} FROM ticket_credentials WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3");
    sqlx::query(&sql).bind(tenant.0).bind(ticket_id).bind(id).fetch_optional(ex).await?.as_ref().map(meta).transpose()
}

/// A credential's ciphertext, `None` once destroyed.
pub async fn ciphertext<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT secret_ciphertext FROM ticket_credentials WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<Option<String>, _>(0)).transpose()?.flatten())
}

/// Erases one credential: its ciphertext and the details around it; kind and label stay as
/// the record that it existed.
pub async fn destroy_one<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(erase(ex, tenant, Erase::Credential(id), now).await? == 1)
}

/// What [`erase`] erases: one credential, or all of a ticket's.
enum Erase {
    Credential(i64),
    Ticket(i64),
}

/// Erases live credentials' ciphertext and the details around it; how many.
async fn erase<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    what: Erase,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let (column, id) = match what {
        Erase::Credential(id) => ("id", id),
        Erase::Ticket(id) => ("ticket_id", id),
    };
    let sql = format!(
        "UPDATE ticket_credentials SET secret_ciphertext = NULL, host = '', username = '', notes = '', destroyed_at = $1
         WHERE tenant_id = $2 AND {column} = $3 AND destroyed_at IS NULL"
    );
    let done = sqlx::query(&sql).bind(now).bind(tenant.0).bind(id).execute(ex).await?;
    Ok(done.rows_affected())
}

/// Erases every live credential of a ticket, its wrapped key, and ends its open links; returns
/// how many credentials were erased.
pub async fn destroy_ticket(
    tx: &mut super::Tx,
    tenant: TenantId,
    ticket_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let erased = erase(&mut **tx, tenant, Erase::Ticket(ticket_id), now).await?;
    sqlx::query(
        "UPDATE ticket_vault_keys SET wrapped_key = NULL, destroyed_at = $1
         WHERE tenant_id = $2 AND ticket_id = $3 AND destroyed_at IS NULL",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE credential_links SET expires_at = $1
         WHERE tenant_id = $2 AND ticket_id = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    Ok(erased)
}

// ---------------------------------------------------------------- one-time links

#[derive(Clone, Debug)]
pub struct CredentialLink {
    pub id: i64,
    pub tenant_id: TenantId,
    pub ticket_id: i64,
    pub message_id: Option<i64>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_link<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    token_hash: &str,
    created_by: &str,
    now: i64,
    expires_at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO credential_links (tenant_id, ticket_id, token_hash, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(token_hash)
    .bind(created_by)
    .bind(now)
    .bind(expires_at)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

pub async fn set_link_message<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    link_id: i64,
    message_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credential_links SET message_id = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(message_id)
        .bind(tenant.0)
        .bind(link_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// The link whose token hashes to `token_hash`, in whatever company it belongs to (the token is
/// the only thing a customer has).
pub async fn find_link<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
) -> Result<Option<CredentialLink>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, tenant_id, ticket_id, message_id, expires_at, used_at FROM credential_links WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(CredentialLink {
            id: r.try_get("id")?,
            tenant_id: TenantId(r.try_get("tenant_id")?),
            ticket_id: r.try_get("ticket_id")?,
            message_id: r.try_get("message_id")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Burns a link if it is still usable; `false` when another request used it first or it expired.
pub async fn use_link<'e>(ex: impl Executor<'e, Database = Any>, link_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE credential_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(link_id)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_link_credential<'e>(
    ex: impl Executor<'e, Database = Any>,
    link_id: i64,
    credential_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credential_links SET credential_id = $1 WHERE id = $2")
        .bind(credential_id)
        .bind(link_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Whether the ticket has a link sent and still usable (the panel says "aguardando o cliente").
pub async fn open_link_until<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MAX(expires_at) FROM credential_links
         WHERE tenant_id = $1 AND ticket_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(now)
    .fetch_one(ex)
    .await?;
    row.try_get::<Option<i64>, _>(0)
}

// ---------------------------------------------------------------- messages moved into the vault

/// Replaces a message's text (and the raw payload that repeats it) with `redacted`; also the
/// ticket's list preview when it showed this message, and the stored webhook bodies since.
pub async fn redact_message(
    tx: &mut super::Tx,
    m: &super::messages::StoredMessage,
    redacted: &str,
    old_preview: Option<&str>,
) -> Result<(), sqlx::Error> {
    let (tenant, ticket_id, message_id, old_body) = (m.tenant_id, m.ticket_id, m.id, m.body.as_deref());
    let payload = serde_json::json!({ "redacted": true }).to_string();
    sqlx::query("UPDATE messages SET body = $1, payload = $2 WHERE tenant_id = $3 AND ticket_id = $4 AND id = $5")
        .bind(redacted)
        .bind(&payload)
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    // Stored copies of webhooks announcing the message repeat its text (JSON-escaped).
    if let (Some(old), Ok(escaped)) = (old_body, serde_json::to_string(old_body.unwrap_or_default())) {
        let inner = escaped.strip_prefix('"').and_then(|e| e.strip_suffix('"')).unwrap_or_default();
        if !old.is_empty() && !inner.is_empty() {
            sqlx::query(
                "UPDATE webhook_deliveries SET body = REPLACE(body, $1, $2)
                 WHERE tenant_id = $3 AND event LIKE 'message.%' AND created_at >= $4",
            )
            .bind(inner)
            .bind(redacted)
            .bind(tenant.0)
            .bind(m.sent_at)
            .execute(&mut **tx)
            .await?;
        }
    }
    if let Some(preview) = old_preview {
        sqlx::query(
            "UPDATE tickets SET last_message_preview = $1 WHERE tenant_id = $2 AND id = $3 AND last_message_preview = $4",
        )
        .bind(redacted)
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(preview)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Blanks a used link's token in the message that carried it (the token is worthless by then;
/// the message keeps saying a link was sent).
pub async fn blank_token_in_message(
    tx: &mut super::Tx,
    tenant: TenantId,
    message_id: i64,
    token: &str,
    replacement: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET body = REPLACE(body, $1, $2), payload = REPLACE(payload, $1, $2)
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(token)
    .bind(replacement)
    .bind(tenant.0)
    .bind(message_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE tickets SET last_message_preview = REPLACE(last_message_preview, $1, $2)
         WHERE tenant_id = $3 AND id = (SELECT ticket_id FROM messages WHERE tenant_id = $3 AND id = $4)",
    )
    .bind(token)
    .bind(replacement)
    .bind(tenant.0)
    .bind(message_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
