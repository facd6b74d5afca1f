//! `/api/v1/templates` (a connection's message templates, synced from WhatsApp, and how their
//! parameters are filled) and `/api/v1/contacts/{id}/consent-history` (every consent change).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::templates::TemplateView;
use crate::actions::{self};
use crate::app::App;
use crate::domain::templates::ParamSource;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::consent::ConsentEvent;

use super::{timestamp, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/templates", get(list_templates))
        .route("/templates/sync", post(sync_templates))
        .route("/templates/{id}", get(get_template))
        .route("/templates/{id}/mapping", put(put_mapping))
        .route("/contacts/{id}/consent-history", get(consent_history))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_templates, sync_templates, get_template, put_mapping, consent_history),
    components(schemas(
        TemplateOut,
        TemplatePage,
        ParamOut,
        SyncInput,
        SyncOut,
        MappingInput,
        ConsentEventOut,
        ConsentPage
    ))
)]
pub struct TemplatesApi;

/// How one `{{n}}` parameter is filled.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ParamOut {
    /// `field` (a contact variable: `nome`, `telefone`, `email` or a custom-field key), `text`
    /// (the same for everyone) or `variable` (typed at send time; `value` is a hint).
    #[schema(pattern = "^(field|text|variable)$")]
    pub kind: String,
    pub value: String,
}

/// A message template as WhatsApp lists it.
#[derive(Serialize, ToSchema)]
pub struct TemplateOut {
    pub id: i64,
    pub connection_id: i64,
    pub name: String,
    /// e.g. `pt_BR`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`…; only approved ones can be sent.
    pub status: String,
    /// Still listed by WhatsApp at the last sync.
    pub listed: bool,
    /// Header, body and footer as the customer reads them (parameters unfilled).
    pub preview: String,
    /// The parameters: body ones (`1`, `2`…), then the header's (`header.1`).
    pub parameters: Vec<String>,
    pub buttons: Vec<String>,
    pub mapping: BTreeMap<String, ParamOut>,
    /// Graph's `components` array.
    #[schema(value_type = Vec<Object>)]
    pub components: serde_json::Value,
    #[schema(format = DateTime)]
    pub synced_at: String,
}

fn param_out(p: &ParamSource) -> ParamOut {
    let (kind, value) = match p {
        ParamSource::Field(v) => ("field", v),
        ParamSource::Text(v) => ("text", v),
        ParamSource::Variable(v) => ("variable", v),
    };
    ParamOut { kind: kind.into(), value: value.clone() }
}

impl From<TemplateView> for TemplateOut {
    fn from(v: TemplateView) -> Self {
        TemplateOut {
            id: v.template.id,
            connection_id: v.template.connection_id,
            components: serde_json::from_str(&v.template.components).unwrap_or(serde_json::Value::Null),
            name: v.template.name,
            language: v.template.language,
            category: v.template.category,
            status: v.template.status,
            listed: v.template.listed,
            preview: v.body,
            parameters: v.parameters,
            buttons: v.buttons,
            mapping: v.mapping_parsed.iter().map(|(k, p)| (k.clone(), param_out(p))).collect(),
            synced_at: timestamp(v.template.synced_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TemplatePage {
    pub data: Vec<TemplateOut>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// Only this connection's templates.
    pub connection_id: Option<i64>,
}

/// Lists the synced templates (listed ones first, by name).
#[utoipa::path(get, path = "/templates", tag = "templates", params(TemplateQuery),
    responses((status = 200, body = TemplatePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_templates(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<TemplateQuery>,
) -> Result<Json<TemplatePage>, ApiError> {
    caller.require(Scope::Read)?;
    let all = actions::templates::list(&app, &caller.actor(), caller.token.tenant_id, q.connection_id).await?;
    Ok(Json(TemplatePage { data: all.into_iter().map(TemplateOut::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncInput {
    /// A WhatsApp Cloud API connection with a WABA ID.
    pub connection_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SyncOut {
    /// How many templates WhatsApp lists now.
    pub templates: usize,
}

/// Reads the connection's templates from WhatsApp now (`GET /{waba-id}/message_templates`).
/// They are also synced every six hours.
#[utoipa::path(post, path = "/templates/sync", tag = "templates", request_body = SyncInput,
    responses((status = 200, body = SyncOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`not_cloud_api`, `waba_id_required`, `graph_error`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn sync_templates(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<SyncInput>,
) -> Result<Json<SyncOut>, ApiError> {
    caller.require(Scope::Write)?;
    let n = actions::templates::sync_now(&app, &caller.actor(), caller.token.tenant_id, input.connection_id).await?;
    Ok(Json(SyncOut { templates: n }))
}

/// One template.
#[utoipa::path(get, path = "/templates/{id}", tag = "templates", params(("id" = i64, Path)),
    responses((status = 200, body = TemplateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_template(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TemplateOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::templates::get(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    /// Parameter (`1`, `header.1`) → how it is filled; replaces the whole mapping.
    pub mapping: BTreeMap<String, ParamOut>,
}

/// Sets how each parameter is filled (the composer and "Novo atendimento" start from it).
#[utoipa::path(put, path = "/templates/{id}/mapping", tag = "templates", params(("id" = i64, Path)),
    request_body = MappingInput,
    responses((status = 200, body = TemplateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`unknown_parameter`, `unknown_field`, `invalid_mapping`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn put_mapping(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MappingInput>,
) -> Result<Json<TemplateOut>, ApiError> {
    caller.require(Scope::Write)?;
    let mut mapping = crate::domain::templates::Mapping::new();
    for (k, p) in input.mapping {
        let source = match p.kind.as_str() {
            "field" => ParamSource::Field(p.value),
            "text" => ParamSource::Text(p.value),
            "variable" => ParamSource::Variable(p.value),
            _ => {
                return Err(ApiError::from(actions::ActionError::invalid(
                    "invalid_mapping",
                    "kind is field, text or variable",
                )))
            }
        };
        mapping.insert(k, source);
    }
    let v = actions::templates::set_mapping(&app, &caller.actor(), caller.token.tenant_id, id, mapping).await?;
    Ok(Json(v.into()))
}

/// One consent change of a contact.
#[derive(Serialize, ToSchema)]
pub struct ConsentEventOut {
    pub id: i64,
    /// The consent before (`null` when the contact was created with it).
    pub previous: Option<String>,
    /// `transactional`, `marketing_opt_in` or `opted_out`.
    pub consent: String,
    /// `api`, `csv`, `agent`, `keyword`, `meta`, `merge`…
    pub source: String,
    /// Who: `user:3`, `token:1`, `customer`, `meta`, `system`.
    pub actor: String,
    /// More: the keyword sent, Meta's signal, the merged contact.
    pub detail: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<ConsentEvent> for ConsentEventOut {
    fn from(e: ConsentEvent) -> Self {
        ConsentEventOut {
            id: e.id,
            previous: e.previous,
            consent: e.consent,
            source: e.source,
            actor: e.actor,
            detail: e.detail,
            created_at: timestamp(e.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentPage {
    /// Newest first (the last 200).
    pub data: Vec<ConsentEventOut>,
}

/// A contact's consent history, newest first.
#[utoipa::path(get, path = "/contacts/{id}/consent-history", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = ConsentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn consent_history(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConsentPage>, ApiError> {
    caller.require(Scope::Read)?;
    let list = actions::consent::history(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(ConsentPage { data: list.into_iter().map(ConsentEventOut::from).collect() }))
}
