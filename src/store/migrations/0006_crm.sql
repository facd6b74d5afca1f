-- CRM contact sync: consent with its date and source, the tenant's custom-field keys, and the
-- tenant's opt-out keywords. Added columns have defaults so existing contacts stay valid.

ALTER TABLE contacts ADD COLUMN consent TEXT NOT NULL DEFAULT 'transactional';
ALTER TABLE contacts ADD COLUMN consent_at BIGINT;
ALTER TABLE contacts ADD COLUMN consent_source TEXT;
-- E-mails are stored lower-case (validate::email), so equality finds them.
CREATE INDEX contacts_email ON contacts (tenant_id, email);

-- Known custom-field keys per tenant, with the label people see (UI forms, CSV mapping).
CREATE TABLE contact_fields (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, field_key)
);

-- Absent row = defaults (opt-out keywords SAIR, PARAR, STOP).
CREATE TABLE contact_settings (
    tenant_id BIGINT NOT NULL PRIMARY KEY REFERENCES tenants(id),
    opt_out_keywords TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id);
