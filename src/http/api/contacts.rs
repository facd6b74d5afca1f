//! `/api/v1/contacts`: list and search, create, read, patch, delete, bulk upsert (≤ 1,000),
//! merge, template preview, custom-field keys and the CSV export (streamed).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::actions::contacts::{self, ContactPatch, ContactRow, MAX_BULK};
use crate::actions::{contact_csv, Actor};
use crate::app::App;
use crate::domain::contacts::source;
use crate::domain::{Scope, TenantId};
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::{ApiPath, ApiQuery, ErrorBody};
use crate::store::contacts::Contact;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/contacts", get(list_contacts).post(create_contact))
        .route("/contacts/bulk", post(bulk_upsert))
        .route("/contacts/fields", get(list_fields))
        .route("/contacts/export.csv", get(export_csv))
        .route("/contacts/{id}", get(get_contact).patch(patch_contact).delete(delete_contact))
        .route("/contacts/{id}/merge", post(merge_contact))
        .route("/contacts/{id}/render", post(render_template))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_contacts,
        create_contact,
        get_contact,
        patch_contact,
        delete_contact,
        bulk_upsert,
        merge_contact,
        render_template,
        list_fields,
        export_csv
    ),
    components(schemas(
        ContactOut,
        ConsentOut,
        ContactList,
        ContactIn,
        ContactPatchIn,
        BulkIn,
        BulkOut,
        BulkSummaryOut,
        RowResultOut,
        RowErrorOut,
        MergeIn,
        MergeOut,
        MergeCountsOut,
        RenderIn,
        RenderOut,
        FieldOut,
        FieldList
    )),
    tags((name = "contacts", description = "Contacts (CRM sync): search, create, update, bulk upsert, merge, export"))
)]
pub struct ContactsApi;

#[derive(Serialize, ToSchema)]
pub struct ConsentOut {
    /// `transactional`, `marketing_opt_in` or `opted_out`.
    pub status: String,
    /// When it was last set (RFC 3339), if ever.
    pub at: Option<String>,
    /// Who set it: `api`, `csv`, `keyword`, `agent`, `merge`.
    pub source: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactOut {
    pub id: i64,
    pub name: String,
    /// E.164, e.g. `+5511987654321`; empty for a WhatsApp customer who shows a username
    /// instead of a number.
    pub phone: String,
    pub wa_id: Option<String>,
    /// WhatsApp username, when the customer shows one.
    pub username: Option<String>,
    pub email: Option<String>,
    pub notes: String,
    pub custom_fields: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub consent: ConsentOut,
    /// Carteira: the person whose wallet the contact is in.
    pub owner_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn contact_out(c: Contact, tags: Vec<String>) -> ContactOut {
    let fields = c.fields();
    ContactOut {
        id: c.id,
        phone: crate::domain::phone::e164(&c.phone),
        custom_fields: fields,
        tags,
        consent: ConsentOut { status: c.consent, at: c.consent_at.map(rfc3339), source: c.consent_source },
        owner_id: c.owner_id,
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
        name: c.name,
        wa_id: c.wa_id,
        username: c.username,
        email: c.email,
        notes: c.notes,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub data: Vec<ContactOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Search in name, e-mail and phone digits.
    pub q: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn encode_cursor(after: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("contacts:{after}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "the cursor is not one this API gave");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("contacts:").and_then(|n| n.parse().ok()).ok_or_else(bad)
}

/// Ids in paths: anything but a positive integer is no such contact.
fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such contact"))
}

async fn tenant_of(caller: &ApiCaller) -> TenantId {
    caller.token.tenant_id
}

async fn out_with_tags(app: &App, actor: &Actor, tenant: TenantId, c: Contact) -> Result<ContactOut, ApiError> {
    let detail = contacts::get_contact(app, actor, tenant, c.id).await?;
    let tags = detail.tags.into_iter().map(|t| t.name).collect();
    Ok(contact_out(detail.contact, tags))
}

/// Lists the tenant's contacts, oldest first, optionally searched.
#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ListQuery),
    responses(
        (status = 200, body = ContactList),
        (status = 400, description = "invalid_cursor", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "insufficient_scope", body = ErrorBody),
        (status = 422, description = "invalid_limit, invalid_search", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_contacts(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ContactList>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", "limit is 1 to 200"));
    }
    let after = q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let tenant = tenant_of(&caller).await;
    let page = contacts::list_contacts(&app, &caller.actor(), tenant, q.q.as_deref(), after, false, limit).await?;
    let mut tags = page.tags;
    let data = page.contacts.into_iter().map(|c| {
        let t = tags.remove(&c.id).unwrap_or_default();
        contact_out(c, t)
    });
    Ok(Json(ContactList { data: data.collect(), next_cursor: page.next_after.map(encode_cursor) }))
}

/// A contact to create, or one row of a bulk upsert.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    pub name: Option<String>,
    /// Any common spelling; national Brazilian numbers get +55. Required to create.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Field key (`a-z`, `0-9`, `_`) → text.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// Tag names; missing tags are created.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `transactional`, `marketing_opt_in` or `opted_out`.
    pub consent: Option<String>,
}

impl From<ContactIn> for ContactRow {
    fn from(c: ContactIn) -> ContactRow {
        ContactRow {
            name: c.name,
            phone: c.phone,
            email: c.email,
            custom_fields: c.custom_fields,
            tags: c.tags,
            consent: c.consent,
        }
    }
}

/// Creates a contact (a phone is required; an existing phone answers 409 `phone_taken`).
#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactIn,
    responses(
        (status = 201, body = ContactOut),
        (status = 400, description = "malformed_json", body = ErrorBody),
        (status = 403, description = "insufficient_scope", body = ErrorBody),
        (status = 409, description = "phone_taken", body = ErrorBody),
        (status = 422, description = "invalid_phone, invalid_email, invalid_name, invalid_consent, invalid_custom_fields, invalid_tag, phone_required", body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<ContactIn>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let tenant = tenant_of(&caller).await;
    let actor = caller.actor();
    let c = contacts::create_contact(&app, &actor, tenant, &body.into(), source::API).await?;
    let out = out_with_tags(&app, &actor, tenant, c).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// One contact with its tags and consent.
#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = ContactOut), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ContactOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path_id(&id)?;
    let d = contacts::get_contact(&app, &caller.actor(), tenant_of(&caller).await, id).await?;
    Ok(Json(contact_out(d.contact, d.tags.into_iter().map(|t| t.name).collect())))
}

/// A partial update: absent members stay; `email: ""` clears it; a custom field set to
/// `null` is removed; `tags` replaces the list.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactPatchIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
    pub custom_fields: Option<BTreeMap<String, Option<String>>>,
    pub tags: Option<Vec<String>>,
    pub consent: Option<String>,
    /// Carteira: a person's id puts the contact in their wallet, `null` takes it out; absent
    /// keeps it. Needs a supervisor's rights (tokens have them).
    #[serde(default, deserialize_with = "super::quick_replies::double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), request_body = ContactPatchIn,
    responses(
        (status = 200, body = ContactOut),
        (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_name, invalid_email, invalid_notes, invalid_consent, invalid_custom_fields, invalid_tag, unknown_owner", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn patch_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ContactPatchIn>,
) -> Result<Json<ContactOut>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    let tenant = tenant_of(&caller).await;
    let actor = caller.actor();
    if let Some(owner) = body.owner_id {
        crate::actions::wallet::check_owner(&app, &actor, tenant, owner).await?;
    }
    let patch = ContactPatch {
        name: body.name,
        email: body.email,
        notes: body.notes,
        custom_fields: body.custom_fields,
        tags: body.tags,
        consent: body.consent,
    };
    let mut c = contacts::patch_contact(&app, &actor, tenant, id, patch, source::API).await?;
    if let Some(owner) = body.owner_id {
        crate::actions::wallet::set_owner(&app, &actor, tenant, id, owner).await?;
        c.owner_id = owner;
    }
    Ok(Json(out_with_tags(&app, &actor, tenant, c).await?))
}

/// Deletes a contact without tickets (one with tickets answers 409 `contact_has_tickets`:
/// merge it instead).
#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "contact_has_tickets", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn delete_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    contacts::delete_contact(&app, &caller.actor(), tenant_of(&caller).await, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkIn {
    /// Up to 1,000 contacts.
    pub contacts: Vec<ContactIn>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkSummaryOut {
    pub created: usize,
    pub updated: usize,
    pub errors: usize,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorOut {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct RowResultOut {
    /// Position of the row in `contacts`.
    pub index: usize,
    /// `created`, `updated` or `error`.
    pub status: String,
    pub id: Option<i64>,
    pub error: Option<RowErrorOut>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkOut {
    pub summary: BulkSummaryOut,
    /// One result per row, in request order.
    pub results: Vec<RowResultOut>,
}

/// Creates or updates up to 1,000 contacts in one transaction, matched by phone (a Brazilian
/// mobile with or without its 9th digit is the same contact) or, for rows without a phone, by
/// e-mail. Rows reaching the same contact are merged. Each row gets its own result; a bad row
/// never fails the others. A bulk upsert never lifts an `opted_out` consent.
#[utoipa::path(post, path = "/contacts/bulk", tag = "contacts", request_body = BulkIn,
    responses(
        (status = 200, body = BulkOut),
        (status = 400, description = "malformed_json", body = ErrorBody),
        (status = 413, description = "too_many_rows (more than 1,000) or payload_too_large", body = ErrorBody),
        (status = 422, description = "invalid_body", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn bulk_upsert(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<BulkIn>,
) -> Result<Json<BulkOut>, ApiError> {
    caller.require(Scope::Write)?;
    if body.contacts.len() > MAX_BULK {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_rows",
            format!("at most {MAX_BULK} contacts per request; send {} in several", body.contacts.len()),
        ));
    }
    let rows: Vec<ContactRow> = body.contacts.into_iter().map(ContactRow::from).collect();
    let (results, summary) =
        contacts::upsert_many(&app, &caller.actor(), tenant_of(&caller).await, &rows, source::API).await?;
    Ok(Json(BulkOut {
        summary: BulkSummaryOut { created: summary.created, updated: summary.updated, errors: summary.errors },
        results: results
            .into_iter()
            .map(|r| RowResultOut {
                index: r.index,
                status: r.status.to_string(),
                id: r.id,
                error: r.error.map(|e| RowErrorOut { code: e.code.to_string(), message: e.message }),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    /// The contact merged into this one (and deleted).
    pub from: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MergeCountsOut {
    pub tickets: u64,
    pub messages: u64,
    pub tags: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MergeOut {
    pub contact: ContactOut,
    pub moved: MergeCountsOut,
}

/// Merges contact `from` into `{id}`: tickets, messages and tags move; custom fields keep this
/// contact's values and fill gaps from the other; consent becomes the more restrictive. The
/// other contact is deleted (the audit log keeps a copy).
#[utoipa::path(post, path = "/contacts/{id}/merge", tag = "contacts", params(("id" = i64, Path)), request_body = MergeIn,
    responses(
        (status = 200, body = MergeOut),
        (status = 404, description = "either contact is unknown", body = ErrorBody),
        (status = 422, description = "same_contact", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn merge_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MergeIn>,
) -> Result<Json<MergeOut>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    let tenant = tenant_of(&caller).await;
    let actor = caller.actor();
    let report = contacts::merge_contacts(&app, &actor, tenant, body.from, id).await?;
    let moved =
        MergeCountsOut { tickets: report.moved.tickets, messages: report.moved.messages, tags: report.moved.tags };
    Ok(Json(MergeOut { contact: out_with_tags(&app, &actor, tenant, report.contact).await?, moved }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderIn {
    /// Text with `{{nome}}`, `{{telefone}}`, `{{email}}` or `{{<custom field>}}`.
    pub template: String,
}

#[derive(Serialize, ToSchema)]
pub struct RenderOut {
    /// The template with the contact's values; missing ones are empty.
    pub text: String,
}

/// Previews a template filled from this contact (what a send with variables would say).
#[utoipa::path(post, path = "/contacts/{id}/render", tag = "contacts", params(("id" = i64, Path)), request_body = RenderIn,
    responses((status = 200, body = RenderOut), (status = 404, body = ErrorBody), (status = 422, description = "template_too_long", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn render_template(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RenderIn>,
) -> Result<Json<RenderOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path_id(&id)?;
    if body.template.chars().count() > 4096 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "template_too_long", "4,096 characters at most"));
    }
    let text =
        contacts::render_for_contact(&app, &caller.actor(), tenant_of(&caller).await, id, &body.template).await?;
    Ok(Json(RenderOut { text }))
}

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub key: String,
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct FieldList {
    pub data: Vec<FieldOut>,
}

/// The tenant's known custom-field keys and their labels.
#[utoipa::path(get, path = "/contacts/fields", tag = "contacts", responses((status = 200, body = FieldList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_fields(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<FieldList>, ApiError> {
    caller.require(Scope::Read)?;
    let fields = contacts::list_fields(&app, &caller.actor(), tenant_of(&caller).await).await?;
    Ok(Json(FieldList { data: fields.into_iter().map(|f| FieldOut { key: f.key, label: f.label }).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `;` (default, Brazilian Excel) or `,`.
    pub sep: Option<String>,
}

/// All contacts as CSV (UTF-8 with BOM), streamed page by page.
#[utoipa::path(get, path = "/contacts/export.csv", tag = "contacts", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn export_csv(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let separator = if q.sep.as_deref() == Some(",") { ',' } else { ';' };
    Ok(export_response(app, caller.actor(), tenant_of(&caller).await, separator).await?)
}

/// The streamed CSV export (shared with the web page).
pub async fn export_response(
    app: Arc<App>,
    actor: Actor,
    tenant: TenantId,
    separator: char,
) -> Result<Response, crate::actions::ActionError> {
    let (header, layout) = contact_csv::export_start(&app, &actor, tenant, separator).await?;
    enum State {
        Header(String),
        Page(Option<i64>),
        Done,
    }
    let layout = Arc::new(layout);
    let stream = futures_util::stream::unfold(State::Header(header), move |state| {
        let app = app.clone();
        let actor = actor.clone();
        let layout = layout.clone();
        async move {
            match state {
                State::Header(h) => Some((Ok::<_, std::io::Error>(h), State::Page(None))),
                State::Page(after) => match contact_csv::export_page(&app, &actor, tenant, &layout, after).await {
                    Ok((text, Some(next))) => Some((Ok(text), State::Page(Some(next)))),
                    Ok((text, None)) => Some((Ok(text), State::Done)),
                    Err(e) => {
                        tracing::error!(error = %e, "contact export failed");
                        Some((Err(std::io::Error::other("export failed")), State::Done))
                    }
                },
                State::Done => None,
            }
        }
    });
    let filename = format!("contatos-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
