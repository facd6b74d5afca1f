//! Saved contact filters ("filtros salvos"): people of a company save the contact list's
//! criteria (search, tag, consent) by name, open them again, and pick one as a campaign's
//! audience (evaluated when the campaign starts).

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::contacts::ContactCriteria;
use crate::domain::TenantId;
use crate::store;
pub use crate::store::contact_filters::SavedFilter;

const NAME_MAX: usize = 80;

/// Refuses criteria no contact could match for a reason people should see.
pub fn check(c: &ContactCriteria) -> ActionResult<()> {
    crate::domain::validate::search(&c.search).map_err(|m| ActionError::invalid("invalid_search", m))?;
    if !c.consent_known() {
        return Err(ActionError::invalid("invalid_consent", "consent is marketing_opt_in, transactional or opted_out"));
    }
    Ok(())
}

pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<SavedFilter>> {
    actor.role_of(tenant)?;
    Ok(store::contact_filters::list(app.db.reader(), tenant).await?)
}

pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<SavedFilter> {
    actor.role_of(tenant)?;
    store::contact_filters::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Saves the criteria under a name unique in the company (`filter_exists` otherwise).
pub async fn save(app: &App, actor: &Actor, tenant: TenantId, name: &str, c: &ContactCriteria) -> ActionResult<i64> {
    actor.require_agent_in(tenant)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ActionError::invalid("invalid_name", "give the filter a name of at most 80 characters"));
    }
    check(c)?;
    if c.is_empty() {
        return Err(ActionError::invalid("empty_filter", "choose a search, a tag or a consent to save"));
    }
    if let Some(tag) = c.tag_id {
        store::tags::get(app.db.reader(), tenant, tag)
            .await?
            .ok_or_else(|| ActionError::invalid("unknown_tag", "no such tag"))?;
    }
    let now = app.clock.now_ms();
    match store::contact_filters::insert(app.db.writer(), tenant, name, c, &actor.label(), now).await {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => {
            Err(ActionError::Conflict { code: "filter_exists", message: format!("a filter named {name} exists") })
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_agent_in(tenant)?;
    if store::contact_filters::delete(app.db.writer(), tenant, id).await? {
        Ok(())
    } else {
        Err(ActionError::NotFound)
    }
}
