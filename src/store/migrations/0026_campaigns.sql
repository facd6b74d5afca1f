-- Campaigns ("campanhas", issue 14). Version 26 belongs to this branch.
-- A campaign: a marketing message to an audience frozen when it starts, paced (rate per minute,
-- random spacing, daily cap, optionally business hours only) through one connection. Status:
-- draft, running, paused, finished, cancelled. `variations` is a JSON array of up to five texts
-- (one chosen per recipient); `template_id` is sent to recipients outside the 24-hour window.
-- `audience` is JSON: {"all": bool, "tags": [ids], "phones": ["55…"]}. `runner`/`runner_until`
-- name the one job run that sends for it at a time (its pace is kept by that run).
CREATE TABLE campaigns (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    connection_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    variations TEXT NOT NULL,
    template_id BIGINT,
    audience TEXT NOT NULL,
    tag_id BIGINT,
    start_at BIGINT NOT NULL,
    business_hours BIGINT NOT NULL DEFAULT 0,
    rate_per_minute BIGINT NOT NULL,
    spacing_pct BIGINT NOT NULL DEFAULT 0,
    daily_cap BIGINT,
    runner TEXT,
    runner_until BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    excluded BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, id);
CREATE INDEX campaigns_status ON campaigns (status, start_at);
-- One row per (campaign, contact), ever: what keeps a recipient from getting a campaign twice.
-- State: queued, sending (committed before the provider call), sent, delivered, read, replied,
-- failed, opted_out, skipped, unknown (the call may have happened; status webhooks settle it,
-- or a person decides). `not_before` holds a retry back (Meta's marketing cap).
CREATE TABLE campaign_recipients (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    campaign_id BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    variation BIGINT,
    body TEXT,
    provider_id TEXT,
    error_code BIGINT,
    error_title TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL DEFAULT 0,
    runner TEXT,
    sending_at BIGINT,
    sent_at BIGINT,
    delivered_at BIGINT,
    read_at BIGINT,
    replied_at BIGINT,
    ticket_id BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX campaign_recipients_next ON campaign_recipients (campaign_id, state, not_before, id);
CREATE INDEX campaign_recipients_contact ON campaign_recipients (tenant_id, contact_id, sent_at);
-- The plan/feature switch: campaigns may be switched off per company (the SaaS issue sets it).
ALTER TABLE tenants ADD COLUMN campaigns_enabled BIGINT NOT NULL DEFAULT 1;
