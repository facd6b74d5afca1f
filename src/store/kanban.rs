//! The kanban's lanes: tags with a lane position, in board order, and which lane a ticket is in.
//! The cards of a lane are read by `store::inbox::list` (a lane is a tag filter; "no lane" is
//! `Filter::no_lane`), so the board shares the inbox's visibility rule and its indexes.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// A column of the board.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Lane {
    pub tag_id: i64,
    pub name: String,
    pub colour: String,
    pub position: i64,
}

/// The tenant's lanes in board order (position, then name).
pub async fn lanes<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Lane>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, colour, lane_position FROM tags WHERE tenant_id = $1 AND lane_position IS NOT NULL
         ORDER BY lane_position, name, id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Lane { tag_id: r.try_get(0)?, name: r.try_get(1)?, colour: r.try_get(2)?, position: r.try_get(3)? })
        })
        .collect()
}

/// Makes a tag a lane at `position`, or (`None`) an ordinary tag again; false when the tag does
/// not exist in this tenant.
pub async fn set_position<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    tag_id: i64,
    position: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tags SET lane_position = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(position)
        .bind(tenant.0)
        .bind(tag_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The lane tags a ticket carries (one, unless tags were put on by hand), in board order.
pub async fn lanes_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT g.id FROM ticket_tags x JOIN tags g ON g.tenant_id = x.tenant_id AND g.id = x.tag_id
         WHERE x.tenant_id = $1 AND x.ticket_id = $2 AND g.lane_position IS NOT NULL ORDER BY g.lane_position, g.id",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Takes every lane tag off a ticket.
pub async fn clear<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM ticket_tags WHERE tenant_id = $1 AND ticket_id = $2
           AND tag_id IN (SELECT id FROM tags WHERE tenant_id = $1 AND lane_position IS NOT NULL)",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
