-- The credential vault of tickets (issue 16, docs/SECURITY.md (the vault)) and the audit log's retention.
-- Version 32 belongs to this branch.

-- One data key per ticket, sealed ("wrapped") with the master key; erased when the ticket closes.
CREATE TABLE ticket_vault_keys (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    -- NULL once destroyed.
    wrapped_key TEXT,
    created_at BIGINT NOT NULL,
    destroyed_at BIGINT,
    PRIMARY KEY (tenant_id, ticket_id)
);

-- A credential of a ticket: metadata in the clear, the secret sealed with the ticket's key.
CREATE TABLE ticket_credentials (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    -- painel, ssh, ftp, database, other
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    host TEXT NOT NULL,
    username TEXT NOT NULL,
    -- NULL once destroyed.
    secret_ciphertext TEXT,
    notes TEXT NOT NULL,
    -- The audit log's name of who added it (`user:7`, `customer`, `token:3`).
    created_by TEXT NOT NULL,
    -- agent, customer_link, moved
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    destroyed_at BIGINT
);
CREATE INDEX ticket_credentials_ticket ON ticket_credentials (tenant_id, ticket_id, id);

-- One-time links a customer uses to hand credentials over: only the token's SHA-256 is kept.
CREATE TABLE credential_links (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    token_hash TEXT NOT NULL UNIQUE,
    -- The message that carried the link (its token is blanked there once the link is used).
    message_id BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    credential_id BIGINT
);
CREATE INDEX credential_links_ticket ON credential_links (tenant_id, ticket_id);

-- How long each company keeps its audit log (no row: 365 days).
CREATE TABLE audit_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    retention_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, created_at);
