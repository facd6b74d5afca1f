//! Message templates ("Modelos"): synced from Graph (on demand and by a periodic job), listed with
//! their status and category, each `{{n}}` parameter mapped to a contact field, a fixed text or a
//! variable, and the values a template starts with for one ticket's contact (the composer's
//! picker and "Novo atendimento").

use std::collections::BTreeMap;

use serde_json::Value;

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::channels::whatsapp_cloud::graph::Account;
use crate::domain::jobs::JobKind;
use crate::domain::templates::{self, Mapping, ParamSource};
use crate::domain::TenantId;
use crate::store::contacts::Contact;
use crate::store::jobs::NewJob;
use crate::store::templates::Template;
use crate::store::{self};

/// How often the periodic job syncs a connection's templates.
pub const SYNC_EVERY_MS: i64 = 6 * 3_600_000;

/// Reads a connection's templates from Graph and stores them; returns how many are listed.
/// Used by the job, the "Sincronizar" button and `POST /api/v1/templates/sync`.
pub async fn sync_connection(app: &App, tenant: TenantId, connection_id: i64) -> ActionResult<usize> {
    let connection =
        store::connections::get(app.db.reader(), tenant, connection_id).await?.ok_or(ActionError::NotFound)?;
    if connection.kind != super::connections::KIND_WHATSAPP_CLOUD || connection.removed_at.is_some() {
        return Err(ActionError::invalid("not_cloud_api", "only WhatsApp Cloud API numbers have message templates"));
    }
    if connection.waba_id.trim().is_empty() {
        return Err(ActionError::invalid(
            "waba_id_required",
            "this connection has no WABA ID: add it to sync templates",
        ));
    }
    let (token, _) = super::connections::secrets(app, &connection)?;
    let account = Account {
        graph_url: &connection.graph_url,
        api_version: &connection.api_version,
        phone_number_id: &connection.phone_number_id,
        access_token: token.expose(),
        guarded: !(connection.graph_url_trusted || app.settings.allow_private_networks),
    };
    let pages = app.graph.list_templates(&account, connection.waba_id.trim()).await.map_err(|e| {
        ActionError::invalid("graph_error", format!("WhatsApp did not list the templates: {}", e.reason()))
    })?;
    let mut all = Vec::new();
    for page in &pages {
        all.extend(templates::parse_page(page).0);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let n = store::templates::replace_synced(&mut tx, tenant, connection_id, &all, now).await?;
    tx.commit().await?;
    Ok(n)
}

/// Queues a sync of one connection now (the button): the job does the Graph call.
pub async fn request_sync(app: &App, actor: &Actor, tenant: TenantId, connection_id: i64) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    store::connections::get(app.db.reader(), tenant, connection_id).await?.ok_or(ActionError::NotFound)?;
    let now = app.clock.now_ms();
    let payload = serde_json::json!({ "connection_id": connection_id });
    let key = format!("templates.sync:{connection_id}:{now}");
    let job = NewJob {
        tenant_id: tenant,
        kind: JobKind::TemplateSync.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: 3,
        dedupe_key: Some(&key),
    };
    store::jobs::enqueue(app.db.writer(), job, now).await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Syncs one connection at once and answers with the result (API and the page's button).
pub async fn sync_now(app: &App, actor: &Actor, tenant: TenantId, connection_id: i64) -> ActionResult<usize> {
    actor.require_admin_of(tenant)?;
    let n = sync_connection(app, tenant, connection_id).await?;
    let now = app.clock.now_ms();
    store::audit::record(
        app.db.writer(),
        tenant,
        &actor.label(),
        "templates.synced",
        &format!("connection:{connection_id}"),
        &serde_json::json!({ "templates": n }),
        now,
    )
    .await?;
    Ok(n)
}

/// A template with what people need to read it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TemplateView {
    #[serde(flatten)]
    pub template: Template,
    pub parameters: Vec<String>,
    pub body: String,
    pub buttons: Vec<String>,
    pub mapping_parsed: Mapping,
}

pub(crate) fn view(t: Template) -> TemplateView {
    let components: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
    TemplateView {
        parameters: templates::parameters(&components),
        body: templates::preview(&components, &BTreeMap::new()),
        buttons: templates::buttons(&components),
        mapping_parsed: templates::parse_mapping(&t.mapping),
        template: t,
    }
}

pub async fn list(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    connection_id: Option<i64>,
) -> ActionResult<Vec<TemplateView>> {
    actor.role_of(tenant)?;
    let all = store::templates::list(app.db.reader(), tenant, connection_id).await?;
    Ok(all.into_iter().map(view).collect())
}

pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<TemplateView> {
    actor.role_of(tenant)?;
    store::templates::get(app.db.reader(), tenant, id).await?.map(view).ok_or(ActionError::NotFound)
}

/// Template `id` of connection `connection_id` (`None`: of any number of the company), refused
/// unless WhatsApp approved it: what schedules and campaigns check when they are saved.
pub(crate) async fn approved(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    id: i64,
    connection_id: Option<i64>,
) -> ActionResult<TemplateView> {
    let template = store::templates::get(&mut *conn, tenant, id)
        .await?
        .filter(|t| connection_id.is_none_or(|c| c == t.connection_id))
        .ok_or_else(|| ActionError::invalid("unknown_template", "the number has no such template"))?;
    if template.status != templates::APPROVED {
        return Err(ActionError::invalid("template_not_approved", "the template is not approved on WhatsApp"));
    }
    Ok(view(template))
}

/// The template's message for this contact, its parameters filled as mapped on Modelos.
pub fn content_for(t: &TemplateView, contact: &Contact) -> ActionResult<crate::domain::outbound::OutboundContent> {
    let values: BTreeMap<String, String> = values_for(t, contact).into_iter().collect();
    content_of(t, &values)
}

/// Saves how each parameter is filled. Parameters the template does not have are refused; a
/// field must be a contact variable (`nome`, `telefone`, `email`) or a known custom field.
pub async fn set_mapping(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    mapping: Mapping,
) -> ActionResult<TemplateView> {
    actor.require_supervisor_of(tenant)?;
    let t = view(store::templates::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?);
    let fields = store::contacts::list_fields(app.db.reader(), tenant).await?;
    for (param, source) in &mapping {
        if !t.parameters.contains(param) {
            return Err(ActionError::invalid(
                "unknown_parameter",
                format!("the template has no parameter {{{{{param}}}}}"),
            ));
        }
        match source {
            ParamSource::Field(key) => {
                let known = crate::domain::contacts::RESERVED_KEYS.contains(&key.as_str())
                    || fields.iter().any(|f| &f.key == key);
                if !known {
                    return Err(ActionError::invalid("unknown_field", format!("{key} is not a contact field")));
                }
            }
            ParamSource::Text(text) | ParamSource::Variable(text) if text.chars().count() > 1000 => {
                return Err(ActionError::invalid("invalid_mapping", "a fixed text has at most 1,000 characters"));
            }
            _ => {}
        }
    }
    let json = serde_json::to_string(&mapping).map_err(anyhow::Error::from)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::templates::set_mapping(&mut *tx, tenant, id, &json, now).await?;
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "template.mapped",
        &format!("template:{id}"),
        &serde_json::json!({ "parameters": mapping.len() }),
        now,
    )
    .await?;
    tx.commit().await?;
    get(app, actor, tenant, id).await
}

/// The values a template's parameters start with for this contact (mapped fields filled in).
pub fn values_for(t: &TemplateView, contact: &Contact) -> Vec<(String, String)> {
    let fields = contact.fields();
    templates::default_values(&t.parameters, &t.mapping_parsed, |key| match key {
        "nome" => Some(contact.name.clone()),
        "telefone" => (!contact.phone.is_empty()).then(|| format!("+{}", contact.phone)),
        "email" => contact.email.clone(),
        other => fields.get(other).cloned(),
    })
}

/// The send content of a template with these values; a parameter left empty is refused.
pub fn content_of(
    t: &TemplateView,
    values: &BTreeMap<String, String>,
) -> ActionResult<crate::domain::outbound::OutboundContent> {
    let components: Value = serde_json::from_str(&t.template.components).unwrap_or(Value::Null);
    let components = templates::send_components(&components, values).map_err(|p| {
        ActionError::invalid("template_parameter_missing", format!("fill the template's parameter {{{{{p}}}}}"))
    })?;
    Ok(crate::domain::outbound::OutboundContent::Template {
        name: t.template.name.clone(),
        language: t.template.language.clone(),
        components,
    })
}

/// A template the composer offers for one ticket, with the values its parameters start with for
/// the ticket's contact and, for variables, the hint the mapping gives.
#[derive(Clone, Debug)]
pub struct Choice {
    pub view: TemplateView,
    pub values: Vec<(String, String, String)>,
    pub preview: String,
}

/// The approved templates of the ticket's number, filled in for its contact (the composer's
/// picker outside the 24-hour window).
pub async fn choices_for_ticket(app: &App, actor: &Actor, tenant: TenantId, ticket: i64) -> ActionResult<Vec<Choice>> {
    let t = crate::actions::inbox::get_ticket(app, actor, tenant, ticket).await?.ticket;
    let contact = store::contacts::get(app.db.reader(), tenant, t.contact_id).await?.ok_or(ActionError::NotFound)?;
    choices(app, tenant, t.connection_id, Some(&contact)).await
}

/// The approved templates of one number, filled in for `contact` (a number nobody wrote from
/// yet: only fixed texts are filled).
pub(crate) async fn choices(
    app: &App,
    tenant: TenantId,
    connection_id: i64,
    contact: Option<&Contact>,
) -> ActionResult<Vec<Choice>> {
    let all = store::templates::list(app.db.reader(), tenant, Some(connection_id)).await?;
    Ok(all
        .into_iter()
        .filter(|t| t.listed && t.status == templates::APPROVED)
        .map(view)
        .map(|v| {
            let filled = match contact {
                Some(c) => values_for(&v, c),
                None => templates::default_values(&v.parameters, &v.mapping_parsed, |_| None),
            };
            let map: BTreeMap<String, String> = filled.iter().cloned().collect();
            let components: Value = serde_json::from_str(&v.template.components).unwrap_or(Value::Null);
            let values = filled
                .into_iter()
                .map(|(k, val)| {
                    let hint = match v.mapping_parsed.get(&k) {
                        Some(ParamSource::Variable(h)) => h.clone(),
                        _ => String::new(),
                    };
                    (k, val, hint)
                })
                .collect();
            Choice { preview: templates::preview(&components, &map), values, view: v }
        })
        .collect())
}

/// Sends template `id` to a ticket's contact with these parameter values (the composer's picker).
/// A marketing template is marketing (consent decides); any parameter left empty is refused.
pub async fn send_to_ticket(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket: i64,
    id: i64,
    values: &BTreeMap<String, String>,
) -> ActionResult<crate::store::messages::StoredMessage> {
    let t = get(app, actor, tenant, id).await?;
    let on = crate::actions::inbox::get_ticket(app, actor, tenant, ticket).await?.ticket;
    if t.template.connection_id != on.connection_id {
        return Err(ActionError::invalid("template_not_found", "this number has no such template"));
    }
    let req = crate::actions::send::SendRequest {
        tenant,
        target: crate::actions::send::SendTarget::Ticket(ticket),
        content: content_of(&t, values)?,
        reply_to: None,
        idempotency_key: None,
        marketing: false,
    };
    crate::actions::send::send_message(app, actor, req).await
}

/// A periodic pass: connections not synced for [`SYNC_EVERY_MS`] get a sync job each (a few
/// per pass, so a large install spreads them out).
pub async fn schedule_due(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now_ms();
    let due = store::templates::due_for_sync(app.db.reader(), now - SYNC_EVERY_MS, 20).await?;
    for (tenant, connection_id) in &due {
        let payload = serde_json::json!({ "connection_id": connection_id });
        let key = format!("templates.sync:{connection_id}:{}", now / SYNC_EVERY_MS);
        let job = NewJob {
            tenant_id: *tenant,
            kind: JobKind::TemplateSync.as_str(),
            payload: &payload,
            run_at: now,
            max_attempts: 3,
            dedupe_key: Some(&key),
        };
        store::jobs::enqueue(app.db.writer(), job, now).await?;
    }
    if !due.is_empty() {
        app.jobs_wakeup.notify_one();
    }
    Ok(due.len())
}
