-- Plans the platform admin sells: limits (NULL: no limit) and feature switches (0/1).
-- A company on no plan has no limits: a self-hosted install never meets any of this.
CREATE TABLE plans (
    id {{PK}},
    name TEXT NOT NULL UNIQUE,
    price_cents BIGINT NOT NULL DEFAULT 0,
    period TEXT NOT NULL DEFAULT 'monthly',
    max_connections BIGINT,
    max_agents BIGINT,
    max_departments BIGINT,
    max_chatbots BIGINT,
    max_campaigns_month BIGINT,
    max_contacts BIGINT,
    max_storage_mb BIGINT,
    feature_campaigns BIGINT NOT NULL DEFAULT 1,
    feature_api BIGINT NOT NULL DEFAULT 1,
    feature_chat BIGINT NOT NULL DEFAULT 1,
    feature_chatbot BIGINT NOT NULL DEFAULT 1,
    feature_kanban BIGINT NOT NULL DEFAULT 1,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE tenants ADD COLUMN plan_id BIGINT REFERENCES plans(id);
