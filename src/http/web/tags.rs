//! The Tags admin page (supervisors and admins): list, create, rename, recolour, delete. Tags
//! are put on tickets from the inbox's side panel.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{EmptyForm, NoticeQuery};
use super::{error_status, render, CsrfForm, Layout, Page};
use crate::actions::{self, ActionError};
use crate::store::tags::Tag;

#[derive(Template)]
#[template(path = "tags.html")]
struct TagsPage {
    layout: Layout,
    tags: Vec<Tag>,
    name: String,
    colour: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn tags_page(p: &Page, typed: (String, String), notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.tags", "/admin/tags");
    if !p.user.user.role.sees_whole_tenant() {
        return p.failure(&ActionError::Forbidden);
    }
    match actions::contacts::list_tags(&p.app, &p.actor(), p.tenant()).await {
        Ok(tags) => render(TagsPage { layout, tags, name: typed.0, colour: typed.1, notice, error }),
        Err(e) => p.failure(&e),
    }
}

pub async fn list_tags(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    tags_page(&p, (String::new(), "#64748b".into()), notice, None).await
}

#[derive(Deserialize)]
pub struct TagFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    colour: String,
}

async fn failed(p: &Page, e: ActionError, typed: (String, String)) -> Response {
    let message = super::error_message(p.lang(), &e);
    (error_status(&e), tags_page(p, typed, None, Some(message)).await).into_response()
}

pub async fn create_tag(p: Page, CsrfForm(form): CsrfForm<TagFields>) -> Response {
    match actions::contacts::create_tag(&p.app, &p.actor(), p.tenant(), &form.name, &form.colour).await {
        Ok(_) => Redirect::to("/admin/tags?saved=tag_created").into_response(),
        Err(e) => failed(&p, e, (form.name, form.colour)).await,
    }
}

pub async fn update_tag(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TagFields>) -> Response {
    match actions::tags::update_tag(&p.app, &p.actor(), p.tenant(), id, &form.name, &form.colour).await {
        Ok(_) => Redirect::to("/admin/tags?saved=tag_saved").into_response(),
        Err(e) => failed(&p, e, (String::new(), "#64748b".into())).await,
    }
}

pub async fn delete_tag(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::contacts::delete_tag(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/tags?saved=tag_deleted").into_response(),
        Err(e) => failed(&p, e, (String::new(), "#64748b".into())).await,
    }
}
