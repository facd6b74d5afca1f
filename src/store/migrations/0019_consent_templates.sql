-- Consent history and message templates (issue 14, first half). Version 19 belongs to this branch.
-- Every consent change of a contact: when, what it was and became, how (source: api, csv, agent,
-- keyword, meta, merge, created) and by whom (the actor's label); `detail` says more (the keyword
-- the customer sent, Meta's error code, the merged contact). `contacts.consent` stays the state.
CREATE TABLE consent_events (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    contact_id BIGINT NOT NULL,
    previous TEXT,
    consent TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX consent_events_contact ON consent_events (tenant_id, contact_id, id);
-- Opt-in keywords and the confirmations sent once when a keyword changes consent (empty: the
-- built-in pt-BR texts).
ALTER TABLE contact_settings ADD COLUMN opt_in_keywords TEXT NOT NULL DEFAULT 'VOLTAR, ACEITO';
ALTER TABLE contact_settings ADD COLUMN opt_out_reply TEXT NOT NULL DEFAULT '';
ALTER TABLE contact_settings ADD COLUMN opt_in_reply TEXT NOT NULL DEFAULT '';
-- A connection's message templates as Graph lists them (synced), with the company's mapping of
-- each `{{n}}` parameter (JSON: {"1": {"kind": "field"|"text"|"variable", "value": "…"}}).
CREATE TABLE message_templates (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id TEXT NOT NULL DEFAULT '',
    components TEXT NOT NULL,
    mapping TEXT NOT NULL DEFAULT '{}',
    -- 0 once a sync no longer lists it (kept: sent messages and mappings name it).
    listed BIGINT NOT NULL DEFAULT 1,
    synced_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, connection_id, name, language)
);
-- When each connection's templates were last synced (periodic job picks the oldest).
ALTER TABLE connections ADD COLUMN templates_synced_at BIGINT;
