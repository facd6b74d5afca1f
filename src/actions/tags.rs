//! Tags beyond what the contact screens need: reading one and changing its name or colour.
//! (Creating, listing and deleting tags are in `actions::contacts`.)

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::{validate, TenantId};
use crate::store::tags::Tag;
use crate::store::{self};

pub async fn get_tag(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Tag> {
    actor.role_of(tenant)?;
    store::tags::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Renames or recolours a tag (supervisors and admins); its uses stay.
pub async fn update_tag(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    name: &str,
    colour: &str,
) -> ActionResult<Tag> {
    actor.require_supervisor_of(tenant)?;
    let name = validate::name(name).map_err(|m| ActionError::invalid("invalid_name", m))?;
    let colour = crate::actions::departments::colour(colour)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    match store::tags::update(&mut *tx, tenant, id, &name, &colour).await {
        Ok(true) => {}
        Ok(false) => return Err(ActionError::NotFound),
        Err(e) if is_unique_violation(&e) => {
            return Err(ActionError::Conflict {
                code: "tag_exists",
                message: format!("a tag named {name} already exists (case and accents are ignored)"),
            })
        }
        Err(e) => return Err(e.into()),
    }
    let details = serde_json::json!({ "name": name, "colour": colour });
    store::audit::record(&mut *tx, tenant, &actor.label(), "tag.updated", &format!("tag:{id}"), &details, now).await?;
    tx.commit().await?;
    Ok(Tag { id, name, colour })
}
