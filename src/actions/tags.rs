//! Renaming and recolouring tags (listing, creating, deleting and tagging contacts live in
//! `actions::contacts`; tagging tickets in `actions::inbox`).

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::{validate, TenantId};
use crate::store::tags::Tag;
use crate::store::{self};

/// Renames a tag and sets its colour (supervisors and admins).
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
                code: "name_taken",
                message: format!("a tag named {name} already exists"),
            })
        }
        Err(e) => return Err(e.into()),
    }
    let data = serde_json::json!({ "name": name, "colour": colour });
    store::audit::record(&mut *tx, tenant, &actor.label(), "tag.updated", &format!("tag:{id}"), &data, now).await?;
    tx.commit().await?;
    Ok(Tag { id, name, colour })
}
