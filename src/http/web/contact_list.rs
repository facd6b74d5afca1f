//! The contact list: search, tag and consent filters, pages of 50, and saved filters ("Salvar
//! filtro") to open again in one click or pick as a campaign's audience.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::contacts::{consent_label, phone_shown};
use super::pages::EmptyForm;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::{self, contact_filters, contacts};
use crate::domain::contacts::ContactCriteria;
use crate::http::auth::urlencode;
use crate::store::contacts::Contact;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    /// A tag id, or empty for any.
    #[serde(default)]
    tag: String,
    /// A consent kind, or empty for any.
    #[serde(default)]
    consent: String,
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    saved: Option<String>,
}

impl ListQuery {
    fn criteria(&self) -> ContactCriteria {
        ContactCriteria {
            search: self.q.clone().unwrap_or_default(),
            tag_id: self.tag.trim().parse().ok(),
            consent: self.consent.trim().to_string(),
        }
    }
}

/// The list's address for these criteria (a saved filter's link, the next page's).
fn href(c: &ContactCriteria) -> String {
    let tag = c.tag_id.map(|t| t.to_string()).unwrap_or_default();
    format!("/contacts?q={}&tag={tag}&consent={}", urlencode(&c.search), urlencode(&c.consent))
}

pub struct Row {
    contact: Contact,
    tags: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ListPage {
    layout: Layout,
    criteria: ContactCriteria,
    /// (id, name) of the company's tags.
    tag_choices: Vec<(String, String)>,
    /// (name, link, id) of the saved filters.
    filters: Vec<(String, String, i64)>,
    rows: Vec<Row>,
    first: String,
    next: Option<String>,
    paged: bool,
    can_manage: bool,
    notice: Option<String>,
    error: Option<String>,
}

impl ListPage {
    fn phone(&self, c: &Contact) -> String {
        phone_shown(c)
    }

    fn consent_label(&self, c: &Contact) -> &str {
        consent_label(&self.layout, &c.consent)
    }

    fn tag_selected(&self, id: &str) -> bool {
        self.criteria.tag_id.map(|t| t.to_string()).as_deref() == Some(id)
    }

    fn consent_is(&self, c: &str) -> bool {
        self.criteria.consent == c
    }

    fn filtered(&self) -> bool {
        !self.criteria.is_empty()
    }
}

async fn page(p: &Page, q: &ListQuery, error: Option<String>) -> Response {
    let layout = p.layout("nav.contacts", "/contacts");
    let (actor, tenant) = (p.actor(), p.tenant());
    let criteria = q.criteria();
    let listed = match contacts::list_matching(&p.app, &actor, tenant, &criteria, q.after, true, 50).await {
        Ok(l) => l,
        Err(e) => return p.failure(&e),
    };
    let tags = match contacts::list_tags(&p.app, &actor, tenant).await {
        Ok(t) => t,
        Err(e) => return p.failure(&e),
    };
    let saved = match contact_filters::list(&p.app, &actor, tenant).await {
        Ok(f) => f,
        Err(e) => return p.failure(&e),
    };
    let mut tag_names = listed.tags;
    let rows = listed
        .contacts
        .into_iter()
        .map(|c| Row { tags: tag_names.remove(&c.id).unwrap_or_default().join(", "), contact: c })
        .collect();
    render(ListPage {
        notice: super::saved_notice(p.lang(), q.saved.as_deref()),
        error,
        next: listed.next_after.map(|a| format!("{}&after={a}", href(&criteria))),
        first: href(&criteria),
        paged: q.after.is_some(),
        can_manage: p.user.user.role.sees_whole_tenant(),
        tag_choices: tags.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        filters: saved.into_iter().map(|f| (f.name, href(&f.criteria), f.id)).collect(),
        criteria,
        rows,
        layout,
    })
}

pub async fn list(p: Page, Query(q): Query<ListQuery>) -> Response {
    page(&p, &q, None).await
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    consent: String,
}

/// `POST /contacts/filters`: saves the list's current criteria by name.
pub async fn save_filter(p: Page, CsrfForm(f): CsrfForm<SaveForm>) -> Response {
    let q = ListQuery { q: Some(f.q), tag: f.tag, consent: f.consent, ..Default::default() };
    match contact_filters::save(&p.app, &p.actor(), p.tenant(), &f.name, &q.criteria()).await {
        Ok(_) => Redirect::to(&format!("{}&saved=filter_saved", href(&q.criteria()))).into_response(),
        Err(e) => (error_status(&e), page(&p, &q, Some(error_message(p.lang(), &e))).await).into_response(),
    }
}

/// `POST /contacts/filters/{id}/delete`.
pub async fn delete_filter(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::contact_filters::delete(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/contacts?saved=filter_deleted").into_response(),
        Err(e) => p.failure(&e),
    }
}
