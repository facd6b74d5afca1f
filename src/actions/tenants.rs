//! Creating tenants (companies): the platform admin or the operator.

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::validate;
use crate::store::tenants::Tenant;

/// Slugs that name Atende's own pages or the platform tenant.
const RESERVED_SLUGS: &[&str] = &["platform", "admin", "api", "www", "static", "assets"];

pub async fn create_tenant(app: &App, actor: &Actor, name: &str, slug: &str) -> ActionResult<Tenant> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let name = validate::name(name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let slug = validate::slug(slug).map_err(|m| ActionError::invalid("invalid_slug", m))?;
    if RESERVED_SLUGS.contains(&slug.as_str()) {
        return Err(ActionError::invalid("invalid_slug", format!("the slug {slug:?} is reserved")));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let id = match crate::store::tenants::insert(&mut *tx, &slug, &name, false, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(ActionError::Conflict {
                code: "slug_taken",
                message: format!("a company with slug {slug:?} exists"),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let details = serde_json::json!({ "slug": slug, "name": name });
    crate::store::audit::record(&mut *tx, id, &actor.label(), "tenant.created", &format!("tenant:{id}"), &details, now)
        .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = id.0, tenant.slug = %slug, "tenant created");
    Ok(Tenant {
        id,
        slug,
        name,
        is_platform: false,
        active: true,
        created_at: now,
        time_zone: crate::store::tenants::DEFAULT_TIME_ZONE.to_string(),
    })
}

pub async fn find_by_slug(app: &App, slug: &str) -> ActionResult<Tenant> {
    crate::store::tenants::find_by_slug(app.db.reader(), slug.trim()).await?.ok_or(ActionError::NotFound)
}

/// Every company, for the platform admin.
pub async fn list_tenants(app: &App, actor: &Actor) -> ActionResult<Vec<Tenant>> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    Ok(crate::store::tenants::list(app.db.reader()).await?)
}

/// The tenant a person or token belongs to.
pub async fn own_tenant(app: &App, actor: &Actor) -> ActionResult<Tenant> {
    let id = match actor {
        Actor::User(u) => u.tenant_id,
        Actor::Token(t) => t.tenant_id,
        Actor::Operator => return Err(ActionError::NotFound),
    };
    crate::store::tenants::get(app.db.reader(), id).await?.ok_or(ActionError::NotFound)
}

/// One company, for the platform admin.
pub async fn get_tenant(app: &App, actor: &Actor, id: crate::domain::TenantId) -> ActionResult<Tenant> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    crate::store::tenants::get(app.db.reader(), id).await?.filter(|t| !t.is_platform).ok_or(ActionError::NotFound)
}

/// Suspends a company (nobody of it logs in, its sessions and API tokens stop working; the
/// customers' messages keep being stored) or reactivates it. In the company's audit log.
pub async fn set_active(app: &App, actor: &Actor, id: crate::domain::TenantId, active: bool) -> ActionResult<()> {
    if !actor.is_platform_admin() {
        return Err(ActionError::Forbidden);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !crate::store::tenants::set_active(&mut *tx, id, active).await? {
        return Err(ActionError::NotFound);
    }
    let action = if active { "tenant.reactivated" } else { "tenant.suspended" };
    crate::store::audit::record(
        &mut *tx,
        id,
        &actor.label(),
        action,
        &format!("tenant:{}", id.0),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = id.0, active, "tenant status changed");
    Ok(())
}
