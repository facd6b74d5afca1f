//! CSV import (upload, preview and column mapping, result with the rejected rows) and export.

use super::*;

/// Uploaded files wait here between preview and import (one hour at most).
pub(super) fn import_dir(app: &App) -> PathBuf {
    app.settings.data_dir.join("imports")
}

pub(super) fn import_path(app: &App, tenant: i64, token: &str, suffix: &str) -> Option<PathBuf> {
    // The token is ours (random, URL-safe); anything else could climb out of the directory.
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    Some(import_dir(app).join(format!("t{tenant}-{token}{suffix}")))
}

#[derive(Template)]
#[template(path = "contacts_import.html")]
pub(super) struct ImportPage {
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

pub(super) async fn import_targets(p: &Page) -> Result<Vec<(String, String)>, ActionError> {
    let lang = p.lang();
    let mut targets = vec![
        ("ignore".to_string(), lang.t("contacts.import.ignore").to_string()),
        ("name".into(), lang.t("contacts.name").into()),
        ("phone".into(), lang.t("contacts.phone").into()),
        ("email".into(), lang.t("contacts.email").into()),
        ("tags".into(), lang.t("contacts.tags").into()),
        ("consent".into(), lang.t("contacts.consent").into()),
        ("owner".into(), lang.t("contacts.owner_email").into()),
    ];
    let fields: Vec<FieldDef> = contacts::list_fields(&p.app, &p.actor(), p.tenant()).await?;
    for f in fields {
        targets.push((format!("field:{}", f.key), format!("{}: {}", lang.t("contacts.import.field"), f.label)));
    }
    Ok(targets)
}

pub(super) fn import_page(p: &Page) -> ImportPage {
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
pub(super) fn import_error_text(p: &Page, e: &ActionError) -> String {
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
pub(super) fn multipart_parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = crate::http::web::multipart::boundary(content_type)?;
    Some(
        crate::http::web::multipart::parse(body, &boundary)?
            .into_iter()
            .map(|p| (p.name, p.filename, p.data))
            .collect(),
    )
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
pub(super) async fn clean_old_imports(dir: &std::path::Path) {
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
