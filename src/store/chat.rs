//! Chat interno: conversations, their members (with how far each has read) and messages.
//! Every statement filters by tenant; membership counts only people who are still active.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::{TenantId, UserId};

/// A conversation as stored.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub created_by: UserId,
    pub created_at: i64,
    pub last_message_at: i64,
}

/// A conversation in a person's list: its title (the group's name, or the other person's),
/// when it last moved and how many messages of others the person has not read.
#[derive(Clone, Debug)]
pub struct Listed {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub other_name: Option<String>,
    pub last_message_at: i64,
    pub unread: i64,
}

/// A message with its sender's name.
#[derive(Clone, Debug)]
pub struct ChatMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: UserId,
    pub sender_name: String,
    pub body: String,
    pub file_sha256: Option<String>,
    pub file_mime: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub created_at: i64,
}

/// A new message's file (already in the media store).
pub struct NewFile<'a> {
    pub sha256: &'a str,
    pub mime: &'a str,
    pub name: Option<&'a str>,
    pub size: i64,
}

fn conversation_from_row(r: &AnyRow) -> Result<Conversation, sqlx::Error> {
    Ok(Conversation {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        created_by: UserId(r.try_get("created_by")?),
        created_at: r.try_get("created_at")?,
        last_message_at: r.try_get("last_message_at")?,
    })
}

const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.sender_id, COALESCE(u.name, '') AS sender_name, m.body,
    m.file_sha256, m.file_mime, m.file_name, m.file_size, m.created_at";

fn message_from_row(r: &AnyRow) -> Result<ChatMessage, sqlx::Error> {
    Ok(ChatMessage {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        sender_id: UserId(r.try_get("sender_id")?),
        sender_name: r.try_get("sender_name")?,
        body: r.try_get("body")?,
        file_sha256: r.try_get("file_sha256")?,
        file_mime: r.try_get("file_mime")?,
        file_name: r.try_get("file_name")?,
        file_size: r.try_get("file_size")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Creates a conversation; `direct_key` makes a direct one unique per pair (a second insert of
/// the same pair fails with a unique violation).
pub async fn insert_conversation<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    kind: &str,
    name: &str,
    direct_key: Option<&str>,
    created_by: UserId,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO chat_conversations (tenant_id, kind, name, direct_key, created_by, created_at, last_message_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(kind)
    .bind(name)
    .bind(direct_key)
    .bind(created_by.0)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// The direct conversation of a pair, by its key.
pub async fn find_direct<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT id FROM chat_conversations WHERE tenant_id = $1 AND direct_key = $2")
        .bind(tenant.0)
        .bind(key)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Conversation>, sqlx::Error> {
    sqlx::query(
        "SELECT id, kind, name, created_by, created_at, last_message_at FROM chat_conversations
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(ex)
    .await?
    .as_ref()
    .map(conversation_from_row)
    .transpose()
}

pub async fn rename<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chat_conversations SET name = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(name)
        .execute(ex)
        .await?;
    Ok(())
}

/// Adds a member (reading from the conversation's newest message on); false when already one.
pub async fn add_member(
    tx: &mut super::Tx,
    tenant: TenantId,
    conversation: i64,
    user: UserId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO chat_members (tenant_id, conversation_id, user_id, joined_at, last_read_id)
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(conversation)
    .bind(user.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a member; false when they were not one.
pub async fn remove_member<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM chat_members WHERE tenant_id = $1 AND conversation_id = $2 AND user_id = $3")
        .bind(tenant.0)
        .bind(conversation)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether `user` is an active member of the conversation: their last read message id.
pub async fn membership<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    user: UserId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "SELECT cm.last_read_id FROM chat_members cm
         JOIN users u ON u.tenant_id = cm.tenant_id AND u.id = cm.user_id AND u.active = 1
         WHERE cm.tenant_id = $1 AND cm.conversation_id = $2 AND cm.user_id = $3",
    )
    .bind(tenant.0)
    .bind(conversation)
    .bind(user.0)
    .fetch_optional(ex)
    .await?
    .map(|r| r.try_get(0))
    .transpose()
}

/// The active members (id, name), by name.
pub async fn members<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
) -> Result<Vec<(UserId, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.name FROM chat_members cm
         JOIN users u ON u.tenant_id = cm.tenant_id AND u.id = cm.user_id AND u.active = 1
         WHERE cm.tenant_id = $1 AND cm.conversation_id = $2 ORDER BY u.name, u.id",
    )
    .bind(tenant.0)
    .bind(conversation)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((UserId(r.try_get(0)?), r.try_get(1)?))).collect()
}

/// The name of the other person of a direct conversation, active or not.
pub async fn other_member_name<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    me: UserId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query(
        "SELECT u.name FROM chat_members o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
         WHERE o.tenant_id = $1 AND o.conversation_id = $2 AND o.user_id <> $3 ORDER BY o.user_id LIMIT 1",
    )
    .bind(tenant.0)
    .bind(conversation)
    .bind(me.0)
    .fetch_optional(ex)
    .await?
    .map(|r| r.try_get(0))
    .transpose()
}

/// The person's conversations, the most recently active first, with their unread counts.
pub async fn list_for<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    limit: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.id, c.kind, c.name, c.last_message_at,
            (SELECT u.name FROM chat_members o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
              WHERE o.conversation_id = c.id AND o.user_id <> me.user_id ORDER BY o.user_id LIMIT 1) AS other_name,
            (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_messages m
              WHERE m.conversation_id = c.id AND m.id > me.last_read_id AND m.sender_id <> me.user_id) AS unread
         FROM chat_members me JOIN chat_conversations c ON c.tenant_id = me.tenant_id AND c.id = me.conversation_id
         WHERE me.tenant_id = $1 AND me.user_id = $2
         ORDER BY c.last_message_at DESC, c.id DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                other_name: r.try_get("other_name")?,
                last_message_at: r.try_get("last_message_at")?,
                unread: r.try_get("unread")?,
            })
        })
        .collect()
}

/// Messages of others the person has not read, over all their conversations.
pub async fn unread_total<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_members me
         JOIN chat_messages m ON m.conversation_id = me.conversation_id AND m.id > me.last_read_id
         WHERE me.tenant_id = $1 AND me.user_id = $2 AND m.sender_id <> me.user_id",
    )
    .bind(tenant.0)
    .bind(user.0)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Stores a message and moves the conversation up its members' lists.
pub async fn insert_message(
    tx: &mut super::Tx,
    tenant: TenantId,
    conversation: i64,
    sender: UserId,
    body: &str,
    file: Option<&NewFile<'_>>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO chat_messages (tenant_id, conversation_id, sender_id, body, file_sha256, file_mime, file_name,
             file_size, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant.0)
    .bind(conversation)
    .bind(sender.0)
    .bind(body)
    .bind(file.map(|f| f.sha256))
    .bind(file.map(|f| f.mime))
    .bind(file.and_then(|f| f.name))
    .bind(file.map(|f| f.size))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    sqlx::query("UPDATE chat_conversations SET last_message_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(conversation)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    // The sender has read their own message.
    mark_read(&mut **tx, tenant, conversation, sender, id).await?;
    Ok(id)
}

/// A page of messages, oldest first: the newest `limit` before `before` (exclusive), or those
/// after `after` (exclusive) when given.
pub async fn messages<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let (order, cond) = match after {
        Some(_) => ("ASC", "m.id > $3"),
        None => ("DESC", "m.id < $3"),
    };
    let bound = after.unwrap_or_else(|| before.unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages m
         LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.sender_id
         WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND {cond} ORDER BY m.id {order} LIMIT $4"
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(conversation).bind(bound).bind(limit).fetch_all(ex).await?;
    let mut out = rows.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
    if after.is_none() {
        out.reverse();
    }
    Ok(out)
}

pub async fn get_message<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    id: i64,
) -> Result<Option<ChatMessage>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages m
         LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.sender_id
         WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.id = $3"
    );
    sqlx::query(&sql)
        .bind(tenant.0)
        .bind(conversation)
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(message_from_row)
        .transpose()
}

/// The conversation's newest message id (0 when it has none).
pub async fn newest_id<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM chat_messages WHERE tenant_id = $1 AND conversation_id = $2",
    )
    .bind(tenant.0)
    .bind(conversation)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Moves the person's read mark forward to `upto`; true when it moved.
pub async fn mark_read<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    conversation: i64,
    user: UserId,
    upto: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE chat_members SET last_read_id = $4
         WHERE tenant_id = $1 AND conversation_id = $2 AND user_id = $3 AND last_read_id < $4",
    )
    .bind(tenant.0)
    .bind(conversation)
    .bind(user.0)
    .bind(upto)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Messages whose text contains `text` (case-insensitive), in the person's conversations only,
/// newest first.
pub async fn search<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    text: &str,
    limit: i64,
) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM chat_messages m
         JOIN chat_members me ON me.tenant_id = m.tenant_id AND me.conversation_id = m.conversation_id AND me.user_id = $2
         LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.sender_id
         WHERE m.tenant_id = $1 AND (LOWER(m.body) LIKE LOWER($3) ESCAPE '\\' OR LOWER(COALESCE(m.file_name, '')) LIKE LOWER($3) ESCAPE '\\')
         ORDER BY m.id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant.0)
        .bind(user.0)
        .bind(super::inbox::like_pattern(text))
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.iter().map(message_from_row).collect()
}

/// A ticket by protocol: (id, status, department, assignee), for the visibility rule.
pub async fn ticket_by_protocol<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    protocol: &str,
) -> Result<Option<(i64, String, Option<i64>, Option<i64>)>, sqlx::Error> {
    sqlx::query("SELECT id, status, department_id, assignee_id FROM tickets WHERE tenant_id = $1 AND protocol = $2")
        .bind(tenant.0)
        .bind(protocol)
        .fetch_optional(ex)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .transpose()
}

/// The company's active people (id, name), by name: whom a conversation may include.
pub async fn people<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(UserId, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM users WHERE tenant_id = $1 AND active = 1 ORDER BY name, id")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| Ok((UserId(r.try_get(0)?), r.try_get(1)?))).collect()
}
