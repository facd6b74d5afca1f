-- Scheduled messages ("agendamentos", issue 14). Version 23 belongs to this branch.
-- A schedule: a text to one contact, once or repeating, in the company's time zone. The rule is
-- stored as people wrote it (local start, kind, weekdays bits Mon=1…Sun=64, day of month, end
-- date or count); `slot_at` is the next occurrence the rule gives and `run_at` when it goes
-- (later than the slot when it waits for business hours). Status: active, paused, cancelled,
-- finished.
CREATE TABLE schedules (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    contact_id BIGINT NOT NULL,
    connection_id BIGINT,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    weekdays BIGINT NOT NULL DEFAULT 0,
    month_day BIGINT NOT NULL DEFAULT 0,
    start_local TEXT NOT NULL,
    until_date TEXT,
    max_count BIGINT,
    business_hours BIGINT NOT NULL DEFAULT 0,
    marketing BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    slot_at BIGINT,
    run_at BIGINT,
    done_count BIGINT NOT NULL DEFAULT 0,
    last_state TEXT,
    last_error TEXT,
    last_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules (status, run_at);
CREATE INDEX schedules_tenant ON schedules (tenant_id, status, run_at);
CREATE INDEX schedules_contact ON schedules (tenant_id, contact_id);
-- Each occurrence handled, once: the unique (schedule_id, due_at) is what keeps a restart or a
-- second scan from sending it twice. State: queued (its message is in the send queue), refused
-- (the send was refused: error_code says why), expired (found too late to send).
CREATE TABLE schedule_occurrences (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    schedule_id BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    error_code TEXT,
    message_id BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (schedule_id, due_at)
);
CREATE INDEX schedule_occurrences_tenant ON schedule_occurrences (tenant_id, schedule_id, due_at);
