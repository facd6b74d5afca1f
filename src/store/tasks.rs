//! Tasks and their comments (migration 0036). Every query names the tenant, but [`due_reminders`],
//! the reminder scan's walk over every company's tasks.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// One task as stored, with the names the pages show.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Task {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub title: String,
    pub description: String,
    /// `todo`, `doing` or `done`.
    pub status: String,
    pub due_at: i64,
    pub remind_before_minutes: i64,
    pub early_reminded_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub assignee_id: i64,
    /// The person who created it (`None`: an API token or the operator).
    pub creator_id: Option<i64>,
    /// The audit label of its creator (`user:3`, `token:7`).
    pub created_by: String,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub assignee_name: Option<String>,
    pub creator_name: Option<String>,
    pub contact_name: Option<String>,
    pub ticket_protocol: Option<String>,
}

/// What a create or an edit writes.
#[derive(Clone, Debug)]
pub struct TaskFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub due_at: i64,
    pub remind_before_minutes: i64,
    pub assignee_id: i64,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
}

/// A comment on a task.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Comment {
    pub id: i64,
    pub task_id: i64,
    pub author_id: Option<i64>,
    /// The author's name (a token's label when no person wrote it).
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

const SELECT: &str = "SELECT k.id, k.tenant_id, k.title, k.description, k.status, k.due_at, k.remind_before_minutes,
    k.early_reminded_at, k.reminded_at, k.assignee_id, k.creator_id, k.created_by, k.ticket_id, k.contact_id,
    k.completed_at, k.created_at, k.updated_at, a.name AS assignee_name, c.name AS creator_name,
    p.name AS contact_name, t.protocol AS ticket_protocol
    FROM tasks k
    LEFT JOIN users a ON a.tenant_id = k.tenant_id AND a.id = k.assignee_id
    LEFT JOIN users c ON c.tenant_id = k.tenant_id AND c.id = k.creator_id
    LEFT JOIN contacts p ON p.tenant_id = k.tenant_id AND p.id = k.contact_id
    LEFT JOIN tickets t ON t.tenant_id = k.tenant_id AND t.id = k.ticket_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Task, sqlx::Error> {
    Ok(Task {
        id: r.try_get(0)?,
        tenant_id: TenantId(r.try_get(1)?),
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        status: r.try_get(4)?,
        due_at: r.try_get(5)?,
        remind_before_minutes: r.try_get(6)?,
        early_reminded_at: r.try_get(7)?,
        reminded_at: r.try_get(8)?,
        assignee_id: r.try_get(9)?,
        creator_id: r.try_get(10)?,
        created_by: r.try_get(11)?,
        ticket_id: r.try_get(12)?,
        contact_id: r.try_get(13)?,
        completed_at: r.try_get(14)?,
        created_at: r.try_get(15)?,
        updated_at: r.try_get(16)?,
        assignee_name: r.try_get(17)?,
        creator_name: r.try_get(18)?,
        contact_name: r.try_get(19)?,
        ticket_protocol: r.try_get(20)?,
    })
}

/// Inserts a task; `reminded` marks reminders as already settled (a task created past due).
#[allow(clippy::too_many_arguments)]
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &TaskFields<'_>,
    creator_id: Option<i64>,
    created_by: &str,
    reminded: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO tasks (tenant_id, title, description, status, due_at, remind_before_minutes, early_reminded_at,
             reminded_at, assignee_id, creator_id, created_by, ticket_id, contact_id, created_at, updated_at)
         VALUES ($1, $2, $3, 'todo', $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, $12)
         RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.title)
    .bind(f.description)
    .bind(f.due_at)
    .bind(f.remind_before_minutes)
    .bind(reminded)
    .bind(f.assignee_id)
    .bind(creator_id)
    .bind(created_by)
    .bind(f.ticket_id)
    .bind(f.contact_id)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// Rewrites a task's fields; `reminders` are the new reminder marks (cleared when the due time
/// or the early minutes changed, so the new moments remind again).
pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    f: &TaskFields<'_>,
    reminders: (Option<i64>, Option<i64>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tasks SET title = $3, description = $4, due_at = $5, remind_before_minutes = $6, assignee_id = $7,
             ticket_id = $8, contact_id = $9, early_reminded_at = $10, reminded_at = $11, updated_at = $12
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(f.title)
    .bind(f.description)
    .bind(f.due_at)
    .bind(f.remind_before_minutes)
    .bind(f.assignee_id)
    .bind(f.ticket_id)
    .bind(f.contact_id)
    .bind(reminders.0)
    .bind(reminders.1)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a task to `status` from another one; `completed_at` is set when it becomes done.
pub async fn set_status<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    status: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tasks SET status = $3, updated_at = $4,
             completed_at = CASE WHEN $3 = 'done' THEN $4 ELSE NULL END
         WHERE tenant_id = $1 AND id = $2 AND status <> $3",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(status)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a task and its comments.
pub async fn delete(tx: &mut super::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM task_comments WHERE tenant_id = $1 AND task_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM tasks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Task>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE k.tenant_id = $1 AND k.id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// Which tasks a list holds. `visible_to`: an agent's id (their own, the ones they created, and
/// those of tickets they may see); `None` for the whole company.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub visible_to: Option<i64>,
    pub assignee_id: Option<i64>,
    /// Exactly these statuses (empty: any).
    pub statuses: Vec<&'static str>,
    pub due_from: Option<i64>,
    pub due_before: Option<i64>,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Only ids above this (the API's cursor), in id order; otherwise by due time.
    pub after_id: Option<i64>,
    pub by_id: bool,
    pub limit: i64,
}

enum Arg {
    Int(i64),
    Text(&'static str),
}

pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &TaskFilter,
) -> Result<Vec<Task>, sqlx::Error> {
    let mut args = vec![Arg::Int(tenant.0)];
    let mut sql = format!("{SELECT} WHERE k.tenant_id = $1");
    let push = |sql: &mut String, args: &mut Vec<Arg>, condition: &str, a: Arg| {
        args.push(a);
        sql.push_str(&condition.replace("{}", &format!("${}", args.len())));
    };
    if let Some(u) = f.visible_to {
        push(
            &mut sql,
            &mut args,
            " AND (k.assignee_id = {} OR k.creator_id = {} OR k.ticket_id IN (SELECT v.id FROM tickets v
                WHERE v.tenant_id = $1 AND (v.assignee_id = {} OR (v.status = 'waiting' AND (v.department_id IS NULL
                  OR v.department_id IN (SELECT dm.department_id FROM department_members dm
                    WHERE dm.tenant_id = $1 AND dm.user_id = {}))))))",
            Arg::Int(u),
        );
    }
    if let Some(a) = f.assignee_id {
        push(&mut sql, &mut args, " AND k.assignee_id = {}", Arg::Int(a));
    }
    if !f.statuses.is_empty() {
        sql.push_str(" AND k.status IN (");
        for (i, s) in f.statuses.iter().enumerate() {
            push(&mut sql, &mut args, if i == 0 { "{}" } else { ", {}" }, Arg::Text(s));
        }
        sql.push(')');
    }
    if let Some(t) = f.due_from {
        push(&mut sql, &mut args, " AND k.due_at >= {}", Arg::Int(t));
    }
    if let Some(t) = f.due_before {
        push(&mut sql, &mut args, " AND k.due_at < {}", Arg::Int(t));
    }
    if let Some(t) = f.ticket_id {
        push(&mut sql, &mut args, " AND k.ticket_id = {}", Arg::Int(t));
    }
    if let Some(c) = f.contact_id {
        push(&mut sql, &mut args, " AND k.contact_id = {}", Arg::Int(c));
    }
    if let Some(a) = f.after_id {
        push(&mut sql, &mut args, " AND k.id > {}", Arg::Int(a));
    }
    sql.push_str(if f.by_id { " ORDER BY k.id" } else { " ORDER BY k.due_at, k.id" });
    push(&mut sql, &mut args, " LIMIT {}", Arg::Int(f.limit));
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(s) => q.bind(s),
        };
    }
    q.fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Tasks not done with a reminder due at `now` (either one), every company's, oldest first.
pub async fn due_reminders<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let sql = format!(
        "{SELECT} WHERE k.status <> 'done' AND ((k.reminded_at IS NULL AND k.due_at <= $1)
           OR (k.early_reminded_at IS NULL AND k.remind_before_minutes > 0
               AND k.due_at - k.remind_before_minutes * 60000 <= $1 AND k.reminded_at IS NULL))
         ORDER BY k.due_at, k.id LIMIT $2"
    );
    sqlx::query(&sql).bind(now).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Marks a reminder as sent, once: false when another run marked it first (or the task moved
/// on: done, or another due time). The due-time mark settles the early one too.
pub async fn mark_reminded<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    due_at: i64,
    due_time: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql = if due_time {
        "UPDATE tasks SET reminded_at = $4, early_reminded_at = COALESCE(early_reminded_at, $4)
         WHERE tenant_id = $1 AND id = $2 AND due_at = $3 AND reminded_at IS NULL AND status <> 'done'"
    } else {
        "UPDATE tasks SET early_reminded_at = $4
         WHERE tenant_id = $1 AND id = $2 AND due_at = $3 AND early_reminded_at IS NULL AND status <> 'done'"
    };
    let done = sqlx::query(sql).bind(tenant.0).bind(id).bind(due_at).bind(now).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn add_comment<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    task_id: i64,
    author_id: Option<i64>,
    author: &str,
    body: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO task_comments (tenant_id, task_id, author_id, author, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(task_id)
    .bind(author_id)
    .bind(author)
    .bind(body)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// A task's comments, oldest first, after comment `after` (the API's cursor).
pub async fn comments<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    task_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Comment>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.id, m.task_id, m.author_id, COALESCE(u.name, m.author), m.body, m.created_at
         FROM task_comments m LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.author_id
         WHERE m.tenant_id = $1 AND m.task_id = $2 AND m.id > $3 ORDER BY m.id LIMIT $4",
    )
    .bind(tenant.0)
    .bind(task_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                id: r.try_get(0)?,
                task_id: r.try_get(1)?,
                author_id: r.try_get(2)?,
                author: r.try_get(3)?,
                body: r.try_get(4)?,
                created_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// How many tasks a company has (the demo seeds its samples only into none).
pub async fn count<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE tenant_id = $1").bind(tenant.0).fetch_one(ex).await
}
