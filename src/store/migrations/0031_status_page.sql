-- Status page ("Status do serviço", issue 16, docs/STATUS_PAGE.md). Version 31 belongs to this
-- branch. States are the words of `domain::status_page` (components: operational, degraded,
-- partial_outage, major_outage, maintenance; incidents: investigating, identified, monitoring,
-- resolved). Times are Unix milliseconds; flags 0/1.
-- Per company: whether the public page answers, and whether the chatbot mentions open incidents.
-- No row = both on.
CREATE TABLE status_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    public_enabled BIGINT NOT NULL DEFAULT 1,
    chatbot_notice BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);
CREATE TABLE status_components (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX status_components_tenant ON status_components (tenant_id, position, id);
-- An incident: open while `resolved_at` is NULL; `impact` is the component state it stands for.
CREATE TABLE status_incidents (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    impact TEXT NOT NULL,
    notify_on_resolve BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX status_incidents_tenant ON status_incidents (tenant_id, created_at);
CREATE INDEX status_incidents_open ON status_incidents (tenant_id, resolved_at);
-- The timeline: the first update is the incident's opening text; `author` is a person's name
-- (shown to staff only, never on the public page).
CREATE TABLE status_incident_updates (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    incident_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (tenant_id, incident_id, created_at);
CREATE TABLE status_incident_components (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    incident_id BIGINT NOT NULL,
    component_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, component_id)
);
CREATE TABLE status_incident_tickets (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    incident_id BIGINT NOT NULL,
    ticket_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, ticket_id)
);
CREATE INDEX status_incident_tickets_ticket ON status_incident_tickets (tenant_id, ticket_id);
-- The chatbot's notice of an open incident, once per ticket: the unique row is written in the
-- same transaction as the message it queues.
CREATE TABLE status_notices (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL,
    incident_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
);
