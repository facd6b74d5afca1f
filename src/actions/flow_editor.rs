//! The chatbot's page: a company's chatbots (named flows, listed, created, renamed, removed,
//! one of them the default for new tickets, and each connection's choice), a flow as the editor
//! sends it, checked node by node against the company's departments and chatbots (for the graph
//! and the errors shown on each node), and saved as a new version of its chatbot.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::flow::{self, Flow, FlowError, Node};
use crate::domain::TenantId;
use crate::store;
pub use crate::store::chatbots::Chatbot;

/// The most chatbots a company keeps.
pub const MAX_CHATBOTS: usize = 50;

/// The flow in `text` and what is wrong with it (empty when nothing); refused only when the
/// text is not a flow at all.
pub async fn check(app: &App, actor: &Actor, tenant: TenantId, text: &str) -> ActionResult<(Flow, Vec<FlowError>)> {
    actor.require_admin_of(tenant)?;
    let f = read(text)?;
    let departments: Vec<i64> =
        store::departments::list(app.db.reader(), tenant).await?.into_iter().map(|d| d.id).collect();
    let chatbots: Vec<i64> = store::chatbots::list(app.db.reader(), tenant).await?.into_iter().map(|c| c.id).collect();
    let errors =
        flow::validate(&f, &|d| departments.contains(&d), &|c| chatbots.contains(&c)).err().unwrap_or_default();
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

fn name(s: &str) -> ActionResult<String> {
    crate::domain::validate::name(s).map_err(|m| ActionError::invalid("invalid_name", m))
}

/// The company's chatbots, oldest first.
pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Chatbot>> {
    actor.require_admin_of(tenant)?;
    Ok(store::chatbots::list(app.db.reader(), tenant).await?)
}

/// A chatbot and its current flow (JSON; `None` before its first save).
pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<(Chatbot, Option<String>)> {
    actor.require_admin_of(tenant)?;
    let c = store::chatbots::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    let flow = match c.flow_id {
        Some(v) => store::chatbots::version(app.db.reader(), tenant, v).await?,
        None => None,
    };
    Ok((c, flow))
}

/// A new chatbot, empty until its flow is saved; the first one becomes the company's default.
pub async fn create(app: &App, actor: &Actor, tenant: TenantId, name_text: &str) -> ActionResult<i64> {
    actor.require_admin_of(tenant)?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chatbot).await?;
    let name = name(name_text)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    crate::actions::plans::ensure_room(app, &mut tx, tenant, crate::domain::plans::Limit::Chatbots, 1).await?;
    if store::chatbots::list(&mut *tx, tenant).await?.len() >= MAX_CHATBOTS {
        return Err(ActionError::invalid(
            "too_many_chatbots",
            format!("a company has at most {MAX_CHATBOTS} chatbots"),
        ));
    }
    let id = store::chatbots::insert(&mut *tx, tenant, &name, now).await?;
    let details = serde_json::json!({ "chatbot_id": id, "name": name });
    store::audit::record(&mut *tx, tenant, &actor.label(), "chatbot.created", "chatbot", &details, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn rename(app: &App, actor: &Actor, tenant: TenantId, id: i64, name_text: &str) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let name = name(name_text)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::chatbots::rename(&mut *tx, tenant, id, &name, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "chatbot_id": id, "name": name });
    store::audit::record(&mut *tx, tenant, &actor.label(), "chatbot.renamed", "chatbot", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Saves a chatbot's flow as a new version (unchanged: nothing); tickets already in an older
/// version finish on it.
pub async fn save(app: &App, actor: &Actor, tenant: TenantId, id: i64, text: &str) -> ActionResult<()> {
    let f = valid(app, actor, tenant, text).await?;
    crate::actions::plans::require_feature(app, tenant, crate::domain::plans::Feature::Chatbot).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let c = store::chatbots::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let before = match c.flow_id {
        Some(v) => {
            store::chatbots::version(&mut *tx, tenant, v).await?.and_then(|d| serde_json::from_str::<Flow>(&d).ok())
        }
        None => None,
    };
    if before.as_ref() == Some(&f) {
        return Ok(());
    }
    let version = store::chatbots::insert_version(
        &mut tx,
        tenant,
        id,
        &serde_json::to_string(&f).map_err(anyhow::Error::from)?,
        now,
    )
    .await?;
    let details = serde_json::json!({ "chatbot_id": id, "flow_id": version });
    store::audit::record(&mut *tx, tenant, &actor.label(), "chatbot.saved", "chatbot", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a chatbot nothing points at any more: not the default, no connection's, no other
/// chatbot's `goto` (`chatbot_in_use` otherwise). Tickets in it finish on their version.
pub async fn delete(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let a = store::automation::get(&mut *tx, tenant).await?;
    let in_use =
        |what: &str| ActionError::Conflict { code: "chatbot_in_use", message: format!("the chatbot is {what}") };
    if a.chatbot_id == Some(id) {
        return Err(in_use("the company's default"));
    }
    if store::chatbots::connection_choices(&mut *tx, tenant).await?.iter().any(|(_, c)| *c == id) {
        return Err(in_use("a connection's chatbot"));
    }
    for other in store::chatbots::list(&mut *tx, tenant).await?.into_iter().filter(|c| c.id != id) {
        let Some(v) = other.flow_id else { continue };
        let Some(definition) = store::chatbots::version(&mut *tx, tenant, v).await? else { continue };
        let goes_there = serde_json::from_str::<Flow>(&definition)
            .is_ok_and(|f| f.nodes.values().any(|n| matches!(n, Node::Goto { flow } if *flow == id)));
        if goes_there {
            return Err(in_use(&format!("where \"{}\" goes on", other.name)));
        }
    }
    if !store::chatbots::delete(&mut *tx, tenant, id).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "chatbot_id": id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "chatbot.deleted", "chatbot", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a chatbot the company's default for new tickets (`None`: no default chatbot).
pub async fn set_default(app: &App, actor: &Actor, tenant: TenantId, id: Option<i64>) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if let Some(id) = id {
        let c = store::chatbots::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
        if c.flow_id.is_none() {
            return Err(ActionError::invalid("empty_chatbot", "save the chatbot's flow before using it"));
        }
    }
    let mut a = store::automation::get(&mut *tx, tenant).await?;
    a.chatbot_id = id;
    store::automation::put(&mut *tx, tenant, &a, now).await?;
    let details = serde_json::json!({ "chatbot_id": id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "chatbot.default_set", "chatbot", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Which chatbot a connection's new tickets start in: the company's default (`None`), none
/// (`Some(0)`) or one of the company's.
pub async fn set_for_connection(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    connection: i64,
    chatbot: Option<i64>,
) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if let Some(id) = chatbot.filter(|c| *c != 0) {
        let c = store::chatbots::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
        if c.flow_id.is_none() {
            return Err(ActionError::invalid("empty_chatbot", "save the chatbot's flow before using it"));
        }
    }
    if !store::chatbots::set_for_connection(&mut *tx, tenant, connection, chatbot).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "connection_id": connection, "chatbot_id": chatbot });
    store::audit::record(&mut *tx, tenant, &actor.label(), "connection.chatbot_set", "connection", &details, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Each connection's choice, for the page: `(connection id, chatbot id)` where not the default.
pub async fn connection_choices(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<(i64, i64)>> {
    actor.require_admin_of(tenant)?;
    Ok(store::chatbots::connection_choices(app.db.reader(), tenant).await?)
}
