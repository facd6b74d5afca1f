//! The Modelos page (supervisors and admins): each number's WhatsApp templates with their status
//! and a preview, "Sincronizar agora" (admins), and per template where each `{{n}}` parameter
//! comes from — a contact field, a fixed text or a variable the agent types when sending.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::NoticeQuery;
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::templates::TemplateView;
use crate::actions::{self, ActionError};
use crate::domain::templates::{Mapping, ParamSource};

/// A template's values from a form's `p.{parameter}` fields (the composer, Novo atendimento).
pub(super) fn values_from_form(
    fields: &std::collections::HashMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    fields.iter().filter_map(|(k, v)| k.strip_prefix("p.").map(|k| (k.to_string(), v.clone()))).collect()
}

/// One number and its templates.
struct NumberTemplates {
    id: i64,
    name: String,
    templates: Vec<TemplateView>,
}

#[derive(Template)]
#[template(path = "message_templates.html")]
struct ListPage {
    layout: Layout,
    numbers: Vec<NumberTemplates>,
    can_sync: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// The label key of a Graph status (its raw value when Atende has no word for it).
fn status_key(status: &str) -> String {
    match status {
        "APPROVED" | "PENDING" | "REJECTED" | "PAUSED" | "DISABLED" => format!("tpl.status.{status}"),
        other => other.to_string(),
    }
}

impl ListPage {
    fn status(&self, status: &str) -> String {
        let key = status_key(status);
        self.layout.lang.t(&key).to_string()
    }
}

async fn list_page(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.templates", "/admin/templates");
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let loaded = async {
        let mut all = actions::templates::list(app, &actor, tenant, None).await?;
        let mut numbers = Vec::new();
        for (id, name) in actions::composer::connection_names(app, &actor, tenant).await? {
            let (mine, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|t| t.template.connection_id == id);
            all = rest;
            numbers.push(NumberTemplates { id, name, templates: mine });
        }
        Ok::<_, ActionError>(numbers)
    }
    .await;
    match loaded {
        Ok(numbers) => {
            let can_sync = p.user.user.role.can_manage_tenant();
            render(ListPage { layout, numbers, can_sync, notice, error })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn list(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    list_page(&p, notice, None).await
}

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    connection_id: i64,
}

/// `POST /admin/templates/sync`: reads the number's templates from Graph now.
pub async fn sync(p: Page, CsrfForm(form): CsrfForm<SyncForm>) -> Response {
    match actions::templates::sync_now(&p.app, &p.actor(), p.tenant(), form.connection_id).await {
        Ok(_) => Redirect::to("/admin/templates?saved=templates_synced").into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            (error_status(&e), list_page(&p, None, Some(message)).await).into_response()
        }
    }
}

/// One parameter's row on the mapping form.
struct ParamRow {
    key: String,
    kind: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "message_template.html")]
struct EditPage {
    layout: Layout,
    t: TemplateView,
    rows: Vec<ParamRow>,
    /// `(key, label)` of the contact fields a parameter may take.
    fields: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn edit_page(p: &Page, id: i64, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.templates", "/admin/templates");
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let (app, actor, tenant) = (&*p.app, p.actor(), p.tenant());
    let loaded = async {
        let t = actions::templates::get(app, &actor, tenant, id).await?;
        let custom = actions::contacts::list_fields(app, &actor, tenant).await?;
        Ok::<_, ActionError>((t, custom))
    }
    .await;
    let (t, custom) = match loaded {
        Ok(x) => x,
        Err(e) => return p.failure(&e),
    };
    let rows = t
        .parameters
        .iter()
        .map(|key| {
            let (kind, value) = match t.mapping_parsed.get(key) {
                Some(ParamSource::Field(v)) => ("field", v.clone()),
                Some(ParamSource::Text(v)) => ("text", v.clone()),
                Some(ParamSource::Variable(v)) => ("variable", v.clone()),
                None => ("none", String::new()),
            };
            ParamRow { key: key.clone(), kind, value }
        })
        .collect();
    let mut fields: Vec<(String, String)> = vec![
        ("nome".into(), layout.t("common.name").to_string()),
        ("telefone".into(), layout.t("contacts.phone").to_string()),
        ("email".into(), "E-mail".into()),
    ];
    fields.extend(custom.into_iter().map(|f| (f.key, f.label)));
    render(EditPage { layout, t, rows, fields, notice, error })
}

pub async fn edit(p: Page, Path(id): Path<i64>, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    edit_page(&p, id, notice, None).await
}

/// The mapping form: for each parameter `kind.{key}` (none, field, text, variable) and
/// `value.{key}` (the field key, the fixed text or the variable's hint).
#[derive(Deserialize)]
pub struct MappingForm {
    #[serde(flatten)]
    values: std::collections::HashMap<String, String>,
}

pub async fn save(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<MappingForm>) -> Response {
    let mut mapping = Mapping::new();
    for (name, kind) in &form.values {
        let Some(key) = name.strip_prefix("kind.") else { continue };
        let value = form.values.get(&format!("value.{key}")).map(|v| v.trim().to_string()).unwrap_or_default();
        let source = match kind.as_str() {
            "field" => ParamSource::Field(value),
            "text" => ParamSource::Text(value),
            "variable" => ParamSource::Variable(value),
            _ => continue,
        };
        mapping.insert(key.to_string(), source);
    }
    match actions::templates::set_mapping(&p.app, &p.actor(), p.tenant(), id, mapping).await {
        Ok(_) => Redirect::to(&format!("/admin/templates/{id}?saved=template_mapped")).into_response(),
        Err(e) => {
            let message = super::error_message(p.lang(), &e);
            (error_status(&e), edit_page(&p, id, None, Some(message)).await).into_response()
        }
    }
}
