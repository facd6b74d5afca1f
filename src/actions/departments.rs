//! Departments ("filas / setores"): create, edit, delete, members, and a connection's default
//! department. Admins manage them; everyone of the tenant may list them.

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::inbox::DistributionMode;
use crate::domain::{validate, Role, TenantId, UserId};
use crate::store::departments::{Department, DepartmentFields, Member};
use crate::store::{self};

/// A department as people type it.
#[derive(Clone, Debug)]
pub struct DepartmentInput {
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
    pub greeting: String,
    pub sign_messages: bool,
    pub distribution_mode: DistributionMode,
}

/// Checks a `#rrggbb` colour; returns it lower-cased.
pub fn colour(s: &str) -> ActionResult<String> {
    let s = s.trim().to_ascii_lowercase();
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(ActionError::invalid("invalid_colour", "colour must look like #2563eb"));
    }
    Ok(s)
}

fn check(input: &DepartmentInput) -> ActionResult<(String, String)> {
    let name = validate::name(&input.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    if input.greeting.chars().count() > 4096 {
        return Err(ActionError::invalid("invalid_greeting", "the greeting is too long (4096 characters at most)"));
    }
    Ok((name, colour(&input.colour)?))
}

fn taken(name: &str) -> ActionError {
    ActionError::Conflict { code: "name_taken", message: format!("a department named {name} already exists") }
}

#[allow(clippy::too_many_arguments)]
async fn audit_and_event(
    app: &App,
    tx: &mut store::Tx,
    actor: &Actor,
    tenant: TenantId,
    action: &'static str,
    id: i64,
    details: serde_json::Value,
    now: i64,
) -> ActionResult<store::events::StoredEvent> {
    store::audit::record(&mut **tx, tenant, &actor.label(), action, &format!("department:{id}"), &details, now).await?;
    let data = serde_json::json!({ "department_id": id });
    Ok(app.bus.record(tx, tenant, action, Audience::Tenant, data, now).await?)
}

pub async fn create_department(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: DepartmentInput,
) -> ActionResult<Department> {
    actor.require_admin_of(tenant)?;
    let (name, colour) = check(&input)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Departments, 1).await?;
    let fields = DepartmentFields {
        name: &name,
        colour: &colour,
        greeting: input.greeting.trim(),
        sign_messages: input.sign_messages,
        distribution_mode: input.distribution_mode,
    };
    let id = match store::departments::insert(&mut *tx, tenant, &fields, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(taken(&name)),
        Err(e) => return Err(e.into()),
    };
    let details = serde_json::json!({ "name": name, "distribution_mode": input.distribution_mode });
    let event = audit_and_event(app, &mut tx, actor, tenant, "department.created", id, details, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::departments::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn update_department(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: DepartmentInput,
) -> ActionResult<Department> {
    actor.require_admin_of(tenant)?;
    let (name, colour) = check(&input)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let fields = DepartmentFields {
        name: &name,
        colour: &colour,
        greeting: input.greeting.trim(),
        sign_messages: input.sign_messages,
        distribution_mode: input.distribution_mode,
    };
    match store::departments::update(&mut *tx, tenant, id, &fields, now).await {
        Ok(true) => {}
        Ok(false) => return Err(ActionError::NotFound),
        Err(e) if is_unique_violation(&e) => return Err(taken(&name)),
        Err(e) => return Err(e.into()),
    }
    let details = serde_json::json!({ "name": name, "sign_messages": input.sign_messages,
        "distribution_mode": input.distribution_mode });
    let event = audit_and_event(app, &mut tx, actor, tenant, "department.updated", id, details, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    store::departments::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Deletes a department; its tickets keep their history and lose the department (waiting ones
/// become visible to every agent), its quick replies go with it.
pub async fn delete_department(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let d = store::departments::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    store::departments::delete(&mut tx, tenant, id).await?;
    let event = audit_and_event(
        app,
        &mut tx,
        actor,
        tenant,
        "department.deleted",
        id,
        serde_json::json!({ "name": d.name }),
        now,
    )
    .await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

pub async fn list_departments(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Department>> {
    actor.role_of(tenant)?;
    Ok(store::departments::list(app.db.reader(), tenant).await?)
}

/// Every department's own week (`domain::hours::WeekSchedule` as JSON; empty: it follows the
/// company's hours), by id.
pub async fn all_hours(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, String)>> {
    actor.require_admin_of(tenant)?;
    Ok(store::departments::all_hours(app.db.reader(), tenant).await?)
}

pub async fn get_department(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Department> {
    actor.role_of(tenant)?;
    store::departments::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Members with their presence and current load (supervisors and admins).
pub async fn list_members(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Vec<Member>> {
    actor.require_supervisor_of(tenant)?;
    store::departments::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    Ok(store::departments::members(app.db.reader(), tenant, id).await?)
}

/// Whom a supervisor may transfer a ticket to: active members of any department, by name, with
/// their presence now.
pub async fn transfer_targets(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
) -> ActionResult<Vec<(i64, String, crate::domain::inbox::Presence)>> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let targets = store::departments::transfer_targets(app.db.reader(), tenant).await?;
    Ok(targets
        .into_iter()
        .map(|t| (t.id, t.name, crate::domain::inbox::Presence::of(t.last_seen_at, t.away, now)))
        .collect())
}

/// Adds (`member: true`) or removes a person from a department.
pub async fn set_member(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    department_id: i64,
    user: UserId,
    member: bool,
) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::departments::get(&mut *tx, tenant, department_id).await?.ok_or(ActionError::NotFound)?;
    store::users::get(&mut *tx, tenant, user)
        .await?
        .ok_or_else(|| ActionError::invalid("unknown_agent", "no person with this id in this company"))?;
    let changed = if member {
        store::departments::add_member(&mut *tx, tenant, department_id, user.0, now).await?
    } else {
        store::departments::remove_member(&mut *tx, tenant, department_id, user.0).await?
    };
    if !changed {
        return Ok(());
    }
    let action = if member { "department.member_added" } else { "department.member_removed" };
    let details = serde_json::json!({ "user_id": user });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        action,
        &format!("department:{department_id}"),
        &details,
        now,
    )
    .await?;
    let data = serde_json::json!({ "department_id": department_id, "user_id": user });
    let event =
        app.bus.record(&mut tx, tenant, "department.members", Audience::MinRole(Role::Agent), data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

/// Sets (or clears) the department new tickets of a connection queue in.
pub async fn set_connection_department(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    connection_id: i64,
    department_id: Option<i64>,
) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if let Some(d) = department_id {
        store::departments::get(&mut *tx, tenant, d)
            .await?
            .ok_or_else(|| ActionError::invalid("unknown_department", "no such department in this company"))?;
    }
    if !store::connections::set_default_department(&mut *tx, tenant, connection_id, department_id, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "default_department_id": department_id });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "connection.department_set",
        &format!("connection:{connection_id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
