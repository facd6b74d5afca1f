-- Automation: a company's business hours (a weekly schedule and a holiday calendar, as JSON, in
-- its time zone), greeting and away messages, and the chatbot flow new tickets start in. Flows
-- are versioned: saving one adds a row, and a ticket in a flow finishes on the row it started.
CREATE TABLE automation (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    enabled BIGINT NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'America/Sao_Paulo',
    hours TEXT NOT NULL DEFAULT '',
    calendar TEXT NOT NULL DEFAULT '',
    greeting TEXT NOT NULL DEFAULT '',
    away_message TEXT NOT NULL DEFAULT '',
    flow_id BIGINT,
    -- Words that send a ticket to people at once with high priority (comma-separated).
    urgent_words TEXT NOT NULL DEFAULT '',
    -- Customer messages in the chatbot after which people take over (0: never).
    handoff_after BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE TABLE flows (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX flows_tenant ON flows (tenant_id, id);
-- A ticket's place in its flow (JSON; NULL when not in one), the flow row it runs on, and
-- whether the greeting (or away message) went out for it.
ALTER TABLE tickets ADD COLUMN bot_state TEXT;
ALTER TABLE tickets ADD COLUMN bot_flow_id BIGINT;
ALTER TABLE tickets ADD COLUMN greeted BIGINT NOT NULL DEFAULT 0;
