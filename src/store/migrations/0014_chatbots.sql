-- Several chatbot flows per company. A chatbot has a name and versions (rows of `flows`; the
-- newest is `flow_id`); the company's default chatbot starts new tickets, and a connection may
-- name its own (0: no chatbot on it). `automation.flow_id` is superseded by `chatbot_id`.
CREATE TABLE chatbots (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    flow_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chatbots_tenant ON chatbots (tenant_id, id);
ALTER TABLE flows ADD COLUMN chatbot_id BIGINT;
ALTER TABLE automation ADD COLUMN chatbot_id BIGINT;
ALTER TABLE connections ADD COLUMN chatbot_id BIGINT;
-- A company's one flow becomes its default chatbot, "Principal", with every version it had.
INSERT INTO chatbots (tenant_id, name, flow_id, created_at, updated_at)
    SELECT tenant_id, 'Principal', flow_id, updated_at, updated_at FROM automation WHERE flow_id IS NOT NULL;
UPDATE automation SET chatbot_id = (SELECT c.id FROM chatbots c WHERE c.tenant_id = automation.tenant_id)
    WHERE flow_id IS NOT NULL;
UPDATE flows SET chatbot_id = (SELECT c.id FROM chatbots c WHERE c.tenant_id = flows.tenant_id);
