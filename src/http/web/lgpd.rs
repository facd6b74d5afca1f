//! LGPD pages: a contact's "Exportar dados (LGPD)" download and "Eliminar dados (LGPD)" with its
//! confirmation page (supervisors and admins), and on Configurações the conversation retention
//! (months, the last purge) and the company's whole export (admins). The actions check the
//! roles; these pages only hide what a person may not use.

use std::sync::Arc;

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::i18n::Lang;
use super::pages::EmptyForm;
use super::{render, CsrfForm, Layout, Page};
use crate::actions::lgpd;
use crate::app::App;
use crate::http::api::lgpd::zip_response;

pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/contacts/{id}/export", get(export_contact))
        .route("/contacts/{id}/erase", get(erase_page).post(erase))
        .route("/admin/settings/retention", post(set_retention))
        .route("/admin/settings/export", post(export_company))
}

async fn export_contact(p: Page, Path(id): Path<i64>) -> Response {
    match lgpd::export_contact(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(job) => zip_response(job, p.app.clone()),
        Err(e) => p.failure(&e),
    }
}

#[derive(Template)]
#[template(path = "lgpd_erase.html")]
struct ErasePage {
    layout: Layout,
    id: i64,
    name: String,
    tickets: usize,
    error: Option<String>,
}

async fn erase_form(p: &Page, id: i64, error: Option<String>) -> Response {
    let layout = p.layout("lgpd.erase", "/contacts");
    if let Err(e) = p.actor().require_supervisor_of(p.tenant()) {
        return p.failure(&e);
    }
    match crate::actions::contacts::get_contact(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(d) => render(ErasePage { layout, id, name: d.contact.name, tickets: d.tickets.len(), error }),
        Err(e) => p.failure(&e),
    }
}

async fn erase_page(p: Page, Path(id): Path<i64>) -> Response {
    erase_form(&p, id, None).await
}

#[derive(Deserialize)]
struct EraseForm {
    #[serde(default)]
    confirm: String,
}

async fn erase(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<EraseForm>) -> Response {
    if form.confirm != "1" {
        let text = p.lang().t("lgpd.erase_confirm_needed").to_string();
        return erase_form(&p, id, Some(text)).await;
    }
    match lgpd::erase_contact(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(_) => Redirect::to(&format!("/contacts/{id}?saved=contact_erased")).into_response(),
        Err(e) => p.failure(&e),
    }
}

#[derive(Deserialize)]
struct RetentionForm {
    #[serde(default)]
    months: String,
}

async fn set_retention(p: Page, CsrfForm(form): CsrfForm<RetentionForm>) -> Response {
    let months = form.months.trim().parse::<i64>().unwrap_or(0);
    match lgpd::retention::set_months(&p.app, &p.actor(), p.tenant(), months).await {
        Ok(_) => Redirect::to("/admin/settings?saved=conversation_retention#retention").into_response(),
        Err(e) => p.failure(&e),
    }
}

async fn export_company(p: Page, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match lgpd::company_export(&p.app, &p.actor(), p.tenant()).await {
        Ok(job) => zip_response(job, p.app.clone()),
        Err(e) => p.failure(&e),
    }
}

/// Configurações' block: retention months, the last purge, the company's export.
#[derive(Template)]
#[template(path = "lgpd_settings.html")]
struct SettingsBlock {
    lang: Lang,
    csrf: String,
    months: i64,
    last_purge: Option<String>,
    last_run: Option<String>,
    purged_messages: i64,
    purged_files: i64,
}

pub async fn settings_html(p: &Page, layout: &Layout) -> String {
    let r = match lgpd::retention::get(&p.app, &p.actor(), p.tenant()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "reading the retention setting failed");
            return String::new();
        }
    };
    SettingsBlock {
        lang: layout.lang,
        csrf: layout.csrf.clone(),
        months: r.months,
        last_purge: r.last_purge_at.map(|t| layout.datetime(&t)),
        last_run: r.last_run_at.map(|t| layout.datetime(&t)),
        purged_messages: r.last_purge_messages,
        purged_files: r.last_purge_files,
    }
    .render()
    .unwrap_or_default()
}
