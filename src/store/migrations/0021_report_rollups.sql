-- Report roll-ups (issue 15, docs/REPORTS.md). Version 21 belongs to this branch.
-- The sum of every ticket's metric cells per UTC hour x department x agent (0 = none), metric
-- and bucket (a histogram bucket for times, the rating for CSAT, the outcome for closes).
CREATE TABLE report_rollups (
    tenant_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    department_id BIGINT NOT NULL,
    agent_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, department_id, agent_id, metric, bucket)
);
-- Each ticket's cells as last added to the roll-ups (`domain::reports::encode`), so a changed
-- ticket is re-walked and only the difference applied; `version` is the last event and
-- message ids seen, so an unchanged ticket is skipped.
CREATE TABLE report_ticket_cells (
    tenant_id BIGINT NOT NULL,
    ticket_id BIGINT NOT NULL,
    version TEXT NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
);
-- When a company's roll-ups were last brought up to date.
CREATE TABLE report_cursors (
    tenant_id BIGINT NOT NULL PRIMARY KEY,
    refreshed_at BIGINT NOT NULL
);
-- Finds the tickets with new history since the last refresh.
CREATE INDEX ticket_events_time ON ticket_events (tenant_id, created_at);
-- The Painel's alerts: a waiting ticket older than `wait_alert_minutes` (0: off), and customer
-- messages per minute outside [band_low_pct, band_high_pct] % of the recent mean (0/0: off).
CREATE TABLE report_settings (
    tenant_id BIGINT NOT NULL PRIMARY KEY,
    wait_alert_minutes BIGINT NOT NULL DEFAULT 15,
    band_low_pct BIGINT NOT NULL DEFAULT 70,
    band_high_pct BIGINT NOT NULL DEFAULT 130,
    updated_at BIGINT NOT NULL
);
