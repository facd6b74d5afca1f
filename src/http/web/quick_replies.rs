//! The quick replies page ("Respostas rápidas"): the list, create, edit and delete. Handlers
//! only read forms and call actions; every rule lives in the actions.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::require;
use super::pages::{EmptyForm, NoticeQuery};
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::quick_replies::QuickReplyInput;
use crate::actions::{self, ActionError};
use crate::store::departments::Department;
use crate::store::quick_replies::QuickReply;

pub struct QuickReplyForm {
    shortcut: String,
    body: String,
    department_id: Option<i64>,
}

impl QuickReplyForm {
    fn in_department(&self, id: &i64) -> bool {
        self.department_id == Some(*id)
    }
}

#[derive(Deserialize)]
pub struct QuickReplyFields {
    shortcut: String,
    body: String,
    #[serde(default)]
    department_id: String,
}

impl QuickReplyFields {
    fn department(&self) -> Option<i64> {
        self.department_id.trim().parse().ok()
    }

    fn input(&self) -> Result<QuickReplyInput, ActionError> {
        let department_id = match self.department_id.trim() {
            "" => None,
            s => Some(s.parse().map_err(|_| ActionError::invalid("unknown_department", "unknown department"))?),
        };
        Ok(QuickReplyInput { department_id, shortcut: self.shortcut.clone(), body: self.body.clone() })
    }

    fn shown(&self) -> QuickReplyForm {
        QuickReplyForm { shortcut: self.shortcut.clone(), body: self.body.clone(), department_id: self.department() }
    }
}

#[derive(Template)]
#[template(path = "quick_replies.html")]
struct QuickRepliesPage {
    layout: Layout,
    replies: Vec<QuickReply>,
    departments: Vec<Department>,
    form: QuickReplyForm,
    notice: Option<String>,
    error: Option<String>,
}

impl QuickRepliesPage {
    fn department_name(&self, id: &Option<i64>) -> String {
        match id {
            None => self.layout.t("qr.all_departments").to_string(),
            Some(id) => self.departments.iter().find(|d| d.id == *id).map(|d| d.name.clone()).unwrap_or_default(),
        }
    }
}

async fn quick_replies_page(p: &Page, form: QuickReplyForm, notice: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.quick_replies", "/admin/quick-replies");
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        require(p.user.user.role.sees_whole_tenant())?;
        let replies = actions::quick_replies::list_quick_replies(&p.app, &actor, tenant).await?;
        let departments = actions::departments::list_departments(&p.app, &actor, tenant).await?;
        Ok::<_, ActionError>((replies, departments))
    }
    .await;
    match result {
        Ok((replies, departments)) => render(QuickRepliesPage { layout, replies, departments, form, notice, error }),
        Err(e) => p.failure(&e),
    }
}

fn blank_quick_reply() -> QuickReplyForm {
    QuickReplyForm { shortcut: String::new(), body: String::new(), department_id: None }
}

pub async fn list_quick_replies(p: Page, Query(q): Query<NoticeQuery>) -> Response {
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    quick_replies_page(&p, blank_quick_reply(), notice, None).await
}

pub async fn create_quick_reply(p: Page, CsrfForm(form): CsrfForm<QuickReplyFields>) -> Response {
    let result = match form.input() {
        Ok(input) => actions::quick_replies::create_quick_reply(&p.app, &p.actor(), p.tenant(), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(q) => {
            let notice = Some(p.lang().t("saved.quick_reply_created").replace("{shortcut}", &q.shortcut));
            quick_replies_page(&p, blank_quick_reply(), notice, None).await
        }
        Err(e) => {
            let status = error_status(&e);
            let error = Some(error_message(p.lang(), &e));
            (status, quick_replies_page(&p, form.shown(), None, error).await).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "quick_reply_edit.html")]
struct QuickReplyEditPage {
    layout: Layout,
    id: i64,
    departments: Vec<Department>,
    form: QuickReplyForm,
    error: Option<String>,
}

async fn quick_reply_page(p: &Page, id: i64, typed: Option<QuickReplyForm>, error: Option<String>) -> Response {
    let layout = p.layout("nav.quick_replies", "/admin/quick-replies");
    let actor = p.actor();
    let tenant = p.tenant();
    let result = async {
        require(p.user.user.role.sees_whole_tenant())?;
        let reply = actions::quick_replies::list_quick_replies(&p.app, &actor, tenant)
            .await?
            .into_iter()
            .find(|q| q.id == id)
            .ok_or(ActionError::NotFound)?;
        let departments = actions::departments::list_departments(&p.app, &actor, tenant).await?;
        Ok::<_, ActionError>((reply, departments))
    }
    .await;
    match result {
        Ok((reply, departments)) => {
            let form = typed.unwrap_or(QuickReplyForm {
                shortcut: reply.shortcut,
                body: reply.body,
                department_id: reply.department_id,
            });
            render(QuickReplyEditPage { layout, id, departments, form, error })
        }
        Err(e) => p.failure(&e),
    }
}

pub async fn edit_quick_reply(p: Page, Path(id): Path<i64>) -> Response {
    quick_reply_page(&p, id, None, None).await
}

pub async fn update_quick_reply(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<QuickReplyFields>) -> Response {
    let result = match form.input() {
        Ok(input) => actions::quick_replies::update_quick_reply(&p.app, &p.actor(), p.tenant(), id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/admin/quick-replies?saved=quick_reply_saved").into_response(),
        Err(ActionError::NotFound) => p.failure(&ActionError::NotFound),
        Err(e) => {
            let status = error_status(&e);
            let error = Some(error_message(p.lang(), &e));
            (status, quick_reply_page(&p, id, Some(form.shown()), error).await).into_response()
        }
    }
}

pub async fn delete_quick_reply(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::quick_replies::delete_quick_reply(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/admin/quick-replies?saved=quick_reply_deleted").into_response(),
        Err(e) => p.failure(&e),
    }
}
