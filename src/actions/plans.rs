//! Plans: the platform admin's catalogue, a company's plan and its usage, and the checks the
//! use cases call before they add a counted thing or use a switchable feature.

use sqlx::AnyConnection;

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::plans::{self, Feature, Limit};
use crate::domain::{validate, TenantId};
use crate::store::plans::{Plan, PlanFields};

/// One line of a company's usage: "3 de 5 conexões".
#[derive(Clone, Debug, serde::Serialize)]
pub struct UsageItem {
    pub limit: &'static str,
    pub used: i64,
    /// `None`: no limit.
    pub allowed: Option<i64>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Usage {
    pub plan: Option<Plan>,
    pub items: Vec<UsageItem>,
}

impl Usage {
    pub fn item(&self, limit: Limit) -> Option<&UsageItem> {
        self.items.iter().find(|i| i.limit == limit.name())
    }
}

fn check_fields(f: PlanFields) -> ActionResult<PlanFields> {
    let name = validate::name(&f.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    if !(0..=100_000_000).contains(&f.price_cents) {
        return Err(ActionError::invalid("invalid_price", "the price must be between 0 and 1,000,000.00"));
    }
    if !plans::PERIODS.contains(&f.period.as_str()) {
        return Err(ActionError::invalid("invalid_billing_period", "the period must be monthly or yearly"));
    }
    if f.limits.iter().flatten().any(|n| !(0..=1_000_000_000).contains(n)) {
        return Err(ActionError::invalid("invalid_limit", "a limit must be a whole number from 0, or empty for none"));
    }
    Ok(PlanFields { name, ..f })
}

fn name_taken(e: &sqlx::Error) -> Option<ActionError> {
    is_unique_violation(e)
        .then(|| ActionError::Conflict { code: "plan_exists", message: "a plan with this name exists".into() })
}

pub async fn list(app: &App, actor: &Actor) -> ActionResult<Vec<(Plan, i64)>> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let plans = crate::store::plans::list(app.db.reader()).await?;
    let counts = crate::store::plans::tenant_counts(app.db.reader()).await?;
    Ok(plans
        .into_iter()
        .map(|p| {
            let n = counts.iter().find(|(id, _)| *id == p.id).map_or(0, |(_, n)| *n);
            (p, n)
        })
        .collect())
}

pub async fn create(app: &App, actor: &Actor, fields: PlanFields) -> ActionResult<Plan> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let fields = check_fields(fields)?;
    let now = app.clock.now_ms();
    let id = match crate::store::plans::insert(app.db.writer(), &fields, now).await {
        Ok(id) => id,
        Err(e) => return Err(name_taken(&e).unwrap_or_else(|| e.into())),
    };
    tracing::info!(plan.id = id, "plan created");
    crate::store::plans::get(app.db.writer(), id).await?.ok_or(ActionError::NotFound)
}

/// Changes a plan. Lowering a limit below what a company uses takes nothing away: the company
/// only cannot add more until it is back under.
pub async fn update(app: &App, actor: &Actor, id: i64, fields: PlanFields) -> ActionResult<Plan> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let fields = check_fields(fields)?;
    match crate::store::plans::update(app.db.writer(), id, &fields, app.clock.now_ms()).await {
        Ok(true) => {}
        Ok(false) => return Err(ActionError::NotFound),
        Err(e) => return Err(name_taken(&e).unwrap_or_else(|| e.into())),
    }
    crate::store::plans::get(app.db.writer(), id).await?.ok_or(ActionError::NotFound)
}

/// Puts a company on a plan (or on none: no limits). Recorded in the company's own audit log,
/// so its admins see who changed their plan.
pub async fn set_tenant_plan(app: &App, actor: &Actor, tenant: TenantId, plan: Option<i64>) -> ActionResult<()> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let name = match plan {
        Some(id) => Some(crate::store::plans::get(&mut *tx, id).await?.ok_or_else(unknown_plan)?.name),
        None => None,
    };
    if !crate::store::plans::set_tenant_plan(&mut *tx, tenant, plan).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "plan_id": plan, "plan": name });
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "plan.changed",
        &format!("tenant:{}", tenant.0),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn unknown_plan() -> ActionError {
    ActionError::invalid("unknown_plan", "there is no such plan")
}

async fn month_start(conn: &mut AnyConnection, tenant: TenantId, now: i64) -> ActionResult<i64> {
    let zone = crate::store::tenants::get(&mut *conn, tenant).await?.map(|t| t.time_zone).unwrap_or_default();
    let tz = crate::domain::hours::parse_tz(&zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    Ok(plans::month_start(tz, now))
}

async fn used(conn: &mut AnyConnection, tenant: TenantId, limit: Limit, now: i64) -> ActionResult<i64> {
    let start = if limit == Limit::CampaignsPerMonth { month_start(conn, tenant, now).await? } else { 0 };
    let n = crate::store::plans::used(&mut *conn, tenant, limit, start).await?;
    Ok(if limit == Limit::StorageMb { plans::storage_mb(n) } else { n })
}

/// The plan a company is on (`None`: no plan, no limits).
pub async fn tenant_plan(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Option<Plan>> {
    if !actor.is_platform_admin() {
        actor.role_of(tenant)?;
    }
    Ok(crate::store::plans::of_tenant(app.db.reader(), tenant).await?)
}

/// What the company uses of each limit and what its plan allows. Any person of the company.
pub async fn usage(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Usage> {
    if !actor.is_platform_admin() {
        actor.role_of(tenant)?;
    }
    let mut conn = app.db.reader().acquire().await?;
    let plan = crate::store::plans::of_tenant(&mut *conn, tenant).await?;
    let now = app.clock.now_ms();
    let mut items = Vec::with_capacity(Limit::ALL.len());
    for limit in Limit::ALL {
        let used = used(&mut conn, tenant, limit, now).await?;
        items.push(UsageItem { limit: limit.name(), used, allowed: plan.as_ref().and_then(|p| p.allowed(limit)) });
    }
    Ok(Usage { plan, items })
}

/// One limit's usage where the company's plan sets that limit (`None` otherwise): the line a page
/// shows beside what it counts.
pub async fn usage_of(app: &App, actor: &Actor, tenant: TenantId, limit: Limit) -> ActionResult<Option<UsageItem>> {
    actor.role_of(tenant)?;
    let Some(allowed) = crate::store::plans::of_tenant(app.db.reader(), tenant).await?.and_then(|p| p.allowed(limit))
    else {
        return Ok(None);
    };
    let mut conn = app.db.reader().acquire().await?;
    let used = used(&mut conn, tenant, limit, app.clock.now_ms()).await?;
    Ok(Some(UsageItem { limit: limit.name(), used, allowed: Some(allowed) }))
}

/// Refuses adding `adding` of `limit` past the company's plan, inside the transaction that adds
/// them: the company's row lock makes two requests racing for the last slot count one after the
/// other, so exactly one gets it.
pub async fn ensure_room(
    app: &App,
    conn: &mut AnyConnection,
    tenant: TenantId,
    limit: Limit,
    adding: i64,
) -> ActionResult<()> {
    let Some(allowed) = crate::store::plans::of_tenant(&mut *conn, tenant).await?.and_then(|p| p.allowed(limit)) else {
        return Ok(());
    };
    crate::store::plans::lock_tenant(conn, tenant).await?;
    let used = used(conn, tenant, limit, app.clock.now_ms()).await?;
    plans::check(limit, Some(allowed), used, adding)
        .map_err(|r| ActionError::PlanLimit { limit: r.limit.name(), allowed: r.allowed })
}

/// Refuses storing a file of `bytes` past the plan's storage. Files customers send are always
/// stored (a message is never lost to a limit); this guards what people upload.
pub async fn ensure_storage(app: &App, tenant: TenantId, bytes: i64) -> ActionResult<()> {
    let Some(allowed) =
        crate::store::plans::of_tenant(app.db.reader(), tenant).await?.and_then(|p| p.allowed(Limit::StorageMb))
    else {
        return Ok(());
    };
    let used = crate::store::plans::used(app.db.reader(), tenant, Limit::StorageMb, 0).await?;
    if plans::storage_mb(used.saturating_add(bytes)) > allowed {
        return Err(ActionError::PlanLimit { limit: Limit::StorageMb.name(), allowed });
    }
    Ok(())
}

/// Refuses a feature the company's plan switched off (403 `feature_disabled`, naming it).
pub async fn require_feature(app: &App, tenant: TenantId, feature: Feature) -> ActionResult<()> {
    if has_feature(app, tenant, feature).await? {
        Ok(())
    } else {
        Err(ActionError::Disabled {
            code: "feature_disabled",
            message: format!("{} is not part of this company's plan", feature.name()),
        })
    }
}

/// Whether the company's plan includes a feature (no plan: everything).
pub async fn has_feature(app: &App, tenant: TenantId, feature: Feature) -> ActionResult<bool> {
    let plan = crate::store::plans::of_tenant(app.db.reader(), tenant).await?;
    Ok(plan.is_none_or(|p| p.has(feature)))
}
