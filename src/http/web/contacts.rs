//! Contact pages (the list is in `contact_list`): a contact's page (edit, consent, tags, custom fields,
//! tickets, merge), CSV import (upload → preview and mapping → result with the rejected rows)
//! and export, and the custom-field / opt-out keyword settings.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::contact_csv::{self, ColumnTarget, CsvPreview, ImportReport};
use crate::actions::contacts::{self, ContactPatch};
use crate::actions::ActionError;
use crate::app::App;
use crate::domain::contacts::{source, Consent};
use crate::store::contacts::{Contact, FieldDef};
use crate::store::tickets::Ticket;

/// Uploaded files wait here between preview and import (one hour at most).
fn import_dir(app: &App) -> PathBuf {
    app.settings.data_dir.join("imports")
}

fn import_path(app: &App, tenant: i64, token: &str, suffix: &str) -> Option<PathBuf> {
    // The token is ours (random, URL-safe); anything else could climb out of the directory.
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    Some(import_dir(app).join(format!("t{tenant}-{token}{suffix}")))
}

pub(super) fn consent_label<'a>(layout: &Layout, consent: &str) -> &'a str {
    let lang = layout.lang;
    match consent {
        "marketing_opt_in" => lang.t("contacts.consent.marketing_opt_in"),
        "opted_out" => lang.t("contacts.consent.opted_out"),
        _ => lang.t("contacts.consent.transactional"),
    }
}

/// The contact's number as people read it (`+55 11 91234-5678`).
pub(super) fn phone_shown(c: &Contact) -> String {
    crate::domain::phone::display(&c.phone)
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPageT {
    layout: Layout,
    contact: Contact,
    tags: String,
    tickets: Vec<Ticket>,
    /// (key, label, value) of every known field and every field the contact has.
    fields: Vec<(String, String, String)>,
    consents: Vec<(&'static str, String)>,
    notice: Option<String>,
    error: Option<String>,
    can_merge: bool,
    history: Vec<crate::store::consent::ConsentEvent>,
}

impl ContactPageT {
    fn consent_name(&self, consent: &str) -> String {
        consent_label(&self.layout, consent).to_string()
    }

    fn previous_name(&self, previous: &Option<String>) -> String {
        match previous {
            Some(p) => consent_label(&self.layout, p).to_string(),
            None => self.layout.t("consent.none").to_string(),
        }
    }

    fn source_name(&self, source: &str) -> String {
        let key = format!("consent.src.{source}");
        match self.layout.t(&key) {
            t if t != key => t.to_string(),
            _ => source.to_string(),
        }
    }

    fn phone(&self) -> String {
        phone_shown(&self.contact)
    }

    fn status_label(&self, status: &str) -> &'static str {
        self.layout.ticket_status(status)
    }

    fn consent_text(&self) -> String {
        let label = consent_label(&self.layout, &self.contact.consent);
        match (self.contact.consent_at, &self.contact.consent_source) {
            (Some(at), Some(src)) => {
                format!("{label} · {} {} ({src})", self.layout.t("contacts.consent_since"), self.layout.datetime(&at))
            }
            _ => label.to_string(),
        }
    }
}

#[derive(Deserialize)]
pub struct ContactQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    merged: Option<String>,
}

async fn contact_page(p: &Page, id: i64, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.contacts", "/contacts");
    let actor = p.actor();
    let result = async {
        let detail = contacts::get_contact(&p.app, &actor, p.tenant(), id).await?;
        let known = contacts::list_fields(&p.app, &actor, p.tenant()).await?;
        let history = crate::actions::consent::history(&p.app, &actor, p.tenant(), id).await?;
        Ok::<_, ActionError>((detail, known, history))
    }
    .await;
    let (detail, known, history) = match result {
        Ok(r) => r,
        Err(e) => return p.failure(&e),
    };
    let values = detail.contact.fields();
    let mut fields: Vec<(String, String, String)> = known
        .iter()
        .map(|f| (f.key.clone(), f.label.clone(), values.get(&f.key).cloned().unwrap_or_default()))
        .collect();
    for (k, v) in &values {
        if !known.iter().any(|f| f.key == *k) {
            fields.push((k.clone(), k.clone(), v.clone()));
        }
    }
    let consents = Consent::ALL.iter().map(|c| (c.as_str(), consent_label(&layout, c.as_str()).to_string())).collect();
    let page = ContactPageT {
        tags: detail.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "),
        tickets: detail.tickets,
        contact: detail.contact,
        fields,
        consents,
        notice,
        can_merge: p.user.user.role.sees_whole_tenant(),
        history,
        layout,
        error: error.clone(),
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(page)).into_response()
}

pub async fn show(p: Page, Path(id): Path<i64>, Query(q): Query<ContactQuery>) -> Response {
    let notice = if q.merged.is_some() {
        Some(p.lang().t("contacts.merged").to_string())
    } else {
        super::saved_notice(p.lang(), q.saved.as_deref())
    };
    contact_page(&p, id, notice, None).await
}

/// The contact form: fixed fields plus `field.<key>` inputs.
pub async fn update(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).cloned();
    let custom: BTreeMap<String, Option<String>> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("field.").map(|key| (key.to_string(), Some(v.clone()))))
        .collect();
    let patch = ContactPatch {
        name: get("name"),
        email: get("email"),
        notes: get("notes"),
        custom_fields: Some(custom),
        tags: get("tags").map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()),
        consent: get("consent"),
    };
    match contacts::patch_contact(&p.app, &p.actor(), p.tenant(), id, patch, source::AGENT).await {
        Ok(_) => Redirect::to(&format!("/contacts/{id}?saved=contact_saved")).into_response(),
        Err(e) => {
            let msg = error_message(p.lang(), &e);
            if matches!(e, ActionError::Invalid { .. }) {
                contact_page(&p, id, None, Some(msg)).await
            } else {
                p.failure(&e)
            }
        }
    }
}

#[derive(Deserialize)]
pub struct MergeForm {
    from: String,
}

pub async fn merge(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<MergeForm>) -> Response {
    let Ok(from) = form.from.trim().trim_start_matches('#').parse::<i64>() else {
        return contact_page(&p, id, None, Some(p.lang().t("error.not_found").to_string())).await;
    };
    match contacts::merge_contacts(&p.app, &p.actor(), p.tenant(), from, id).await {
        Ok(_) => Redirect::to(&format!("/contacts/{id}?merged=1")).into_response(),
        Err(e @ (ActionError::Invalid { .. } | ActionError::NotFound)) => {
            let msg = error_message(p.lang(), &e);
            contact_page(&p, id, None, Some(msg)).await
        }
        Err(e) => p.failure(&e),
    }
}

// ---------- import ----------

#[derive(Template)]
#[template(path = "contacts_import.html")]
struct ImportPage {
    layout: Layout,
    error: Option<String>,
    /// Why the uploaded file was refused: its stable code and the message shown by the field.
    file_error: Option<(&'static str, String)>,
    preview: Option<(String, CsvPreview)>,
    /// The targets every column offers (fixed ones and the tenant's custom fields).
    targets: Vec<(String, String)>,
    /// Per column: the new custom field its header suggests, when the tenant lacks it. Only
    /// the column's own suggestion is offered, so the page grows linearly with the columns.
    new_fields: Vec<Option<(String, String)>>,
    report: Option<(String, ImportReport)>,
}

impl ImportPage {
    fn separator_label(&self, c: &char) -> &'static str {
        match c {
            ';' => "; (ponto e vírgula)",
            '\t' => "tab",
            _ => ", (vírgula)",
        }
    }

    fn selected(&self, guessed: &ColumnTarget, value: &str) -> bool {
        guessed.form_value() == value
    }

    fn new_field(&self, column: &usize) -> Option<&(String, String)> {
        self.new_fields.get(*column).and_then(Option::as_ref)
    }
}

async fn import_targets(p: &Page) -> Result<Vec<(String, String)>, ActionError> {
    let lang = p.lang();
    let mut targets = vec![
        ("ignore".to_string(), lang.t("contacts.import.ignore").to_string()),
        ("name".into(), lang.t("contacts.name").into()),
        ("phone".into(), lang.t("contacts.phone").into()),
        ("email".into(), lang.t("contacts.email").into()),
        ("tags".into(), lang.t("contacts.tags").into()),
        ("consent".into(), lang.t("contacts.consent").into()),
    ];
    let fields: Vec<FieldDef> = contacts::list_fields(&p.app, &p.actor(), p.tenant()).await?;
    for f in fields {
        targets.push((format!("field:{}", f.key), format!("{}: {}", lang.t("contacts.import.field"), f.label)));
    }
    Ok(targets)
}

fn import_page(p: &Page) -> ImportPage {
    ImportPage {
        layout: p.layout("contacts.import", "/contacts"),
        error: None,
        file_error: None,
        preview: None,
        targets: vec![],
        new_fields: vec![],
        report: None,
    }
}

/// A refused file in the reader's language (the action's own message is English).
fn import_error_text(p: &Page, e: &ActionError) -> String {
    let lang = p.lang();
    match e.code() {
        "too_many_columns" => {
            lang.t("contacts.import.too_many_columns").replace("{max}", &contact_csv::MAX_COLUMNS.to_string())
        }
        "too_many_rows" => {
            lang.t("contacts.import.too_many_rows").replace("{max}", &contact_csv::MAX_IMPORT_ROWS.to_string())
        }
        "empty_file" => lang.t("contacts.import.empty_file").to_string(),
        _ => error_message(lang, e),
    }
}

pub async fn import_form(p: Page) -> Response {
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    render(import_page(&p))
}

/// One part of a multipart body: field name, file name, bytes.
type Part<'a> = (String, Option<String>, &'a [u8]);

/// A `multipart/form-data` body's parts: (field name, file name, bytes).
fn multipart_parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = super::multipart::boundary(content_type)?;
    Some(super::multipart::parse(body, &boundary)?.into_iter().map(|p| (p.name, p.filename, p.data)).collect())
}

/// Upload: checks the CSRF field, keeps the file, shows the preview and the mapping form.
pub async fn import_upload(
    p: Page,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let body = match body {
        Ok(body) => body,
        // Too big for the upload limit: said in the person's language, by the file field.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let mut page = import_page(&p);
            let mib = (contact_csv::MAX_FILE_BYTES / (1024 * 1024)).to_string();
            page.file_error = Some(("file_too_large", p.lang().t("contacts.import.too_large").replace("{max}", &mib)));
            return (StatusCode::PAYLOAD_TOO_LARGE, render(page)).into_response();
        }
        Err(e) => return e.into_response(),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(parts) = multipart_parts(content_type, &body) else {
        return (StatusCode::BAD_REQUEST, p.lang().t("contacts.import.no_file")).into_response();
    };
    let csrf = parts.iter().find(|(n, _, _)| n == "csrf").map(|(_, _, d)| String::from_utf8_lossy(d).to_string());
    if !csrf.is_some_and(|c| crate::crypto::constant_time_eq(&c, &p.csrf.0)) {
        return (StatusCode::FORBIDDEN, p.lang().t("error.csrf")).into_response();
    }
    let mut page = import_page(&p);
    let file = parts.iter().find(|(n, _, d)| n == "file" && !d.is_empty()).map(|(_, _, d)| *d);
    let Some(file) = file else {
        page.file_error = Some(("no_file", p.lang().t("contacts.import.no_file").to_string()));
        return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
    };
    let preview = match contact_csv::preview(file) {
        Ok(preview) => preview,
        Err(e) => {
            page.file_error = Some((e.code(), import_error_text(&p, &e)));
            return (error_status(&e), render(page)).into_response();
        }
    };
    let token = crate::crypto::random_token(24);
    let saved = async {
        let dir = import_dir(&p.app);
        tokio::fs::create_dir_all(&dir).await?;
        clean_old_imports(&dir).await;
        let path =
            import_path(&p.app, p.tenant().0, &token, ".csv").ok_or_else(|| std::io::Error::other("bad token"))?;
        tokio::fs::write(path, file).await
    }
    .await;
    if let Err(e) = saved {
        return p.failure(&ActionError::Internal(anyhow::anyhow!("keeping the uploaded file: {e}")));
    }
    match import_targets(&p).await {
        Ok(targets) => {
            // A column guessed as a new custom field offers that field too.
            let known: std::collections::HashSet<&str> = targets.iter().map(|(v, _)| v.as_str()).collect();
            page.new_fields = preview
                .guessed
                .iter()
                .map(|g| match g {
                    ColumnTarget::Field(k) if !known.contains(g.form_value().as_str()) => {
                        Some((g.form_value(), format!("{}: {k}", p.lang().t("contacts.import.field"))))
                    }
                    _ => None,
                })
                .collect();
            page.targets = targets;
        }
        Err(e) => return p.failure(&e),
    }
    page.preview = Some((token, preview));
    render(page)
}

/// Old uploads are removed as new ones arrive (they are only needed for a few minutes).
async fn clean_old_imports(dir: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(e)) = entries.next_entry().await {
        let old = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

/// Mapping submitted: `col0`, `col1`, … name each column's target.
pub async fn import_run(
    p: Page,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Response {
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let mut page = import_page(&p);
    let Some(path) = import_path(&p.app, p.tenant().0, &token, ".csv") else {
        return p.failure(&ActionError::NotFound);
    };
    let Ok(bytes) = tokio::fs::read(&path).await else {
        page.error = Some(p.lang().t("contacts.import.expired").to_string());
        return (StatusCode::NOT_FOUND, render(page)).into_response();
    };
    let mut mapping = Vec::new();
    // One past the cap is enough for the import to refuse a wider mapping.
    for i in 0..=contact_csv::MAX_COLUMNS {
        let Some(v) = form.get(&format!("col{i}")) else { break };
        match ColumnTarget::from_form(v) {
            Ok(t) => mapping.push(t),
            Err(e) => {
                page.error = Some(import_error_text(&p, &e));
                return (error_status(&e), render(page)).into_response();
            }
        }
    }
    match contact_csv::import(&p.app, &p.actor(), p.tenant(), &bytes, &mapping).await {
        Ok(report) => {
            if !report.rejected.is_empty() {
                if let Some(errors) = import_path(&p.app, p.tenant().0, &token, ".rejected.csv") {
                    if let Err(e) = tokio::fs::write(errors, report.rejected_csv()).await {
                        tracing::warn!(error = %e, "keeping the rejected rows failed");
                    }
                }
            }
            let _ = tokio::fs::remove_file(&path).await;
            page.report = Some((token, report));
            render(page)
        }
        Err(e) => {
            page.error = Some(import_error_text(&p, &e));
            (error_status(&e), render(page)).into_response()
        }
    }
}

pub async fn import_rejected(p: Page, Path(token): Path<String>) -> Response {
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let Some(path) = import_path(&p.app, p.tenant().0, &token, ".rejected.csv") else {
        return p.failure(&ActionError::NotFound);
    };
    match tokio::fs::read(path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"linhas-com-erro.csv\""),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => p.failure(&ActionError::NotFound),
    }
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    sep: Option<String>,
}

pub async fn export(p: Page, Query(q): Query<ExportQuery>) -> Response {
    let separator = if q.sep.as_deref() == Some(",") { ',' } else { ';' };
    match crate::http::api::contacts::export_response(p.app.clone(), p.actor(), p.tenant(), separator).await {
        Ok(r) => r,
        Err(e) => p.failure(&e),
    }
}

// ---------- settings: custom fields and opt-out keywords ----------

#[derive(Template)]
#[template(path = "contacts_settings.html")]
struct SettingsPage {
    layout: Layout,
    keywords: String,
    texts: crate::actions::consent::KeywordTexts,
    fields: Vec<FieldDef>,
    notice: Option<String>,
    error: Option<String>,
    is_admin: bool,
}

async fn settings_page(p: &Page, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("contacts.settings", "/contacts");
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    let result = async {
        let keywords = contacts::opt_out_keywords(&p.app, &p.actor(), p.tenant()).await?;
        let fields = contacts::list_fields(&p.app, &p.actor(), p.tenant()).await?;
        let texts = crate::actions::consent::keyword_texts(&p.app, &p.actor(), p.tenant()).await?;
        Ok::<_, ActionError>((keywords, fields, texts))
    }
    .await;
    match result {
        Ok((keywords, fields, texts)) => {
            let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            let is_admin = p.user.user.role.can_manage_tenant();
            (status, render(SettingsPage { layout, keywords, texts, fields, notice, error, is_admin })).into_response()
        }
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn settings(p: Page, Query(q): Query<SavedQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    settings_page(&p, notice, None).await
}

#[derive(Deserialize)]
pub struct KeywordsForm {
    keywords: String,
    #[serde(default)]
    opt_in_keywords: String,
    #[serde(default)]
    opt_out_reply: String,
    #[serde(default)]
    opt_in_reply: String,
}

pub async fn save_keywords(p: Page, CsrfForm(form): CsrfForm<KeywordsForm>) -> Response {
    let saved = async {
        contacts::set_opt_out_keywords(&p.app, &p.actor(), p.tenant(), &form.keywords).await?;
        crate::actions::consent::set_keyword_texts(
            &p.app,
            &p.actor(),
            p.tenant(),
            &form.opt_in_keywords,
            &form.opt_out_reply,
            &form.opt_in_reply,
        )
        .await
    }
    .await;
    match saved {
        Ok(_) => Redirect::to("/contacts/settings?saved=1").into_response(),
        Err(e) => settings_page(&p, None, Some(error_message(p.lang(), &e))).await,
    }
}

#[derive(Deserialize)]
pub struct FieldForm {
    label: String,
    #[serde(default)]
    key: String,
}

pub async fn add_field(p: Page, CsrfForm(form): CsrfForm<FieldForm>) -> Response {
    match contacts::put_field(&p.app, &p.actor(), p.tenant(), &form.label, Some(&form.key)).await {
        Ok(_) => Redirect::to("/contacts/settings?saved=field_created").into_response(),
        Err(e) => settings_page(&p, None, Some(error_message(p.lang(), &e))).await,
    }
}

pub async fn delete_field(
    p: Page,
    Path(key): Path<String>,
    CsrfForm(_): CsrfForm<super::pages::EmptyForm>,
) -> Response {
    match contacts::delete_field(&p.app, &p.actor(), p.tenant(), &key).await {
        Ok(()) => Redirect::to("/contacts/settings?saved=field_deleted").into_response(),
        Err(e) => p.failure(&e),
    }
}

/// The routes of these pages (merged into the web router). The upload takes files up to
/// [`contact_csv::MAX_FILE_BYTES`] (and a little for the form around it), above the general
/// body limit.
pub fn routes() -> axum::Router<Arc<App>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/contacts", get(super::contact_list::list))
        .route("/contacts/filters", post(super::contact_list::save_filter))
        .route("/contacts/filters/{id}/delete", post(super::contact_list::delete_filter))
        .route(
            "/contacts/import",
            get(import_form)
                .post(import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(contact_csv::MAX_FILE_BYTES + 64 * 1024)),
        )
        .route("/contacts/import/{token}", post(import_run))
        .route("/contacts/import/{token}/rejected.csv", get(import_rejected))
        .route("/contacts/export.csv", get(export))
        .route("/contacts/settings", get(settings))
        .route("/contacts/settings/keywords", post(save_keywords))
        .route("/contacts/settings/fields", post(add_field))
        .route("/contacts/settings/fields/{key}/delete", post(delete_field))
        .route("/contacts/{id}", get(show).post(update))
        .route("/contacts/{id}/merge", post(merge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_split_into_named_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\na;b\r\n1;2\r\n\r\n--XyZ--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "csrf");
        assert_eq!(parts[0].2, b"abc");
        assert_eq!(parts[1].1.as_deref(), Some("c.csv"));
        assert_eq!(parts[1].2, b"a;b\r\n1;2\r\n");
        assert!(multipart_parts("multipart/form-data", body).is_none());
        assert!(multipart_parts("multipart/form-data; boundary=XyZ", b"junk").is_none());
    }
}
