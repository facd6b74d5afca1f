//! Tasks ("Tarefas"): people create tasks for themselves or a colleague, with a due date and
//! time in the company's zone, optionally tied to a ticket and/or a contact, move them through
//! a fazer → em andamento → concluída, and comment on them. The `tasks.remind` job reminds the
//! assignee `remind_before_minutes` ahead and at the due time, each reminder once.
//!
//! Visibility: supervisors, admins and API tokens see the company's tasks; an agent sees the
//! tasks assigned to them, those they created, and those of tickets they may see (the inbox's
//! rule). Any other task answers "not found", as another company's does.
//!
//! Events: `task.created` (to the assignee) and `task.completed` (to the creator, else the
//! assignee) are live events and outgoing webhooks; `task.reminder` goes to the assignee alone.

use serde_json::json;

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::inbox::Viewer;
use crate::domain::tasks::{self as rules, Reminder, TaskStatus};
use crate::domain::{TenantId, UserId};
use crate::store::events::StoredEvent;
pub use crate::store::tasks::{Comment, Task};
use crate::store::tasks::{TaskFields, TaskFilter};
use crate::store::{self, Tx};

/// The live event (and webhook) of a new task.
pub const CREATED_EVENT: &str = "task.created";
/// The live event (and webhook) of a task that became done.
pub const COMPLETED_EVENT: &str = "task.completed";
/// The live event of a reminder; its audience is the assignee.
pub const REMINDER_EVENT: &str = "task.reminder";
/// Reminders one pass sends at most (the next minute's pass goes on).
const PASS_BUDGET: i64 = 500;
/// The longest list a page or an API call reads.
pub const MAX_LIST: i64 = 500;

fn invalid(code: &'static str, message: &str) -> ActionError {
    ActionError::invalid(code, message)
}

/// What people fill in to create or edit a task.
#[derive(Clone, Debug, Default)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    /// Local date and time in the company's zone: "2026-12-24T09:30".
    pub due: String,
    /// Minutes before the due time for the early reminder (0: only at the due time).
    pub remind_before_minutes: i64,
    /// The person responsible; default: the person creating it.
    pub assignee_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// Default with a ticket: the ticket's contact.
    pub contact_id: Option<i64>,
}

/// What a list holds.
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    pub assignee_id: Option<i64>,
    /// `todo`, `doing`, `done`, `open` (todo or doing) or `all` / none.
    pub status: Option<String>,
    /// `overdue`, `today` or `week` (the company's local day and week).
    pub when: Option<String>,
    pub due_before: Option<i64>,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// The API's pages: ids after this, in id order.
    pub after_id: Option<i64>,
    pub by_id: bool,
    pub limit: i64,
}

/// The company's time zone (São Paulo when unset or unknown), the one due times are typed in.
pub async fn zone<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    tenant: TenantId,
) -> ActionResult<chrono_tz::Tz> {
    let name = store::automation::time_zone(ex, tenant).await?;
    Ok(crate::domain::hours::parse_tz(&name).unwrap_or(chrono_tz::America::Sao_Paulo))
}

fn viewer(actor: &Actor, tenant: TenantId) -> ActionResult<Viewer> {
    crate::actions::inbox::viewer(actor, tenant)
}

/// Whether the viewer may see a task (see the module's rule).
async fn may_see(app: &App, viewer: &Viewer, t: &Task) -> ActionResult<bool> {
    if viewer.sees_whole_tenant() {
        return Ok(true);
    }
    let me = viewer.user.map(|u| u.0);
    if me == Some(t.assignee_id) || (me.is_some() && me == t.creator_id) {
        return Ok(true);
    }
    match t.ticket_id {
        Some(ticket) => Ok(store::inbox::get(app.db.reader(), viewer, ticket).await?.is_some()),
        None => Ok(false),
    }
}

/// A task the actor may see, or "not found".
pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Task> {
    let viewer = viewer(actor, tenant)?;
    let t = store::tasks::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    if !may_see(app, &viewer, &t).await? {
        return Err(ActionError::NotFound);
    }
    Ok(t)
}

fn statuses(status: Option<&str>) -> ActionResult<Vec<&'static str>> {
    match status.map(str::trim).unwrap_or("") {
        "" | "all" => Ok(Vec::new()),
        "open" => Ok(vec!["todo", "doing"]),
        s => TaskStatus::parse(s)
            .map(|k| vec![k.as_str()])
            .ok_or_else(|| invalid("invalid_task_status", "the status is todo, doing or done")),
    }
}

/// The tasks the actor may see that match the query, by due time (or by id for the API).
pub async fn list(app: &App, actor: &Actor, tenant: TenantId, q: &TaskQuery) -> ActionResult<Vec<Task>> {
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut filter = TaskFilter {
        visible_to: if viewer.sees_whole_tenant() { None } else { viewer.user.map(|u| u.0) },
        assignee_id: q.assignee_id,
        statuses: statuses(q.status.as_deref())?,
        due_before: q.due_before,
        ticket_id: q.ticket_id,
        contact_id: q.contact_id,
        after_id: q.after_id,
        by_id: q.by_id,
        limit: q.limit.clamp(1, MAX_LIST + 1),
        ..TaskFilter::default()
    };
    let window = match q.when.as_deref().map(str::trim).unwrap_or("") {
        "" | "all" => None,
        "overdue" => {
            if filter.statuses.is_empty() {
                filter.statuses = vec!["todo", "doing"];
            }
            Some((None, Some(now)))
        }
        "today" => rules::day_window(zone(app.db.reader(), tenant).await?, now).map(|(a, b)| (Some(a), Some(b))),
        "week" => rules::week_window(zone(app.db.reader(), tenant).await?, now).map(|(a, b)| (Some(a), Some(b))),
        _ => return Err(invalid("invalid_when", "the period is overdue, today or week")),
    };
    if let Some((from, before)) = window {
        filter.due_from = from;
        filter.due_before = match (filter.due_before, before) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(store::tasks::list(app.db.reader(), tenant, &filter).await?)
}

/// Checks a task's fields: the texts' lengths, the due time, the reminder, the assignee (an
/// active person of the company), the ticket (one the actor may see) and the contact.
async fn check(
    tx: &mut Tx,
    actor: &Actor,
    tenant: TenantId,
    input: &TaskInput,
    kept_ticket: Option<i64>,
) -> ActionResult<(i64, i64, Option<i64>, Option<i64>)> {
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > rules::TITLE_MAX {
        return Err(invalid("invalid_title", "the title has 1 to 200 characters"));
    }
    if input.description.chars().count() > rules::DESCRIPTION_MAX {
        return Err(invalid("invalid_task_description", "the description has at most 5000 characters"));
    }
    if !(0..=rules::REMIND_BEFORE_MAX).contains(&input.remind_before_minutes) {
        return Err(invalid("invalid_remind_before", "remind 0 to 10080 minutes (a week) before"));
    }
    let tz = zone(&mut **tx, tenant).await?;
    let due_at = rules::parse_due(tz, &input.due)
        .ok_or_else(|| invalid("invalid_due", "give the due date and time as 2026-12-24T09:30"))?;
    let assignee = match (input.assignee_id, actor.user_id()) {
        (Some(a), _) => a,
        (None, Some(me)) => me.0,
        (None, None) => return Err(invalid("unknown_assignee", "choose who the task is for")),
    };
    let person = store::users::get(&mut **tx, tenant, UserId(assignee)).await?;
    if !person.is_some_and(|p| p.active) {
        return Err(invalid("unknown_assignee", "the assignee is not an active person of the company"));
    }
    let viewer = viewer(actor, tenant)?;
    let mut contact_id = input.contact_id;
    match input.ticket_id {
        // The ticket the task already had stays, even when this person may not open it (the
        // task is theirs, the ticket someone else's).
        Some(ticket) if kept_ticket == Some(ticket) => {
            let t = store::tickets::get(&mut **tx, tenant, ticket)
                .await?
                .ok_or_else(|| invalid("unknown_ticket", "no such ticket"))?;
            contact_id = contact_id.or(Some(t.contact_id));
        }
        Some(ticket) => {
            let t = store::inbox::get(&mut **tx, &viewer, ticket)
                .await?
                .ok_or_else(|| invalid("unknown_ticket", "no such ticket"))?;
            contact_id = contact_id.or(Some(t.contact_id));
        }
        None => {}
    }
    if let Some(c) = contact_id {
        store::contacts::get(&mut **tx, tenant, c)
            .await?
            .ok_or_else(|| invalid("unknown_contact", "no such contact"))?;
    }
    Ok((due_at, assignee, input.ticket_id, contact_id))
}

/// Unix ms as RFC 3339 UTC (`2026-12-24T12:30:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn task_json(t: &Task) -> serde_json::Value {
    let at = rfc3339;
    json!({
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "status": t.status,
        "due_at": at(t.due_at),
        "remind_before_minutes": t.remind_before_minutes,
        "assignee_id": t.assignee_id,
        "creator_id": t.creator_id,
        "ticket_id": t.ticket_id,
        "contact_id": t.contact_id,
        "completed_at": t.completed_at.map(at),
        "created_at": at(t.created_at),
    })
}

async fn record_event(
    app: &App,
    tx: &mut Tx,
    kind: &str,
    audience: Audience,
    t: &Task,
    now: i64,
) -> ActionResult<StoredEvent> {
    let data = json!({ "task_id": t.id, "task": task_json(t) });
    Ok(app.bus.record(tx, t.tenant_id, kind, audience, data, now).await?)
}

/// Creates a task (status "a fazer"). A due time already past sends no reminder.
pub async fn create(app: &App, actor: &Actor, tenant: TenantId, input: TaskInput) -> ActionResult<Task> {
    actor.require_agent_in(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let (due_at, assignee_id, ticket_id, contact_id) = check(&mut tx, actor, tenant, &input, None).await?;
    let f = TaskFields {
        title: input.title.trim(),
        description: input.description.trim(),
        due_at,
        remind_before_minutes: input.remind_before_minutes,
        assignee_id,
        ticket_id,
        contact_id,
    };
    let reminded = (due_at <= now).then_some(now);
    let creator = actor.user_id().map(|u| u.0);
    let id = store::tasks::insert(&mut *tx, tenant, &f, creator, &actor.label(), reminded, now).await?;
    let details = json!({ "task_id": id, "assignee_id": assignee_id, "ticket_id": ticket_id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "task.created", "task", &details, now).await?;
    let t = store::tasks::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let event = record_event(app, &mut tx, CREATED_EVENT, Audience::User(UserId(assignee_id)), &t, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(t)
}

/// Edits a task's fields (its status moves with [`set_status`]). A new due time or early
/// minutes reminds again at the new moments.
pub async fn update(app: &App, actor: &Actor, tenant: TenantId, id: i64, input: TaskInput) -> ActionResult<Task> {
    actor.require_agent_in(tenant)?;
    let old = get(app, actor, tenant, id).await?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let (due_at, assignee_id, ticket_id, contact_id) = check(&mut tx, actor, tenant, &input, old.ticket_id).await?;
    let f = TaskFields {
        title: input.title.trim(),
        description: input.description.trim(),
        due_at,
        remind_before_minutes: input.remind_before_minutes,
        assignee_id,
        ticket_id,
        contact_id,
    };
    let moved = due_at != old.due_at || input.remind_before_minutes != old.remind_before_minutes;
    let reminders = if !moved {
        (old.early_reminded_at, old.reminded_at)
    } else if due_at <= now {
        (Some(now), Some(now))
    } else {
        (None, None)
    };
    if !store::tasks::update(&mut *tx, tenant, id, &f, reminders, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = json!({ "task_id": id, "assignee_id": assignee_id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "task.updated", "task", &details, now).await?;
    tx.commit().await?;
    // What it wrote, even when the edit handed the task to someone the agent no longer sees.
    store::tasks::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// Moves a task to `todo`, `doing` or `done`; becoming done sends `task.completed`.
pub async fn set_status(app: &App, actor: &Actor, tenant: TenantId, id: i64, status: &str) -> ActionResult<Task> {
    actor.require_agent_in(tenant)?;
    let to =
        TaskStatus::parse(status).ok_or_else(|| invalid("invalid_task_status", "the status is todo, doing or done"))?;
    let old = get(app, actor, tenant, id).await?;
    if old.status == to.as_str() {
        return Ok(old);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    if store::tasks::set_status(&mut *tx, tenant, id, to.as_str(), now).await? {
        let details = json!({ "task_id": id, "status": to.as_str() });
        store::audit::record(&mut *tx, tenant, &actor.label(), "task.status", "task", &details, now).await?;
        if to == TaskStatus::Done {
            let t = store::tasks::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
            let to_whom = UserId(t.creator_id.unwrap_or(t.assignee_id));
            events.push(record_event(app, &mut tx, COMPLETED_EVENT, Audience::User(to_whom), &t, now).await?);
        }
    }
    tx.commit().await?;
    app.bus.deliver(events);
    get(app, actor, tenant, id).await
}

/// Deletes a task: its creator, a supervisor or an admin (or a token with `write`).
pub async fn delete(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    let role = actor.require_agent_in(tenant)?;
    let t = get(app, actor, tenant, id).await?;
    let mine = actor.user_id().is_some_and(|me| Some(me.0) == t.creator_id);
    if !(mine || role.sees_whole_tenant()) {
        return Err(ActionError::Forbidden);
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::tasks::delete(&mut tx, tenant, id).await?;
    let details = json!({ "task_id": id, "title": t.title });
    store::audit::record(&mut *tx, tenant, &actor.label(), "task.deleted", "task", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A task's comments, oldest first (after comment `after`, at most `limit`).
pub async fn comments(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    after: Option<i64>,
    limit: i64,
) -> ActionResult<Vec<Comment>> {
    get(app, actor, tenant, id).await?;
    Ok(store::tasks::comments(app.db.reader(), tenant, id, after, limit.clamp(1, MAX_LIST + 1)).await?)
}

/// Adds a comment to a task the actor may see.
pub async fn add_comment(app: &App, actor: &Actor, tenant: TenantId, id: i64, body: &str) -> ActionResult<Comment> {
    actor.require_agent_in(tenant)?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > rules::COMMENT_MAX {
        return Err(invalid("invalid_comment", "a comment has 1 to 4000 characters"));
    }
    get(app, actor, tenant, id).await?;
    let now = app.clock.now_ms();
    let author = match actor {
        Actor::User(u) => u.name.clone(),
        Actor::Token(t) => format!("API: {}", t.name),
        Actor::Operator => "operator".into(),
    };
    let comment_id =
        store::tasks::add_comment(app.db.writer(), tenant, id, actor.user_id().map(|u| u.0), &author, body, now)
            .await?;
    let list = store::tasks::comments(app.db.writer(), tenant, id, Some(comment_id - 1), 1).await?;
    list.into_iter().next().ok_or(ActionError::NotFound)
}

/// The reminder scan (the `tasks.remind` job, once a minute): every task not done whose early
/// reminder or due time came is reminded once, to its assignee; returns how many were sent.
pub async fn remind_due(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now_ms();
    let mut sent = 0;
    for _ in 0..10 {
        let due = store::tasks::due_reminders(app.db.reader(), now, PASS_BUDGET).await?;
        for t in &due {
            if remind(app, t, now).await? {
                sent += 1;
            }
        }
        if (due.len() as i64) < PASS_BUDGET {
            break;
        }
    }
    Ok(sent)
}

/// Sends one task's due reminder; false when there was none or another run sent it first.
async fn remind(app: &App, t: &Task, now: i64) -> anyhow::Result<bool> {
    let early = t.early_reminded_at.is_some();
    let Some(which) = rules::reminder_due(t.due_at, t.remind_before_minutes, early, t.reminded_at.is_some(), now)
    else {
        return Ok(false);
    };
    let moment = match which {
        Reminder::Before => t.due_at - t.remind_before_minutes * 60_000,
        Reminder::Due => t.due_at,
    };
    let mut tx = app.db.begin().await?;
    if !store::tasks::mark_reminded(&mut *tx, t.tenant_id, t.id, t.due_at, which == Reminder::Due, now).await? {
        return Ok(false);
    }
    if now - moment > rules::STALE_MS {
        // Found long after its moment (an outage): settled without a burst of old reminders.
        tx.commit().await?;
        return Ok(false);
    }
    let tz = zone(&mut *tx, t.tenant_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let due_local = crate::domain::hours::wall_clock(tz, t.due_at)
        .map(|d| d.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default();
    let data = json!({ "task_id": t.id, "title": t.title, "stage": which.as_str(),
        "minutes": t.remind_before_minutes, "due_at": rfc3339(t.due_at),
        "due_local": due_local, "assignee_id": t.assignee_id });
    let audience = Audience::User(UserId(t.assignee_id));
    let event = app.bus.record(&mut tx, t.tenant_id, REMINDER_EVENT, audience, data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(true)
}

/// The demo company's sample tasks (only into a company with none): one due in an hour with a
/// reminder 15 minutes ahead, and one overdue, so the list shows both.
pub async fn seed_demo(app: &App, tenant: TenantId) -> anyhow::Result<()> {
    if store::tasks::count(app.db.reader(), tenant).await? > 0 {
        return Ok(());
    }
    let users = store::users::list(app.db.reader(), tenant).await?;
    let admin = users.iter().find(|u| u.active && u.role.can_manage_tenant()).or(users.iter().find(|u| u.active));
    let Some(admin) = admin.cloned() else { return Ok(()) };
    let tz = zone(app.db.reader(), tenant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = app.clock.now_ms();
    let actor = Actor::User(admin);
    let samples = [
        ("Ligar para o cliente sobre o orçamento", "Confirmar valores e prazo de entrega.", now + 3_600_000, 15),
        ("Enviar segunda via do boleto", "O cliente pediu pelo WhatsApp.", now - 2 * 3_600_000, 0),
    ];
    for (title, description, due, before) in samples {
        let input = TaskInput {
            title: title.into(),
            description: description.into(),
            due: rules::format_due(tz, due),
            remind_before_minutes: before,
            ..TaskInput::default()
        };
        create(app, &actor, tenant, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
