//! A company's keyword rules (`domain::keyword_rules`) in their order, and the replies each
//! ticket already got from them (a rule replies once per ticket).

use sqlx::{Any, Executor, Row};

use crate::domain::inbox::Priority;
use crate::domain::keyword_rules::{KeywordRule, MatchMode};
use crate::domain::TenantId;

const COLUMNS: &str = "id, words, mode, handoff, department_id, priority, tag, reply";

fn from_row(r: &sqlx::any::AnyRow) -> Result<KeywordRule, sqlx::Error> {
    let mode: String = r.try_get(2)?;
    let priority: String = r.try_get(5)?;
    Ok(KeywordRule {
        id: r.try_get(0)?,
        words: r.try_get(1)?,
        mode: MatchMode::parse(&mode).unwrap_or(MatchMode::Word),
        handoff: super::flag(r.try_get(3)?),
        department_id: r.try_get(4)?,
        priority: Priority::parse(&priority),
        tag: r.try_get(6)?,
        reply: r.try_get(7)?,
    })
}

pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<KeywordRule>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM keyword_rules WHERE tenant_id = $1 ORDER BY position, id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Replaces the company's rules with `rules`, in that order. A rule whose id is one of the
/// company's keeps it (so what it already replied stays replied); others are inserted; the
/// company's rules not in the list are removed, with their replies.
pub async fn replace(tx: &mut super::Tx, tenant: TenantId, rules: &[KeywordRule], now: i64) -> Result<(), sqlx::Error> {
    let existing: Vec<i64> = sqlx::query("SELECT id FROM keyword_rules WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut kept = Vec::new();
    for (position, r) in rules.iter().enumerate() {
        let position = position as i64;
        let priority = r.priority.map(Priority::as_str).unwrap_or("");
        if r.id > 0 && existing.contains(&r.id) && !kept.contains(&r.id) {
            sqlx::query(
                "UPDATE keyword_rules SET position = $1, words = $2, mode = $3, handoff = $4, department_id = $5,
                     priority = $6, tag = $7, reply = $8, updated_at = $9
                 WHERE tenant_id = $10 AND id = $11",
            )
            .bind(position)
            .bind(&r.words)
            .bind(r.mode.as_str())
            .bind(i64::from(r.handoff))
            .bind(r.department_id)
            .bind(priority)
            .bind(r.tag.trim())
            .bind(r.reply.trim())
            .bind(now)
            .bind(tenant.0)
            .bind(r.id)
            .execute(&mut **tx)
            .await?;
            kept.push(r.id);
        } else {
            let id: i64 = sqlx::query(
                "INSERT INTO keyword_rules (tenant_id, position, words, mode, handoff, department_id, priority, tag, reply,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(tenant.0)
            .bind(position)
            .bind(&r.words)
            .bind(r.mode.as_str())
            .bind(i64::from(r.handoff))
            .bind(r.department_id)
            .bind(priority)
            .bind(r.tag.trim())
            .bind(r.reply.trim())
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
            kept.push(id);
        }
    }
    for gone in existing.iter().filter(|id| !kept.contains(id)) {
        for sql in [
            "DELETE FROM keyword_replies WHERE tenant_id = $1 AND rule_id = $2",
            "DELETE FROM keyword_rules WHERE tenant_id = $1 AND id = $2",
        ] {
            sqlx::query(sql).bind(tenant.0).bind(gone).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Notes that `rule` replied on `ticket`; false when it already had (the reply is not sent
/// again).
pub async fn note_reply<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket: i64,
    rule: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO keyword_replies (tenant_id, ticket_id, rule_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, ticket_id, rule_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(ticket)
    .bind(rule)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
