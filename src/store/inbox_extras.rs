//! Reads the conversation view needs beside a page of messages: the messages that bubbles quote
//! and the reactions on them (both linked by the provider's message id), the tags of listed
//! tickets, and connection names for the list filter. Every query is scoped to one tenant.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::TenantId;
use crate::store::tags::Tag;

/// A message as a quote shows it.
#[derive(Clone, Debug)]
pub struct Quoted {
    pub id: i64,
    pub provider_id: String,
    pub direction: String,
    pub kind: String,
    pub body: Option<String>,
}

/// A reaction's latest state from one side (customer or business).
#[derive(Clone, Debug)]
pub struct Reaction {
    pub refers_to: String,
    pub direction: String,
    pub emoji: String,
}

/// Placeholders for `fixed` leading arguments, then a list of `n` (see `store::Placeholders`).
fn placeholders(conn: &AnyConnection, fixed: usize, n: usize) -> (Vec<String>, String) {
    let mut ph = super::Placeholders::for_connection(conn);
    let mut head = String::new();
    ph.push(&mut head, fixed);
    let mut list = String::new();
    ph.push(&mut list, n);
    (head.split(", ").map(str::to_string).collect(), list)
}

/// Messages of `ticket_id` (on `connection_id`, the ticket's) with these provider ids: what a
/// page's bubbles quote. The connection lets the unique provider-id index answer.
pub async fn quoted(
    conn: &mut AnyConnection,
    tenant: TenantId,
    connection_id: i64,
    ticket_id: i64,
    provider_ids: &[String],
) -> Result<Vec<Quoted>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in provider_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let (head, list) = placeholders(conn, 3, chunk.len());
        let sql = format!(
            "SELECT id, provider_id, direction, kind, body FROM messages
             WHERE tenant_id = {} AND connection_id = {} AND ticket_id = {} AND provider_id IN ({list})",
            head[0], head[1], head[2]
        );
        let mut q = sqlx::query(&sql)
            .persistent(super::keep_prepared(chunk.len()))
            .bind(tenant.0)
            .bind(connection_id)
            .bind(ticket_id);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(Quoted {
                id: r.try_get(0)?,
                provider_id: r.try_get(1)?,
                direction: r.try_get(2)?,
                kind: r.try_get(3)?,
                body: r.try_get(4)?,
            });
        }
    }
    Ok(out)
}

/// The reactions of `ticket_id` on these provider ids: the newest per side and message (an empty
/// emoji means the reaction was removed, and is left out).
pub async fn reactions(
    conn: &mut AnyConnection,
    tenant: TenantId,
    ticket_id: i64,
    provider_ids: &[String],
) -> Result<Vec<Reaction>, sqlx::Error> {
    let mut newest: HashMap<(String, String), (i64, String)> = HashMap::new();
    for chunk in provider_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let (head, list) = placeholders(conn, 2, chunk.len());
        let sql = format!(
            "SELECT id, refers_to, direction, body FROM messages
             WHERE tenant_id = {} AND ticket_id = {} AND kind = 'reaction' AND refers_to IN ({list})",
            head[0], head[1]
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0).bind(ticket_id);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let id: i64 = r.try_get(0)?;
            let key: (String, String) = (r.try_get(1)?, r.try_get(2)?);
            let emoji: Option<String> = r.try_get(3)?;
            let emoji = emoji.unwrap_or_default();
            if newest.get(&key).is_none_or(|(seen, _)| *seen < id) {
                newest.insert(key, (id, emoji));
            }
        }
    }
    let mut out: Vec<Reaction> = newest
        .into_iter()
        .filter(|(_, (_, emoji))| !emoji.is_empty())
        .map(|((refers_to, direction), (_, emoji))| Reaction { refers_to, direction, emoji })
        .collect();
    out.sort_by(|a, b| (&a.refers_to, &a.direction).cmp(&(&b.refers_to, &b.direction)));
    Ok(out)
}

/// The tags of each of these tickets, by name.
pub async fn tags_of_tickets(
    conn: &mut AnyConnection,
    tenant: TenantId,
    ticket_ids: &[i64],
) -> Result<HashMap<i64, Vec<Tag>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<Tag>> = HashMap::new();
    for chunk in ticket_ids.chunks(super::MAX_ROWS_PER_STATEMENT) {
        let (head, list) = placeholders(conn, 1, chunk.len());
        let sql = format!(
            "SELECT x.ticket_id, g.id, g.name, g.colour FROM ticket_tags x
             JOIN tags g ON g.tenant_id = x.tenant_id AND g.id = x.tag_id
             WHERE x.tenant_id = {} AND x.ticket_id IN ({list}) ORDER BY g.name, g.id",
            head[0]
        );
        let mut q = sqlx::query(&sql).persistent(super::keep_prepared(chunk.len())).bind(tenant.0);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let tag = Tag { id: r.try_get(1)?, name: r.try_get(2)?, colour: r.try_get(3)? };
            out.entry(r.try_get(0)?).or_default().push(tag);
        }
    }
    Ok(out)
}

/// `(id, name)` of the tenant's connections, for the list filter (no secrets).
pub async fn connection_names<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM connections WHERE tenant_id = $1 ORDER BY name, id")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}
