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

mod import;
use import::*;

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
    /// Active people (id, name): the wallet's owner choices.
    owners: Vec<(i64, String)>,
    /// The contact's tasks and "Nova tarefa" (`web::tasks`).
    tasks_html: String,
}

impl ContactPageT {
    fn owner_name(&self) -> Option<&str> {
        let owner = self.contact.owner_id?;
        self.owners.iter().find(|(id, _)| *id == owner).map(|(_, name)| name.as_str())
    }

    fn is_owner(&self, id: &i64) -> bool {
        self.contact.owner_id == Some(*id)
    }

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
        let owners = crate::actions::wallet::owner_choices(&p.app, &actor, p.tenant()).await?;
        Ok::<_, ActionError>((detail, known, history, owners))
    }
    .await;
    let (detail, known, history, owners) = match result {
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
    let tasks_html = super::tasks::contact_html(p, id).await;
    let page = ContactPageT {
        tasks_html,
        tags: detail.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "),
        tickets: detail.tickets,
        contact: detail.contact,
        fields,
        consents,
        notice,
        can_merge: p.user.user.role.sees_whole_tenant(),
        history,
        owners,
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
pub struct OwnerForm {
    /// A person's id, or empty for none.
    owner: String,
}

/// `POST /contacts/{id}/owner`: puts the contact in a person's wallet (or takes it out).
pub async fn set_owner(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<OwnerForm>) -> Response {
    let owner = match form.owner.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(o) => Some(o),
            Err(_) => return contact_page(&p, id, None, Some(p.lang().t("contacts.owner_unknown").to_string())).await,
        },
    };
    match crate::actions::wallet::set_owner(&p.app, &p.actor(), p.tenant(), id, owner).await {
        Ok(()) => Redirect::to(&format!("/contacts/{id}?saved=contact_saved")).into_response(),
        Err(e @ ActionError::Invalid { .. }) => contact_page(&p, id, None, Some(error_message(p.lang(), &e))).await,
        Err(e) => p.failure(&e),
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
        .route("/contacts/{id}/owner", post(set_owner))
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
