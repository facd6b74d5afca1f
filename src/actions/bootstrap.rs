//! First run: the platform tenant with its admin and, in demo mode, the "Demo" tenant with its
//! admin. Passwords are random and returned once for the terminal; a restart creates nothing.

use crate::actions::ActionResult;
use crate::app::App;
use crate::crypto;
use crate::domain::{Role, TenantId};
use crate::store::users::NewUser;

pub const PLATFORM_SLUG: &str = "platform";
pub const PLATFORM_ADMIN_EMAIL: &str = "admin@atende.local";
pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.local";

#[derive(Debug, serde::Serialize)]
pub struct FirstLogin {
    pub tenant: String,
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// Creates the first tenants and admins when the database has none; otherwise does nothing.
pub async fn first_run(app: &App) -> ActionResult<Vec<FirstLogin>> {
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    // Two instances starting together on PostgreSQL: the lock makes the second wait, then see
    // the tenants the first created.
    crate::store::lock_for_bootstrap(&mut tx, app.db.backend).await?;
    if crate::store::tenants::count(&mut *tx).await? > 0 {
        return Ok(Vec::new());
    }
    let mut logins = Vec::new();
    let platform = crate::store::tenants::insert(&mut *tx, PLATFORM_SLUG, "Atende", true, now).await?;
    logins.push(
        add_admin(&mut tx, platform, PLATFORM_SLUG, PLATFORM_ADMIN_EMAIL, "Platform admin", Role::PlatformAdmin, now)
            .await?,
    );
    if app.settings.demo {
        let demo = crate::store::tenants::insert(&mut *tx, DEMO_SLUG, "Demo", false, now).await?;
        logins.push(add_admin(&mut tx, demo, DEMO_SLUG, DEMO_ADMIN_EMAIL, "Demo admin", Role::Admin, now).await?);
    }
    crate::store::audit::record(
        &mut *tx,
        platform,
        "operator",
        "platform.initialised",
        "platform",
        &serde_json::json!({ "demo": app.settings.demo }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(logins)
}

async fn add_admin(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    slug: &str,
    email: &str,
    name: &str,
    role: Role,
    now: i64,
) -> ActionResult<FirstLogin> {
    let password = crypto::random_password();
    let hash = crypto::hash_password(&password)?;
    let user = NewUser { tenant_id: tenant, email, name, role, password_hash: &hash };
    crate::store::users::insert(&mut **tx, user, now).await?;
    Ok(FirstLogin { tenant: slug.to_string(), email: email.to_string(), password, role })
}
