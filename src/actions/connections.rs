//! Connections: an admin (or the operator) adds a WhatsApp Cloud API number; secrets are sealed
//! with the master key; the webhook URL and verify token are handed back to paste into Meta.

use std::sync::Arc;

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::channels::whatsapp_cloud::{DEFAULT_API_VERSION, DEFAULT_GRAPH_URL};
use crate::config::Secret;
use crate::domain::{validate, TenantId};
use crate::store::connections::{Connection, NewConnection};

pub const KIND_WHATSAPP_CLOUD: &str = "whatsapp_cloud";

pub struct CreateWhatsappCloud<'a> {
    pub name: &'a str,
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
    pub access_token: &'a str,
    pub app_secret: &'a str,
    /// `None`: Meta's Graph API.
    pub graph_url: Option<&'a str>,
    pub api_version: Option<&'a str>,
    /// Messages per second this number may send (Meta's tiers: 20, 80 by default, 1,000).
    pub rate_per_sec: Option<i64>,
}

/// What an admin needs to finish the set-up in Meta's dashboard.
#[derive(Debug, serde::Serialize)]
pub struct CreatedConnection {
    #[serde(flatten)]
    pub connection: Connection,
    pub webhook_url: String,
}

pub fn webhook_url(app: &App, connection_id: i64) -> String {
    format!("{}/hooks/whatsapp/{connection_id}", app.settings.effective_base_url())
}

pub async fn create_whatsapp_cloud(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: CreateWhatsappCloud<'_>,
) -> ActionResult<CreatedConnection> {
    actor.require_admin_of(tenant)?;
    let name = validate::name(input.name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let phone_number_id = input.phone_number_id.trim();
    if phone_number_id.is_empty()
        || phone_number_id.len() > 64
        || !phone_number_id.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ActionError::invalid(
            "invalid_phone_number_id",
            "phone number id must be 1 to 64 letters or digits",
        ));
    }
    if input.access_token.trim().is_empty() || input.app_secret.trim().is_empty() {
        return Err(ActionError::invalid("missing_secret", "access token and app secret are required"));
    }
    let graph_url =
        input.graph_url.map(str::trim).filter(|u| !u.is_empty()).unwrap_or(DEFAULT_GRAPH_URL).trim_end_matches('/');
    let graph_url_trusted = check_graph_url(app, actor, graph_url).await?;
    let rate = input.rate_per_sec.unwrap_or(80);
    if !(1..=1000).contains(&rate) {
        return Err(ActionError::invalid("invalid_rate", "rate must be between 1 and 1000 messages per second"));
    }
    let access = app.master_key.seal(input.access_token.trim())?;
    let secret = app.master_key.seal(input.app_secret.trim())?;
    let verify_token = crate::crypto::random_token(18);
    let now = app.clock.now_ms();
    let new = NewConnection {
        tenant_id: tenant,
        kind: KIND_WHATSAPP_CLOUD,
        name: &name,
        phone_number_id,
        waba_id: input.waba_id.trim(),
        access_token_sealed: &access,
        app_secret_sealed: &secret,
        verify_token: &verify_token,
        graph_url,
        graph_url_trusted,
        api_version: input.api_version.unwrap_or(DEFAULT_API_VERSION),
        rate_per_sec: rate,
    };
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Connections, 1).await?;
    // A number removed before comes back as the same connection, with its history.
    let revived = crate::store::connections::revive(&mut *tx, new, now).await?;
    let inserted = match revived {
        Some(id) => Ok(id),
        None => crate::store::connections::insert(&mut *tx, new, now).await,
    };
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(ActionError::Conflict {
                code: "connection_exists",
                message: "this phone number id is already connected".into(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let details =
        serde_json::json!({ "kind": KIND_WHATSAPP_CLOUD, "phone_number_id": phone_number_id, "graph_url": graph_url });
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "connection.created",
        &format!("connection:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    let connection = crate::store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    Ok(CreatedConnection { webhook_url: webhook_url(app, id), connection })
}

pub async fn list_connections(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Connection>> {
    actor.require_admin_of(tenant)?;
    Ok(crate::store::connections::list(app.db.reader(), tenant).await?)
}

/// The decrypted access token and app secret of a connection.
pub fn secrets(app: &App, c: &Connection) -> anyhow::Result<(crate::config::Secret, crate::config::Secret)> {
    Ok((app.master_key.open(&c.access_token_sealed)?, app.master_key.open(&c.app_secret_sealed)?))
}

/// One connection of the tenant (its secrets stay sealed; callers never show them).
pub async fn get_connection(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Connection> {
    actor.require_admin_of(tenant)?;
    let c = crate::store::connections::get(app.db.reader(), tenant, id).await?;
    c.filter(|c| c.removed_at.is_none()).ok_or(ActionError::NotFound)
}

/// The tenant's first WhatsApp connection (by id): where API sends to a phone go by default.
pub async fn default_whatsapp(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Option<Connection>> {
    actor.role_of(tenant)?;
    let all = crate::store::connections::list(app.db.reader(), tenant).await?;
    Ok(all.into_iter().filter(|c| c.kind == KIND_WHATSAPP_CLOUD).min_by_key(|c| c.id))
}

/// A new access token (and optionally a new app secret) for a connection, after Meta's token
/// expired or was revoked. Clears the re-authentication flag; the webhook's cached secret is
/// dropped so a new app secret takes effect at once.
pub async fn update_secrets(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    access_token: &str,
    app_secret: Option<&str>,
) -> ActionResult<Connection> {
    actor.require_admin_of(tenant)?;
    let access_token = access_token.trim();
    if access_token.is_empty() {
        return Err(ActionError::invalid("missing_secret", "the access token is required"));
    }
    let app_secret = app_secret.map(str::trim).filter(|s| !s.is_empty());
    let access = app.master_key.seal(access_token)?;
    let secret = app_secret.map(|s| app.master_key.seal(s)).transpose()?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !crate::store::connections::set_secrets(&mut *tx, tenant, id, &access, secret.as_deref(), now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "access_token": true, "app_secret": secret.is_some() });
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "connection.secrets_updated",
        &format!("connection:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    app.connections.forget(id);
    crate::store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Checks a connection's Graph base URL; answers whether it is trusted (reached without the
/// network guard). Meta's own and any URL the operator sets are; one a company admin typed must
/// lead to a public address now (unless the operator allows private networks) and meets the guard
/// again on every call, so a name that later resolves inside the network gets nowhere.
async fn check_graph_url(app: &App, actor: &Actor, graph_url: &str) -> ActionResult<bool> {
    use crate::channels::guard::{self, UrlProblem};
    let url = guard::parse_url(graph_url).map_err(|p| ActionError::invalid("invalid_graph_url", p.to_string()))?;
    if graph_url == DEFAULT_GRAPH_URL || actor.is_platform_admin() {
        return Ok(true);
    }
    if !app.settings.allow_private_networks {
        guard::check_destination(&url, false).await.map_err(|p| match p {
            UrlProblem::Forbidden(m) => ActionError::invalid("forbidden_graph_url", m),
            UrlProblem::Unresolvable(m) => ActionError::invalid("unresolvable_graph_url", m),
            UrlProblem::Invalid(m) => ActionError::invalid("invalid_graph_url", m),
        })?;
    }
    Ok(false)
}

/// The active WhatsApp Cloud connection an inbound webhook names, with its app secret opened to
/// check the delivery's signature; `None` for an unknown, inactive or other kind of connection.
pub async fn for_webhook(app: &App, id: i64) -> ActionResult<Option<(Arc<Connection>, Secret)>> {
    let Some(c) = app.connections.get_by_id(&app.db, id, app.clock.now_ms()).await? else { return Ok(None) };
    if !c.active || c.kind != KIND_WHATSAPP_CLOUD {
        return Ok(None);
    }
    let (_, app_secret) = secrets(app, &c)?;
    Ok(Some((c, app_secret)))
}

/// Switches a connection off (nothing is received or sent; queued sends fail with a reason) or on
/// again. A connection switched off frees its place; its history stays.
pub async fn set_active(app: &App, actor: &Actor, tenant: TenantId, id: i64, active: bool) -> ActionResult<Connection> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let current = crate::store::connections::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let adding = i64::from(active && !current.active);
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Connections, adding).await?;
    if !crate::store::connections::set_active(&mut *tx, tenant, id, active, now).await? {
        return Err(ActionError::NotFound);
    }
    crate::store::connections::sync_cloud_state(&mut *tx, tenant, id, now).await?;
    let action = if active { "connection.activated" } else { "connection.deactivated" };
    let target = format!("connection:{id}");
    crate::store::audit::record(&mut *tx, tenant, &actor.label(), action, &target, &serde_json::json!({}), now).await?;
    tx.commit().await?;
    app.connections.forget(id);
    crate::store::connections::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Removes a connection: it disappears from the lists and stops working; its tickets and
/// messages stay, and connecting the same number again brings them back.
pub async fn remove(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !crate::store::connections::remove(&mut *tx, tenant, id, now).await? {
        return Err(ActionError::NotFound);
    }
    crate::store::connections::sync_cloud_state(&mut *tx, tenant, id, now).await?;
    let target = format!("connection:{id}");
    let details = serde_json::json!({});
    crate::store::audit::record(&mut *tx, tenant, &actor.label(), "connection.removed", &target, &details, now).await?;
    tx.commit().await?;
    app.connections.forget(id);
    if let Some(c) = crate::store::connections::get(app.db.reader(), tenant, id).await? {
        if c.kind == super::qr_sessions::KIND {
            super::qr_sessions::forget_instance(app, &c).await;
        }
    }
    Ok(())
}
