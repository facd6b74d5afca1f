-- Outgoing webhooks: subscriptions per tenant (secret sealed with the master key), one delivery
-- per (subscription, event) with its body fixed at fan-out, every attempt recorded, the fan-out
-- cursor over the events table, and the per-tenant SSRF setting.

CREATE TABLE webhook_subscriptions (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- A JSON array of event names.
    events TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions(id),
    -- NULL for test events; otherwise the live event this delivery announces.
    event_id BIGINT,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending, retrying, delivered, dead, cancelled
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Tries in the current retry window (a replay starts a new window).
    window_attempts BIGINT NOT NULL DEFAULT 0,
    window_started_at BIGINT,
    next_attempt_at BIGINT,
    last_attempt_at BIGINT,
    last_status_code BIGINT,
    last_latency_ms BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    replays BIGINT NOT NULL DEFAULT 0,
    job_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (subscription_id, event_id, event)
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (tenant_id, subscription_id, id);
CREATE INDEX webhook_deliveries_state ON webhook_deliveries (tenant_id, state, subscription_id);

CREATE TABLE webhook_attempts (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id),
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    -- delivered, failed
    outcome TEXT NOT NULL,
    status_code BIGINT,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id, id);

-- The fan-out's position in the events table (one row; the only table without a tenant: it is
-- the dispatcher's own bookmark across every tenant's events).
CREATE TABLE webhook_dispatch (
    id BIGINT PRIMARY KEY,
    last_event_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO webhook_dispatch (id, last_event_id, updated_at) VALUES (1, 0, 0);

CREATE TABLE webhook_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    allow_private_networks BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
