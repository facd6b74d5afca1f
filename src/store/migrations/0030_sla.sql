-- Service levels (issue 16): a company's SLA policies (a matrix urgency × complexity → targets
-- in business-hours minutes, `domain::sla::Matrix` as JSON; department_id 0 = the company's,
-- else that department's own) and each ticket's classification and clock.
CREATE TABLE sla_policies (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    department_id BIGINT NOT NULL DEFAULT 0,
    matrix TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sla_policies_scope ON sla_policies (tenant_id, department_id);

-- One row per ticket that has been classified or timed. Deadlines are computed once and stored
-- (recomputed when urgency, complexity, department or policy change); times are Unix ms.
-- alerts: bit 1 first response warned, 2 first response breached, 4 resolution warned,
-- 8 resolution breached. next_alert_at: the earliest alert still to raise (NULL: none), which
-- the once-a-minute scan reads by index.
CREATE TABLE ticket_sla (
    ticket_id BIGINT NOT NULL PRIMARY KEY REFERENCES tickets(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    urgency TEXT,
    complexity TEXT,
    support BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    response_warn_at BIGINT,
    response_due_at BIGINT,
    resolution_warn_at BIGINT,
    resolution_due_at BIGINT,
    paused_at BIGINT,
    paused_ms BIGINT NOT NULL DEFAULT 0,
    alerts BIGINT NOT NULL DEFAULT 0,
    next_alert_at BIGINT,
    breached_at BIGINT,
    stale BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ticket_sla_next_alert ON ticket_sla (next_alert_at);
CREATE INDEX ticket_sla_breached ON ticket_sla (breached_at);
CREATE INDEX ticket_sla_stale ON ticket_sla (stale);
CREATE INDEX ticket_sla_paused ON ticket_sla (paused_at);

-- How far the scan has read new tickets (one row, id 1).
CREATE TABLE sla_scan (
    id BIGINT NOT NULL PRIMARY KEY,
    last_ticket_id BIGINT NOT NULL
);
-- Tickets older than the migration are timed only once their company saves a policy.
INSERT INTO sla_scan (id, last_ticket_id) SELECT 1, COALESCE(MAX(id), 0) FROM tickets;
