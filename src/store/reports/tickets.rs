//! The ticket report: tickets of a period with filters, one keyset page at a time (the CSV
//! export streams page after page, so a million rows never sit in memory).

use std::collections::BTreeMap;

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// What the report lists. Every filter is optional; the period is on `created_at`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub from: i64,
    pub to: i64,
    pub department: Option<i64>,
    pub agent: Option<i64>,
    pub connection: Option<i64>,
    pub tag: Option<i64>,
    /// bot, waiting, open or closed.
    pub status: Option<String>,
    /// 1–5; 0 = not rated.
    pub rating: Option<i64>,
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row_ {
    pub id: i64,
    pub protocol: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub queued_at: Option<i64>,
    pub first_agent_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub reopened_count: i64,
    pub csat_rating: Option<i64>,
    pub contact_id: i64,
    pub contact_name: String,
    pub contact_phone: String,
    pub connection_name: String,
    pub department_name: Option<String>,
    pub assignee_name: Option<String>,
    pub tags: Vec<String>,
}

/// `limit` rows with id below `before` (newest first; None: from the newest).
pub async fn page<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Row_>, sqlx::Error> {
    let mut sql = String::from(
        "SELECT t.id, t.protocol, t.status, t.created_at, t.queued_at, t.first_agent_reply_at, t.closed_at,
             t.reopened_count, t.csat_rating, t.contact_id, c.name, c.phone, cn.name, d.name, u.name
         FROM tickets t
         JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.contact_id
         JOIN connections cn ON cn.tenant_id = t.tenant_id AND cn.id = t.connection_id
         LEFT JOIN departments d ON d.tenant_id = t.tenant_id AND d.id = t.department_id
         LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.assignee_id
         WHERE t.tenant_id = $1 AND t.created_at >= $2 AND t.created_at < $3 AND t.id < $4",
    );
    // Numbers only are formatted in; the status is bound.
    if let Some(d) = f.department {
        sql.push_str(&format!(" AND t.department_id = {d}"));
    }
    if let Some(a) = f.agent {
        sql.push_str(&format!(" AND t.assignee_id = {a}"));
    }
    if let Some(c) = f.connection {
        sql.push_str(&format!(" AND t.connection_id = {c}"));
    }
    if let Some(tag) = f.tag {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.tenant_id = t.tenant_id AND tt.ticket_id = t.id AND tt.tag_id = {tag})"
        ));
    }
    match f.rating {
        Some(0) => sql.push_str(" AND t.csat_rating IS NULL"),
        Some(r) => sql.push_str(&format!(" AND t.csat_rating = {r}")),
        None => {}
    }
    sql.push_str(if f.status.is_some() { " AND t.status = $6" } else { " AND $6 = $6" });
    sql.push_str(" ORDER BY t.id DESC LIMIT $5");
    let rows = sqlx::query(&sql)
        .bind(tenant.0)
        .bind(f.from)
        .bind(f.to)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 5000))
        .bind(f.status.clone().unwrap_or_default())
        .fetch_all(ex)
        .await?;
    let mut out: Vec<Row_> = rows
        .iter()
        .map(|r| {
            Ok(Row_ {
                id: r.try_get(0)?,
                protocol: r.try_get(1)?,
                status: r.try_get(2)?,
                created_at: r.try_get(3)?,
                queued_at: r.try_get(4)?,
                first_agent_reply_at: r.try_get(5)?,
                closed_at: r.try_get(6)?,
                reopened_count: r.try_get(7)?,
                csat_rating: r.try_get(8)?,
                contact_id: r.try_get(9)?,
                contact_name: r.try_get(10)?,
                contact_phone: r.try_get(11)?,
                connection_name: r.try_get(12)?,
                department_name: r.try_get(13)?,
                assignee_name: r.try_get(14)?,
                tags: Vec::new(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    if let (Some(first), Some(last)) = (out.first().map(|r| r.id), out.last().map(|r| r.id)) {
        let tags = sqlx::query(
            "SELECT tt.ticket_id, g.name FROM ticket_tags tt JOIN tags g ON g.tenant_id = tt.tenant_id AND g.id = tt.tag_id
             WHERE tt.tenant_id = $1 AND tt.ticket_id <= $2 AND tt.ticket_id >= $3 ORDER BY g.name",
        )
        .bind(tenant.0)
        .bind(first)
        .bind(last)
        .fetch_all(ex)
        .await?;
        let mut by_ticket: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for r in &tags {
            by_ticket.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        for row in &mut out {
            row.tags = by_ticket.remove(&row.id).unwrap_or_default();
        }
    }
    Ok(out)
}
