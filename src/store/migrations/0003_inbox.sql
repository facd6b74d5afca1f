-- The agent inbox: departments and their members, ticket lifecycle columns (protocol, department,
-- assignee, priority, report timestamps, CSAT), ticket history, tags, quick replies and tenant
-- settings. Added columns are nullable or have defaults so existing rows stay valid.

CREATE TABLE departments (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    colour TEXT NOT NULL DEFAULT '#2563eb',
    greeting TEXT NOT NULL DEFAULT '',
    sign_messages BIGINT NOT NULL DEFAULT 0,
    distribution_mode TEXT NOT NULL DEFAULT 'off',
    rr_cursor BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE department_members (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, department_id, user_id)
);
CREATE INDEX department_members_user ON department_members (tenant_id, user_id, department_id);

ALTER TABLE users ADD COLUMN signature_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;

ALTER TABLE connections ADD COLUMN default_department_id BIGINT REFERENCES departments(id);

ALTER TABLE tickets ADD COLUMN protocol TEXT;
ALTER TABLE tickets ADD COLUMN department_id BIGINT REFERENCES departments(id);
ALTER TABLE tickets ADD COLUMN assignee_id BIGINT REFERENCES users(id);
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tickets ADD COLUMN last_message_preview TEXT;
ALTER TABLE tickets ADD COLUMN queued_at BIGINT;
ALTER TABLE tickets ADD COLUMN first_agent_reply_at BIGINT;
ALTER TABLE tickets ADD COLUMN csat_requested_at BIGINT;
ALTER TABLE tickets ADD COLUMN csat_rating BIGINT;
ALTER TABLE tickets ADD COLUMN reopened_count BIGINT NOT NULL DEFAULT 0;
-- Tickets opened before this migration get a protocol that cannot collide with the daily form.
UPDATE tickets SET protocol = 'L-' || CAST(id AS TEXT) WHERE protocol IS NULL;
CREATE UNIQUE INDEX tickets_protocol ON tickets (tenant_id, protocol);
-- The inbox list: by status (tabs), by department (agents' waiting queue), by assignee (mine),
-- everything of a tenant (supervisors); all in last-activity order for keyset pagination.
CREATE INDEX tickets_inbox ON tickets (tenant_id, status, last_message_at DESC, id DESC);
CREATE INDEX tickets_inbox_department ON tickets (tenant_id, department_id, status, last_message_at DESC, id DESC);
CREATE INDEX tickets_inbox_assignee ON tickets (tenant_id, assignee_id, status, last_message_at DESC, id DESC);
CREATE INDEX tickets_inbox_all ON tickets (tenant_id, last_message_at DESC, id DESC);

-- Daily protocol sequences: one row per tenant and day, bumped with UPDATE … RETURNING.
CREATE TABLE ticket_sequences (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    day BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE ticket_events (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    actor_user_id BIGINT,
    from_department_id BIGINT,
    to_department_id BIGINT,
    from_user_id BIGINT,
    to_user_id BIGINT,
    note TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (tenant_id, ticket_id, id);

CREATE TABLE tags (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    colour TEXT NOT NULL DEFAULT '#64748b',
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE ticket_tags (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    tag_id BIGINT NOT NULL REFERENCES tags(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id, tag_id)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (tenant_id, tag_id, ticket_id);

CREATE TABLE contact_tags (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    tag_id BIGINT NOT NULL REFERENCES tags(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, tag_id)
);
CREATE INDEX contact_tags_tag ON contact_tags (tenant_id, tag_id, contact_id);

ALTER TABLE contacts ADD COLUMN email TEXT;
ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';

CREATE TABLE quick_replies (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    department_id BIGINT REFERENCES departments(id),
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One shortcut per tenant-wide list and per department (NULL department = tenant-wide).
CREATE UNIQUE INDEX quick_replies_shortcut ON quick_replies (tenant_id, COALESCE(department_id, 0), shortcut);

-- Absent row = defaults (reopen window 2 h, no CSAT, no farewell, Brasília time for protocols).
CREATE TABLE tenant_settings (
    tenant_id BIGINT NOT NULL PRIMARY KEY REFERENCES tenants(id),
    reopen_window_minutes BIGINT NOT NULL DEFAULT 120,
    csat_enabled BIGINT NOT NULL DEFAULT 0,
    csat_question TEXT NOT NULL DEFAULT '',
    farewell TEXT NOT NULL DEFAULT '',
    utc_offset_minutes BIGINT NOT NULL DEFAULT -180,
    updated_at BIGINT NOT NULL
);
