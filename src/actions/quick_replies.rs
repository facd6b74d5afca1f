//! Quick replies (`/atalho`): supervisors and admins keep them, tenant-wide or per department;
//! agents list the tenant-wide ones and those of their departments. Expansion on a ticket is
//! `actions::inbox::expand_quick_reply`; the composer's "/" list ([`for_ticket`]) and every text
//! a person sends ([`fill_for_person`]) fill the same variables.

use crate::actions::{is_unique_violation, ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::TenantId;
use crate::store::quick_replies::QuickReply;
use crate::store::{self};

#[derive(Clone, Debug)]
pub struct QuickReplyInput {
    /// Tenant-wide when `None`.
    pub department_id: Option<i64>,
    /// Typed after `/`: 1–30 of `a-z`, `0-9`, `-`, `_` (a leading `/` is dropped).
    pub shortcut: String,
    pub body: String,
}

fn check(input: &QuickReplyInput) -> ActionResult<(String, String)> {
    let shortcut = input.shortcut.trim().trim_start_matches('/').to_lowercase();
    let ok = (1..=30).contains(&shortcut.chars().count())
        && shortcut.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(ActionError::invalid("invalid_shortcut", "a shortcut has 1 to 30 of a-z, 0-9, - and _"));
    }
    let body = input.body.trim().to_string();
    if body.is_empty() || body.chars().count() > 4096 {
        return Err(ActionError::invalid("invalid_body", "the text has 1 to 4096 characters"));
    }
    Ok((shortcut, body))
}

async fn check_department(tx: &mut store::Tx, tenant: TenantId, department: Option<i64>) -> ActionResult<()> {
    if let Some(d) = department {
        store::departments::get(&mut **tx, tenant, d)
            .await?
            .ok_or_else(|| ActionError::invalid("unknown_department", "no such department in this company"))?;
    }
    Ok(())
}

fn taken(shortcut: &str) -> ActionError {
    ActionError::Conflict { code: "shortcut_taken", message: format!("/{shortcut} already exists here") }
}

pub async fn create_quick_reply(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: QuickReplyInput,
) -> ActionResult<QuickReply> {
    actor.require_supervisor_of(tenant)?;
    let (shortcut, body) = check(&input)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    check_department(&mut tx, tenant, input.department_id).await?;
    let id = match store::quick_replies::insert(&mut *tx, tenant, input.department_id, &shortcut, &body, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(taken(&shortcut)),
        Err(e) => return Err(e.into()),
    };
    let details = serde_json::json!({ "shortcut": shortcut, "department_id": input.department_id });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "quick_reply.created",
        &format!("quick_reply:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(QuickReply { id, department_id: input.department_id, shortcut, body })
}

pub async fn update_quick_reply(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: QuickReplyInput,
) -> ActionResult<QuickReply> {
    actor.require_supervisor_of(tenant)?;
    let (shortcut, body) = check(&input)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    check_department(&mut tx, tenant, input.department_id).await?;
    match store::quick_replies::update(&mut *tx, tenant, id, input.department_id, &shortcut, &body, now).await {
        Ok(true) => {}
        Ok(false) => return Err(ActionError::NotFound),
        Err(e) if is_unique_violation(&e) => return Err(taken(&shortcut)),
        Err(e) => return Err(e.into()),
    }
    let details = serde_json::json!({ "shortcut": shortcut, "department_id": input.department_id });
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "quick_reply.updated",
        &format!("quick_reply:{id}"),
        &details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(QuickReply { id, department_id: input.department_id, shortcut, body })
}

pub async fn delete_quick_reply(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::quick_replies::delete(&mut *tx, tenant, id).await? {
        return Err(ActionError::NotFound);
    }
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "quick_reply.deleted",
        &format!("quick_reply:{id}"),
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The quick replies the caller may use: everything for supervisors and admins; tenant-wide
/// ones and those of their departments for agents.
pub async fn list_quick_replies(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<QuickReply>> {
    let role = actor.role_of(tenant)?;
    match actor.user_id() {
        Some(u) if !role.sees_whole_tenant() => {
            let mine = store::departments::of_user(app.db.reader(), tenant, u.0).await?;
            Ok(store::quick_replies::list(app.db.reader(), tenant, Some(&mine)).await?)
        }
        _ => Ok(store::quick_replies::list(app.db.reader(), tenant, None).await?),
    }
}

/// One quick reply the caller may use (another department's answers "not found" to agents).
pub async fn get_quick_reply(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<QuickReply> {
    list_quick_replies(app, actor, tenant).await?.into_iter().find(|q| q.id == id).ok_or(ActionError::NotFound)
}

/// A quick reply as the composer's "/" list shows it: filled for one ticket.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FilledReply {
    pub shortcut: String,
    pub text: String,
}

/// The quick replies usable on a ticket the caller may see, filled for it (contact, protocol,
/// the caller as agent): the ticket's department's own, and the tenant-wide ones whose shortcut
/// that department does not redefine — the same choice as [`store::quick_replies::find`].
pub async fn for_ticket(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<Vec<FilledReply>> {
    let viewer = super::inbox::viewer(actor, tenant)?;
    let view = store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let ticket = store::tickets::get(app.db.reader(), tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let contact = store::contacts::get(app.db.reader(), tenant, view.contact_id).await?.ok_or(ActionError::NotFound)?;
    let department: Vec<i64> = view.department_id.into_iter().collect();
    let replies = store::quick_replies::list(app.db.reader(), tenant, Some(&department)).await?;
    let own: std::collections::HashSet<String> =
        replies.iter().filter(|r| r.department_id.is_some()).map(|r| r.shortcut.clone()).collect();
    let agent = match actor {
        Actor::User(u) => u.name.as_str(),
        _ => "",
    };
    Ok(replies
        .into_iter()
        .filter(|r| r.department_id.is_some() || !own.contains(&r.shortcut))
        .map(|r| FilledReply { text: fill_for_person(&r.body, &contact, &ticket, agent), shortcut: r.shortcut })
        .collect())
}

/// Fills a text a person sends on a ticket: `{{nome}}`, `{{protocolo}}`, `{{atendente}}` and the
/// contact's `{{telefone}}`, `{{email}}` and custom fields (unknown ones stay as typed).
pub fn fill_for_person(
    text: &str,
    contact: &store::contacts::Contact,
    ticket: &store::tickets::Ticket,
    agent: &str,
) -> String {
    let fields = contact.fields();
    let phone = crate::domain::phone::e164(&contact.phone);
    let c = crate::domain::contacts::TemplateContact {
        name: &contact.name,
        phone: &phone,
        email: contact.email.as_deref(),
        fields: &fields,
    };
    let vars = crate::domain::inbox::ReplyVars {
        nome: &contact.name,
        protocolo: ticket.protocol.as_deref().unwrap_or(""),
        atendente: agent,
    };
    crate::domain::inbox::fill_person_text(text, &vars, &c)
}
