//! Custom-field keys and opt-out keywords of a company's contacts.

#[allow(unused_imports)]
use super::*;

pub async fn list_fields(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<FieldDef>> {
    actor.role_of(tenant)?;
    Ok(store::contacts::list_fields(app.db.reader(), tenant).await?)
}

/// Adds a custom field from its label (the key is derived: `Data de nascimento` →
/// `data_de_nascimento`) or renames the label of an existing key.
pub async fn put_field(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    label: &str,
    key: Option<&str>,
) -> ActionResult<FieldDef> {
    actor.require_supervisor_of(tenant)?;
    let label = validate::name(label).map_err(|m| ActionError::invalid("invalid_label", m))?;
    let key = crate::domain::contacts::field_key(key.filter(|k| !k.trim().is_empty()).unwrap_or(&label))
        .map_err(|m| ActionError::invalid("invalid_field_key", m))?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::contacts::put_field(&mut *tx, tenant, &key, &label, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_field.saved",
        &format!("field:{key}"),
        &serde_json::json!({ "label": label }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(FieldDef { key, label })
}

pub async fn delete_field(app: &App, actor: &Actor, tenant: TenantId, key: &str) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::contacts::delete_field(&mut *tx, tenant, key).await? {
        return Err(ActionError::NotFound);
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_field.deleted",
        &format!("field:{key}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn opt_out_keywords(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<String> {
    actor.role_of(tenant)?;
    Ok(store::contacts::opt_out_keywords(app.db.reader(), tenant).await?)
}

/// Saves the opt-out keywords (comma- or line-separated; empty turns keyword opt-out off).
pub async fn set_opt_out_keywords(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    setting: &str,
) -> ActionResult<Vec<String>> {
    actor.require_admin_of(tenant)?;
    let parsed = parse_keywords(setting).map_err(|m| ActionError::invalid("invalid_keywords", m))?;
    let now = app.clock.now_ms();
    let stored = parsed.join(", ");
    let mut tx = app.db.begin().await?;
    store::contacts::put_opt_out_keywords(&mut *tx, tenant, &stored, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "contact_settings.opt_out_keywords",
        "contact_settings",
        &serde_json::json!({ "keywords": parsed }),
        now,
    )
    .await?;
    tx.commit().await?;
    crate::actions::consent::keyword_cache_forget();
    Ok(parsed)
}
