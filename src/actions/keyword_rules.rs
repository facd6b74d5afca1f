//! The company's keyword rules (`domain::keyword_rules`): listed and replaced as a whole from the
//! "Horários e regras" page. The automation job applies them ([`super::automation`]).

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::keyword_rules::{KeywordRule, MAX_RULES};
use crate::domain::TenantId;
use crate::store;

pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<KeywordRule>> {
    actor.require_admin_of(tenant)?;
    Ok(store::keyword_rules::list(app.db.reader(), tenant).await?)
}

/// Replaces the company's rules with `rules`, in that order, after checking every one: all are
/// saved or none.
pub async fn save(app: &App, actor: &Actor, tenant: TenantId, rules: Vec<KeywordRule>) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    if rules.len() > MAX_RULES {
        return Err(ActionError::invalid("too_many_keyword_rules", "a company has at most 50 keyword rules"));
    }
    let departments: Vec<i64> =
        store::departments::list(app.db.reader(), tenant).await?.into_iter().map(|d| d.id).collect();
    for r in &rules {
        r.check().map_err(|refusal| ActionError::invalid(refusal.code, refusal.message))?;
        if r.department_id.is_some_and(|d| !departments.contains(&d)) {
            return Err(ActionError::invalid("unknown_department", "no such department in this company"));
        }
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::keyword_rules::replace(&mut tx, tenant, &rules, now).await?;
    let details = serde_json::json!({ "rules": rules.len() });
    store::audit::record(&mut *tx, tenant, &actor.label(), "keyword_rules.updated", "automation", &details, now)
        .await?;
    tx.commit().await?;
    Ok(())
}
