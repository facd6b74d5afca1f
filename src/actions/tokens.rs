//! API tokens: created with scopes and shown once, stored hashed, revocable.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::crypto;
use crate::domain::access::Audience;
use crate::domain::ids::TokenId;
use crate::domain::{validate, Role, Scope, TenantId};
use crate::store::tokens::{ApiToken, NewToken};

/// Visible start of every token, so leaked tokens are easy to find with secret scanners.
pub const TOKEN_PREFIX: &str = "atd_";

/// Creates a token; returns it with its secret, which is never shown again.
pub async fn create_token(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    name: &str,
    scopes: &[Scope],
) -> ActionResult<(ApiToken, String)> {
    actor.require_admin_of(tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Api).await?;
    if matches!(actor, Actor::Token(_)) {
        // A token cannot mint tokens: a leaked one must not be able to outlive its revocation.
        return Err(ActionError::Forbidden);
    }
    let name = validate::name(name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    if scopes.is_empty() {
        return Err(ActionError::invalid("invalid_scopes", "choose at least one scope"));
    }
    let secret = format!("{TOKEN_PREFIX}{}", crypto::random_token(30));
    let prefix: String = secret.chars().take(12).collect();
    let hash = crypto::sha256_hex(&secret);
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let new = NewToken {
        tenant_id: tenant,
        name: &name,
        prefix: &prefix,
        token_hash: &hash,
        scopes,
        created_by: actor.user_id().map(|u| u.0),
    };
    let id = crate::store::tokens::insert(&mut *tx, new, now).await?;
    let details = serde_json::json!({ "name": name, "prefix": prefix, "scopes": scopes });
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "token.created",
        &format!("token:{}", id.0),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    let token = ApiToken {
        id,
        tenant_id: tenant,
        name,
        prefix,
        scopes: scopes.to_vec(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((token, secret))
}

pub async fn list_tokens(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<ApiToken>> {
    actor.require_admin_of(tenant)?;
    Ok(crate::store::tokens::list(app.db.reader(), tenant).await?)
}

pub async fn revoke_token(app: &App, actor: &Actor, tenant: TenantId, id: TokenId) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !crate::store::tokens::revoke(&mut *tx, tenant, id, now).await? {
        return Err(ActionError::NotFound);
    }
    crate::store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "token.revoked",
        &format!("token:{}", id.0),
        &serde_json::json!({}),
        now,
    )
    .await?;
    // Streams of that token hear it and close.
    let data = serde_json::json!({ "token_id": id.0 });
    let event = app.bus.record(&mut tx, tenant, "token.revoked", Audience::MinRole(Role::Admin), data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(())
}
