-- Tarefas: a task of the company, assigned to one person, optionally tied to a ticket and/or a
-- contact. Times are Unix ms; `due_at` is the instant of the due date and time typed in the
-- company's zone. `early_reminded_at` / `reminded_at` record the reminder sent
-- `remind_before_minutes` ahead and the one at the due time (each once; NULL = not yet).
CREATE TABLE tasks (
    id {{PK}},
    tenant_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    remind_before_minutes BIGINT NOT NULL,
    early_reminded_at BIGINT,
    reminded_at BIGINT,
    assignee_id BIGINT NOT NULL,
    creator_id BIGINT,
    created_by TEXT NOT NULL,
    ticket_id BIGINT,
    contact_id BIGINT,
    completed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_due ON tasks (tenant_id, status, due_at);
CREATE INDEX tasks_assignee ON tasks (tenant_id, assignee_id);
CREATE INDEX tasks_ticket ON tasks (tenant_id, ticket_id);
CREATE INDEX tasks_contact ON tasks (tenant_id, contact_id);
CREATE INDEX tasks_remind ON tasks (reminded_at, due_at);
CREATE TABLE task_comments (
    id {{PK}},
    tenant_id BIGINT NOT NULL,
    task_id BIGINT NOT NULL,
    author_id BIGINT,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments (tenant_id, task_id, id);
