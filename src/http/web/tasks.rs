//! "Tarefas": "Minhas tarefas" and the team's list with filters (overdue, today, this week,
//! assignee, status), a task's page (edit, status, comments, delete), the new-task form
//! (prefilled from a ticket with `?ticket=`), and the blocks the ticket panel and the contact
//! page show. For every person of the company; what each sees is `actions::tasks`' rule.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::i18n::Lang;
use super::pages::EmptyForm;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions::tasks::{self, Comment, Task, TaskInput, TaskQuery};
use crate::actions::{self, ActionError};
use crate::domain::tasks::{format_due, is_overdue};

/// The sidebar's icon: a clipboard with a tick.
pub const ICON: &str = r#"<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><rect x="5" y="4" width="14" height="17" rx="2"/><path d="M9 4V3h6v1M9 13l2 2 4-4"/></svg>"#;

/// One task in a list, in words.
pub struct TaskRow {
    pub id: i64,
    pub title: String,
    pub due: String,
    pub status_key: String,
    pub status: String,
    pub assignee: String,
    /// The ticket's protocol and/or the contact's name.
    pub link: String,
    pub overdue: bool,
}

fn status_label(lang: Lang, status: &str) -> &'static str {
    lang.t(match status {
        "doing" => "tasks.status.doing",
        "done" => "tasks.status.done",
        _ => "tasks.status.todo",
    })
}

fn row(lang: Lang, tz: chrono_tz::Tz, now: i64, t: Task) -> TaskRow {
    let due = crate::domain::hours::wall_clock(tz, t.due_at)
        .map(|d| d.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default();
    let mut link = Vec::new();
    if let Some(p) = t.ticket_protocol.clone().or(t.ticket_id.map(|i| format!("#{i}"))) {
        link.push(p);
    }
    if let Some(c) = t.contact_name.clone().filter(|c| !c.trim().is_empty()) {
        link.push(c);
    }
    TaskRow {
        id: t.id,
        overdue: is_overdue(&t.status, t.due_at, now),
        status: status_label(lang, &t.status).to_string(),
        status_key: t.status,
        title: t.title,
        due,
        assignee: t.assignee_name.unwrap_or_else(|| format!("#{}", t.assignee_id)),
        link: link.join(" · "),
    }
}

/// The tasks block of the ticket panel and of the contact page.
#[derive(Template)]
#[template(path = "tasks_block.html")]
struct Block {
    lang: Lang,
    rows: Vec<TaskRow>,
    new_href: String,
    /// The contact page's card (else the ticket panel's block).
    card: bool,
}

async fn block_html(p: &Page, q: TaskQuery, new_href: String, card: bool) -> String {
    let lang = p.lang();
    let now = p.app.clock.now_ms();
    let rows = match tasks::list(&p.app, &p.actor(), p.tenant(), &q).await {
        Ok(list) => list.into_iter().map(|t| row(lang, p.tz(), now, t)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing a block's tasks failed");
            Vec::new()
        }
    };
    Block { lang, rows, new_href, card }.render().unwrap_or_default()
}

/// The ticket's tasks and its "Nova tarefa" (the form prefilled with the ticket and its contact).
pub async fn ticket_panel_html(p: &Page, ticket_id: i64) -> String {
    let q = TaskQuery { ticket_id: Some(ticket_id), limit: 50, ..TaskQuery::default() };
    block_html(p, q, format!("/tasks/new?ticket={ticket_id}"), false).await
}

/// The contact's tasks and a "Nova tarefa" for them.
pub async fn contact_html(p: &Page, contact_id: i64) -> String {
    let q = TaskQuery { contact_id: Some(contact_id), limit: 50, ..TaskQuery::default() };
    block_html(p, q, format!("/tasks/new?contact={contact_id}"), true).await
}

#[derive(Default, Deserialize)]
pub struct ListQuery {
    /// `team` for the team's list; else "Minhas tarefas".
    #[serde(default)]
    view: String,
    #[serde(default)]
    when: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct ListPage {
    layout: Layout,
    team: bool,
    when: String,
    status: String,
    assignee: String,
    people: Vec<(i64, String)>,
    rows: Vec<TaskRow>,
    notice: Option<String>,
    error: Option<String>,
}

pub async fn list(p: Page, Query(q): Query<ListQuery>) -> Response {
    let layout = p.layout("nav.tasks", "/tasks");
    let (actor, tenant) = (p.actor(), p.tenant());
    let team = q.view == "team";
    let status = if q.status.is_empty() { "open".to_string() } else { q.status.clone() };
    let assignee_id = if team { q.assignee.trim().parse().ok() } else { Some(p.user.user.id.0) };
    let query = TaskQuery {
        assignee_id,
        status: Some(status.clone()),
        when: Some(q.when.clone()),
        limit: tasks::MAX_LIST,
        ..TaskQuery::default()
    };
    let people = match actions::wallet::owner_choices(&p.app, &actor, tenant).await {
        Ok(people) => people,
        Err(e) => return p.failure(&e),
    };
    let now = p.app.clock.now_ms();
    let (rows, error) = match tasks::list(&p.app, &actor, tenant, &query).await {
        Ok(list) => (list.into_iter().map(|t| row(p.lang(), layout.tz, now, t)).collect(), None),
        Err(e @ ActionError::Invalid { .. }) => (Vec::new(), Some(error_message(p.lang(), &e))),
        Err(e) => return p.failure(&e),
    };
    let notice = super::saved_notice(p.lang(), q.saved.as_deref());
    let page = ListPage { layout, team, when: q.when, status, assignee: q.assignee, people, rows, notice, error };
    let code =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (code, render(page)).into_response()
}

/// The form's fields as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    remind_before: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    contact: String,
}

impl TaskForm {
    fn input(&self) -> TaskInput {
        let id = |s: &str| s.trim().parse::<i64>().ok().filter(|i| *i > 0);
        TaskInput {
            title: self.title.clone(),
            description: self.description.clone(),
            due: self.due.clone(),
            remind_before_minutes: match self.remind_before.trim() {
                "" => 0,
                typed => typed.parse().unwrap_or(-1),
            },
            assignee_id: id(&self.assignee),
            ticket_id: id(&self.ticket),
            contact_id: id(&self.contact),
        }
    }

    fn of(t: &Task, tz: chrono_tz::Tz) -> TaskForm {
        TaskForm {
            title: t.title.clone(),
            description: t.description.clone(),
            due: format_due(tz, t.due_at),
            remind_before: t.remind_before_minutes.to_string(),
            assignee: t.assignee_id.to_string(),
            ticket: t.ticket_id.map(|i| i.to_string()).unwrap_or_default(),
            contact: t.contact_id.map(|i| i.to_string()).unwrap_or_default(),
        }
    }

    /// The early-reminder choices, with the one typed kept when it is another.
    fn remind_choices(&self) -> Vec<(String, &'static str)> {
        let mut out = vec![
            ("0".to_string(), "tasks.remind.0"),
            ("15".to_string(), "tasks.remind.15"),
            ("60".to_string(), "tasks.remind.60"),
            ("1440".to_string(), "tasks.remind.1440"),
        ];
        let typed = self.remind_before.trim();
        if !typed.is_empty() && !out.iter().any(|(v, _)| v == typed) && typed.parse::<i64>().is_ok() {
            out.push((typed.to_string(), "tasks.remind.other"));
        }
        out
    }
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    layout: Layout,
    form: TaskForm,
    people: Vec<(i64, String)>,
    /// The task shown (`None`: the new-task form).
    task: Option<TaskRow>,
    /// What the ticket and contact fields point at, in words.
    linked: String,
    comments: Vec<(Comment, String)>,
    can_delete: bool,
    notice: Option<String>,
    error: Option<String>,
}

impl TaskPage {
    fn status_label(&self, key: &str) -> &'static str {
        status_label(self.layout.lang, key)
    }

    /// Whether the task shown is at this status (its button is the pressed one).
    fn is_status(&self, key: &str) -> bool {
        self.task.as_ref().is_some_and(|t| t.status_key == key)
    }
}

async fn form_page(
    p: &Page,
    form: TaskForm,
    task: Option<Task>,
    notice: Option<String>,
    error: Option<&ActionError>,
) -> Response {
    let title = if task.is_some() { "tasks.task" } else { "tasks.new" };
    let layout = p.layout(title, "/tasks");
    let (actor, tenant) = (p.actor(), p.tenant());
    let people = match actions::wallet::owner_choices(&p.app, &actor, tenant).await {
        Ok(people) => people,
        Err(e) => return p.failure(&e),
    };
    let comments = match &task {
        Some(t) => match tasks::comments(&p.app, &actor, tenant, t.id, None, tasks::MAX_LIST).await {
            Ok(list) => list.into_iter().map(|c| (c.clone(), layout.datetime(&c.created_at))).collect(),
            Err(e) => return p.failure(&e),
        },
        None => Vec::new(),
    };
    let can_delete =
        task.as_ref().is_some_and(|t| p.user.user.role.sees_whole_tenant() || t.creator_id == Some(p.user.user.id.0));
    let mut linked = Vec::new();
    if let Some(ticket) = form.ticket.trim().parse::<i64>().ok().filter(|i| *i > 0) {
        let protocol = task.as_ref().and_then(|t| t.ticket_protocol.clone());
        let protocol = match protocol {
            Some(p) => p,
            None => actions::inbox::get_ticket(&p.app, &actor, tenant, ticket)
                .await
                .ok()
                .and_then(|d| d.ticket.protocol)
                .unwrap_or_else(|| format!("#{ticket}")),
        };
        linked.push(format!("{} {protocol}", layout.t("tasks.ticket")));
    }
    if let Some(contact) = form.contact.trim().parse::<i64>().ok().filter(|i| *i > 0) {
        if let Ok(c) = actions::contacts::get_contact(&p.app, &actor, tenant, contact).await {
            linked.push(format!("{} {}", layout.t("tasks.contact"), c.contact.name));
        }
    }
    let now = p.app.clock.now_ms();
    let page = TaskPage {
        task: task.map(|t| row(layout.lang, layout.tz, now, t)),
        linked: linked.join(" · "),
        layout,
        form,
        people,
        comments,
        can_delete,
        notice,
        error: error.map(|e| error_message(p.lang(), e)),
    };
    match error {
        Some(e) => (error_status(e), render(page)).into_response(),
        None => render(page),
    }
}

#[derive(Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    ticket: Option<String>,
    #[serde(default)]
    contact: Option<String>,
}

/// `GET /tasks/new`: the form; `?ticket=` links the ticket and its contact, `?contact=` one contact.
pub async fn new_form(p: Page, Query(q): Query<NewQuery>) -> Response {
    let tz = p.tz();
    let due = format_due(tz, (p.app.clock.now_ms() / 3_600_000 + 2) * 3_600_000);
    let mut form =
        TaskForm { due, remind_before: "15".into(), assignee: p.user.user.id.0.to_string(), ..TaskForm::default() };
    let id = |s: &Option<String>| s.as_deref().and_then(|s| s.trim().parse::<i64>().ok()).filter(|i| *i > 0);
    if let Some(ticket) = id(&q.ticket) {
        match actions::inbox::get_ticket(&p.app, &p.actor(), p.tenant(), ticket).await {
            Ok(d) => {
                form.ticket = ticket.to_string();
                form.contact = d.ticket.contact_id.to_string();
            }
            Err(e) => return p.failure(&e),
        }
    } else if let Some(contact) = id(&q.contact) {
        match actions::contacts::get_contact(&p.app, &p.actor(), p.tenant(), contact).await {
            Ok(c) => form.contact = c.contact.id.to_string(),
            Err(e) => return p.failure(&e),
        }
    }
    form_page(&p, form, None, None, None).await
}

pub async fn create(p: Page, CsrfForm(form): CsrfForm<TaskForm>) -> Response {
    match tasks::create(&p.app, &p.actor(), p.tenant(), form.input()).await {
        Ok(t) => Redirect::to(&format!("/tasks/{}?saved=task_created", t.id)).into_response(),
        Err(e) => form_page(&p, form, None, None, Some(&e)).await,
    }
}

#[derive(Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn show(p: Page, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> Response {
    match tasks::get(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(t) => {
            let notice = super::saved_notice(p.lang(), q.saved.as_deref());
            form_page(&p, TaskForm::of(&t, p.tz()), Some(t), notice, None).await
        }
        Err(e) => p.failure(&e),
    }
}

/// A failed post on a task's page: the page again with the error (or the failure page when
/// the task cannot be read).
async fn failed(p: &Page, id: i64, form: Option<TaskForm>, e: ActionError) -> Response {
    match tasks::get(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(t) => {
            let form = form.unwrap_or_else(|| TaskForm::of(&t, p.tz()));
            form_page(p, form, Some(t), None, Some(&e)).await
        }
        Err(_) => p.failure(&e),
    }
}

pub async fn update(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<TaskForm>) -> Response {
    match tasks::update(&p.app, &p.actor(), p.tenant(), id, form.input()).await {
        Ok(_) => Redirect::to(&format!("/tasks/{id}?saved=task_saved")).into_response(),
        Err(e) => failed(&p, id, Some(form), e).await,
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

pub async fn set_status(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<StatusForm>) -> Response {
    match tasks::set_status(&p.app, &p.actor(), p.tenant(), id, &form.status).await {
        Ok(_) => Redirect::to(&format!("/tasks/{id}?saved=task_status")).into_response(),
        Err(e) => failed(&p, id, None, e).await,
    }
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

pub async fn comment(p: Page, Path(id): Path<i64>, CsrfForm(form): CsrfForm<CommentForm>) -> Response {
    match tasks::add_comment(&p.app, &p.actor(), p.tenant(), id, &form.body).await {
        Ok(_) => Redirect::to(&format!("/tasks/{id}?saved=task_comment#comments")).into_response(),
        Err(e) => failed(&p, id, None, e).await,
    }
}

pub async fn delete(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match tasks::delete(&p.app, &p.actor(), p.tenant(), id).await {
        Ok(()) => Redirect::to("/tasks?saved=task_deleted").into_response(),
        Err(e) => failed(&p, id, None, e).await,
    }
}

pub fn routes() -> axum::Router<std::sync::Arc<crate::app::App>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/tasks", get(list).post(create))
        .route("/tasks/new", get(new_form))
        .route("/tasks/{id}", get(show).post(update))
        .route("/tasks/{id}/status", post(set_status))
        .route("/tasks/{id}/comments", post(comment))
        .route("/tasks/{id}/delete", post(delete))
}
