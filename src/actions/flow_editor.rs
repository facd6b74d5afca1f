//! The chatbot's page: a flow as the editor sends it, checked node by node against the
//! company's departments (for the graph and the errors shown on each node), and saved on its
//! own as a new version of the company's flow.

use crate::actions::automation::{self, AutomationInput};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::flow::{self, Flow, FlowError};
use crate::domain::hours::{Calendar, WeekSchedule};
use crate::domain::TenantId;
use crate::store;

/// The flow in `text` and what is wrong with it (empty when nothing); refused only when the
/// text is not a flow at all.
pub async fn check(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<(Flow, Vec<FlowError>)> {
    actor.require_admin_of(tenant)?;
    let f = read(text)?;
    let departments: Vec<i64> =
        store::departments::list(app.db.reader(), tenant).await?.into_iter().map(|d| d.id).collect();
    let errors = flow::validate(&f, &|d| departments.contains(&d)).err().unwrap_or_default();
    Ok((f, errors))
}

/// The flow in `text` when it is valid; else `invalid_flow`, naming each node's problem.
pub async fn valid(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<Flow> {
    let (f, errors) = check(app, actor, tenant, text).await?;
    if errors.is_empty() {
        return Ok(f);
    }
    let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.node, e.message)).collect();
    Err(ActionError::invalid("invalid_flow", list.join("; ")))
}

fn read(text: &str) -> ActionResult<Flow> {
    serde_json::from_str(text.trim())
        .map_err(|e| ActionError::invalid("invalid_flow", format!("the flow is not valid JSON: {e}")))
}

/// Saves the chatbot's flow (empty: no chatbot), keeping the rest of the company's automation.
pub async fn save_flow(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<()> {
    let (a, _) = automation::get(app, actor, tenant).await?;
    let schedule: WeekSchedule = serde_json::from_str(&a.hours).unwrap_or_default();
    let calendar: Calendar = serde_json::from_str(&a.calendar).unwrap_or_else(|_| Calendar::brazil());
    let input = AutomationInput {
        enabled: a.enabled,
        time_zone: a.time_zone,
        days: std::array::from_fn(|i| schedule.format_day(i)),
        optional_holidays: calendar.optional,
        greeting: a.greeting,
        away_message: a.away_message,
        flow: text.to_string(),
        urgent_words: a.urgent_words,
        handoff_after: a.handoff_after,
    };
    automation::save(app, actor, tenant, input).await.map(|_| ())
}
