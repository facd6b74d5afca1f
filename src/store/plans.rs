//! Plans (the platform's) and what a company uses of each limit.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::plans::{Feature, Limit};
use crate::domain::TenantId;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub price_cents: i64,
    /// `monthly` or `yearly`.
    pub period: String,
    pub max_connections: Option<i64>,
    pub max_agents: Option<i64>,
    pub max_departments: Option<i64>,
    pub max_chatbots: Option<i64>,
    pub max_campaigns_month: Option<i64>,
    pub max_contacts: Option<i64>,
    pub max_storage_mb: Option<i64>,
    pub feature_campaigns: bool,
    pub feature_api: bool,
    pub feature_chat: bool,
    pub feature_chatbot: bool,
    pub feature_kanban: bool,
    /// An inactive plan is kept for the companies on it but offered to no new one.
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Plan {
    /// What the plan allows of a limit (`None`: no limit).
    pub fn allowed(&self, limit: Limit) -> Option<i64> {
        match limit {
            Limit::Connections => self.max_connections,
            Limit::Agents => self.max_agents,
            Limit::Departments => self.max_departments,
            Limit::Chatbots => self.max_chatbots,
            Limit::CampaignsPerMonth => self.max_campaigns_month,
            Limit::Contacts => self.max_contacts,
            Limit::StorageMb => self.max_storage_mb,
        }
    }

    pub fn has(&self, feature: Feature) -> bool {
        match feature {
            Feature::Campaigns => self.feature_campaigns,
            Feature::Api => self.feature_api,
            Feature::Chat => self.feature_chat,
            Feature::Chatbot => self.feature_chatbot,
            Feature::Kanban => self.feature_kanban,
        }
    }
}

/// A plan as the platform admin writes it.
#[derive(Clone, Debug, Default)]
pub struct PlanFields {
    pub name: String,
    pub price_cents: i64,
    pub period: String,
    pub limits: [Option<i64>; 7],
    pub features: [bool; 5],
    pub active: bool,
}

const COLUMNS: &str = "p.id, p.name, p.price_cents, p.period, p.max_connections, p.max_agents, p.max_departments,
    p.max_chatbots, p.max_campaigns_month, p.max_contacts, p.max_storage_mb, p.feature_campaigns, p.feature_api,
    p.feature_chat, p.feature_chatbot, p.feature_kanban, p.active, p.created_at, p.updated_at";

fn from_row(r: &AnyRow) -> Result<Plan, sqlx::Error> {
    Ok(Plan {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        price_cents: r.try_get("price_cents")?,
        period: r.try_get("period")?,
        max_connections: r.try_get("max_connections")?,
        max_agents: r.try_get("max_agents")?,
        max_departments: r.try_get("max_departments")?,
        max_chatbots: r.try_get("max_chatbots")?,
        max_campaigns_month: r.try_get("max_campaigns_month")?,
        max_contacts: r.try_get("max_contacts")?,
        max_storage_mb: r.try_get("max_storage_mb")?,
        feature_campaigns: super::flag(r.try_get("feature_campaigns")?),
        feature_api: super::flag(r.try_get("feature_api")?),
        feature_chat: super::flag(r.try_get("feature_chat")?),
        feature_chatbot: super::flag(r.try_get("feature_chatbot")?),
        feature_kanban: super::flag(r.try_get("feature_kanban")?),
        active: super::flag(r.try_get("active")?),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<Plan>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM plans p ORDER BY p.price_cents, p.id");
    sqlx::query(&sql).fetch_all(ex).await?.iter().map(from_row).collect()
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<Option<Plan>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM plans p WHERE p.id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// The plan a company is on (`None`: no plan, so no limits).
pub async fn of_tenant<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Option<Plan>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM plans p JOIN tenants t ON t.plan_id = p.id WHERE t.id = $1");
    sqlx::query(&sql).bind(tenant.0).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

fn bind_fields<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    f: &'q PlanFields,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    let mut q = q.bind(f.name.as_str()).bind(f.price_cents).bind(f.period.as_str());
    for limit in f.limits {
        q = q.bind(limit);
    }
    for feature in f.features {
        q = q.bind(i64::from(feature));
    }
    q.bind(i64::from(f.active))
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, f: &PlanFields, now: i64) -> Result<i64, sqlx::Error> {
    let q = sqlx::query(
        "INSERT INTO plans (name, price_cents, period, max_connections, max_agents, max_departments, max_chatbots,
             max_campaigns_month, max_contacts, max_storage_mb, feature_campaigns, feature_api, feature_chat,
             feature_chatbot, feature_kanban, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    );
    bind_fields(q, f).bind(now).fetch_one(ex).await?.try_get(0)
}

pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: i64,
    f: &PlanFields,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let q = sqlx::query(
        "UPDATE plans SET name = $1, price_cents = $2, period = $3, max_connections = $4, max_agents = $5,
             max_departments = $6, max_chatbots = $7, max_campaigns_month = $8, max_contacts = $9,
             max_storage_mb = $10, feature_campaigns = $11, feature_api = $12, feature_chat = $13,
             feature_chatbot = $14, feature_kanban = $15, active = $16, updated_at = $17
         WHERE id = $18",
    );
    Ok(bind_fields(q, f).bind(now).bind(id).execute(ex).await?.rows_affected() == 1)
}

/// How many companies are on each plan, by plan id.
pub async fn tenant_counts<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT plan_id, COUNT(*) FROM tenants WHERE plan_id IS NOT NULL GROUP BY plan_id")
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn set_tenant_plan<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    plan: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tenants SET plan_id = $1 WHERE id = $2 AND is_platform = 0")
        .bind(plan)
        .bind(tenant.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the company's row lock for the rest of the transaction, so two requests racing for the
/// last slot of a limit are counted one after the other (PostgreSQL's row lock; on SQLite the
/// write starts the single writer's transaction, which already serialises them).
pub async fn lock_tenant(conn: &mut AnyConnection, tenant: TenantId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET plan_id = plan_id WHERE id = $1").bind(tenant.0).execute(conn).await?;
    Ok(())
}

/// How much of a limit the company uses now. `month_start`: the start of the company's current
/// calendar month (for campaigns per month).
pub async fn used<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    limit: Limit,
    month_start: i64,
) -> Result<i64, sqlx::Error> {
    let sql = match limit {
        Limit::Connections => {
            "SELECT COUNT(*) FROM connections WHERE tenant_id = $1 AND active = 1 AND removed_at IS NULL"
        }
        Limit::Agents => "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND active = 1",
        Limit::Departments => "SELECT COUNT(*) FROM departments WHERE tenant_id = $1",
        Limit::Chatbots => "SELECT COUNT(*) FROM chatbots WHERE tenant_id = $1",
        Limit::CampaignsPerMonth => "SELECT COUNT(*) FROM campaigns WHERE tenant_id = $1 AND created_at >= $2",
        Limit::Contacts => "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1",
        // Bytes here; the action turns them into MB. PostgreSQL sums BIGINT as NUMERIC.
        Limit::StorageMb => {
            "SELECT CAST(COALESCE((SELECT SUM(media_size) FROM messages WHERE tenant_id = $1 AND media_size > 0), 0)
                  + COALESCE((SELECT SUM(file_size) FROM chat_messages WHERE tenant_id = $1 AND file_size > 0), 0)
                  AS BIGINT)"
        }
    };
    let q = sqlx::query_scalar(sql).bind(tenant.0);
    let q = if limit == Limit::CampaignsPerMonth { q.bind(month_start) } else { q };
    q.fetch_one(ex).await
}
