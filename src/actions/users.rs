//! People: create, edit (role, name, active), passwords and language preference.

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::crypto;
use crate::domain::access::Audience;
use crate::domain::{validate, Role, TenantId, UserId};
use crate::store::users::{NewUser, User};

pub struct CreateUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// `None` generates a random password, returned once.
    pub password: Option<&'a str>,
}

/// Creates a user; returns it with the generated password when none was given.
pub async fn create_user(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: CreateUser<'_>,
) -> ActionResult<(User, Option<String>)> {
    let actor_role = actor.require_admin_of(tenant)?;
    if !actor_role.can_grant(input.role) {
        return Err(ActionError::Forbidden);
    }
    let t = crate::store::tenants::get(app.db.reader(), tenant).await?.ok_or(ActionError::NotFound)?;
    if input.role == Role::PlatformAdmin && !t.is_platform {
        return Err(ActionError::invalid("invalid_role", "platform admins belong to the platform tenant"));
    }
    let email = validate::email(input.email).map_err(|m| ActionError::invalid("invalid_email", m))?;
    let name = validate::name(input.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let (password, generated) = match input.password {
        Some(p) => {
            validate::password(p).map_err(|m| ActionError::invalid("weak_password", m))?;
            (p.to_string(), None)
        }
        None => {
            let p = crypto::random_password();
            (p.clone(), Some(p))
        }
    };
    let hash = crypto::hash_password(&password)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Agents, 1).await?;
    let new = NewUser { tenant_id: tenant, email: &email, name: &name, role: input.role, password_hash: &hash };
    let id = match crate::store::users::insert(&mut *tx, new, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(ActionError::Conflict {
                code: "email_taken",
                message: format!("{email} already has an account here"),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let details = serde_json::json!({ "email": email, "role": input.role });
    crate::store::audit::record(&mut *tx, tenant, &actor.label(), "user.created", &format!("user:{id}"), &details, now)
        .await?;
    let data = serde_json::json!({ "user_id": id, "name": name, "role": input.role });
    let event = app.bus.record(&mut tx, tenant, "user.created", Audience::MinRole(Role::Admin), data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    let user = User {
        id,
        tenant_id: tenant,
        email,
        name,
        role: input.role,
        locale: None,
        active: true,
        created_at: now,
        signature_enabled: false,
        away: false,
    };
    Ok((user, generated))
}

pub async fn list_users(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<User>> {
    actor.require_admin_of(tenant)?;
    Ok(crate::store::users::list(app.db.reader(), tenant).await?)
}

/// Ids and names of the tenant's people, for showing who wrote a message or moved a ticket
/// (any person of the tenant may read them; nothing else about the users).
pub async fn names(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(UserId, String)>> {
    actor.role_of(tenant)?;
    Ok(crate::store::users::list(app.db.reader(), tenant).await?.into_iter().map(|u| (u.id, u.name)).collect())
}

pub async fn get_user(app: &App, actor: &Actor, tenant: TenantId, id: UserId) -> ActionResult<User> {
    actor.require_admin_of(tenant)?;
    crate::store::users::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub struct UpdateUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub active: bool,
}

/// Edits a user. Deactivating ends all of that user's sessions in the same transaction.
pub async fn update_user(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: UserId,
    input: UpdateUser<'_>,
) -> ActionResult<User> {
    let actor_role = actor.require_admin_of(tenant)?;
    let current = crate::store::users::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    // Nobody edits someone above them, nor promotes above themselves.
    if current.role > actor_role || !actor_role.can_grant(input.role) {
        return Err(ActionError::Forbidden);
    }
    if current.role == Role::PlatformAdmin && input.role != Role::PlatformAdmin {
        return Err(ActionError::invalid("invalid_role", "a platform admin stays a platform admin"));
    }
    if input.role == Role::PlatformAdmin && current.role != Role::PlatformAdmin {
        return Err(ActionError::invalid("invalid_role", "platform admins belong to the platform tenant"));
    }
    if actor.user_id() == Some(id) && (!input.active || input.role < current.role) {
        return Err(ActionError::invalid("cannot_demote_self", "you cannot deactivate or demote yourself"));
    }
    let name = validate::name(input.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(
        app,
        &mut tx,
        tenant,
        crate::domain::plans::Limit::Agents,
        i64::from(input.active && !current.active),
    )
    .await?;
    if !crate::store::users::update(&mut *tx, tenant, id, &name, input.role, input.active, now).await? {
        return Err(ActionError::NotFound);
    }
    let mut ended = 0;
    if !input.active {
        ended = crate::store::sessions::delete_for_user(&mut *tx, tenant, id).await?;
    }
    let details =
        serde_json::json!({ "name": name, "role": input.role, "active": input.active, "sessions_ended": ended });
    crate::store::audit::record(&mut *tx, tenant, &actor.label(), "user.updated", &format!("user:{id}"), &details, now)
        .await?;
    let data = serde_json::json!({ "user_id": id, "name": name, "role": input.role, "active": input.active });
    let event = app.bus.record(&mut tx, tenant, "user.updated", Audience::MinRole(Role::Admin), data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(User { name, role: input.role, active: input.active, ..current })
}

/// Sets a new random password for a user (by an admin or the operator) and ends their sessions.
pub async fn reset_password(app: &App, actor: &Actor, tenant: TenantId, id: UserId) -> ActionResult<String> {
    let actor_role = actor.require_admin_of(tenant)?;
    let user = crate::store::users::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    if user.role > actor_role {
        return Err(ActionError::Forbidden);
    }
    let password = crypto::random_password();
    let hash = crypto::hash_password(&password)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::store::users::set_password(&mut *tx, tenant, id, &hash, now).await?;
    crate::store::sessions::delete_for_user(&mut *tx, tenant, id).await?;
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "user.password_reset",
        &format!("user:{id}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    let event = crate::actions::auth::sessions_ended(app, &mut tx, tenant, id, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(password)
}

/// A person changes their own password; their other sessions end, this one stays.
pub async fn change_own_password(
    app: &App,
    user: &User,
    current: &str,
    new: &str,
    session_hash: &str,
) -> ActionResult<()> {
    let stored = crate::store::users::password_hash(app.db.reader(), user.tenant_id, user.id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if !crypto::verify_password(current, &stored) {
        return Err(ActionError::invalid("wrong_password", "the current password is wrong"));
    }
    validate::password(new).map_err(|m| ActionError::invalid("weak_password", m))?;
    let hash = crypto::hash_password(new)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::store::users::set_password(&mut *tx, user.tenant_id, user.id, &hash, now).await?;
    crate::store::sessions::delete_others(&mut *tx, user.tenant_id, user.id, session_hash).await?;
    let subject = format!("user:{}", user.id);
    crate::store::audit::record(
        &mut *tx,
        user.tenant_id,
        &subject,
        "user.password_changed",
        &subject,
        &serde_json::json!({}),
        now,
    )
    .await?;
    let event = crate::actions::auth::sessions_ended(app, &mut tx, user.tenant_id, user.id, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}

/// Stores a person's language preference (`pt-BR`, `en`, or `None` to follow the browser).
pub async fn set_locale(app: &App, user: &User, locale: Option<&str>) -> ActionResult<()> {
    if let Some(l) = locale {
        if !["pt-BR", "en"].contains(&l) {
            return Err(ActionError::invalid("invalid_locale", "locale must be pt-BR or en"));
        }
    }
    crate::store::users::set_locale(app.db.writer(), user.tenant_id, user.id, locale, app.clock.now_ms()).await?;
    Ok(())
}
