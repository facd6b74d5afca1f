-- LGPD and retention: erased contacts are kept as anonymous stubs (`erased_at`), message
-- content removed by an erasure or by retention is marked (`redacted_at`; the row's skeleton —
-- direction, status, times — stays, so report figures survive even a rebuild), and each
-- company's retention setting with what its last purge did.

ALTER TABLE contacts ADD COLUMN erased_at BIGINT;
ALTER TABLE messages ADD COLUMN redacted_at BIGINT;
CREATE INDEX messages_retention ON messages (tenant_id, created_at) WHERE redacted_at IS NULL;

-- Absent row = defaults (12 months, never purged).
CREATE TABLE retention_settings (
    tenant_id BIGINT NOT NULL PRIMARY KEY REFERENCES tenants(id),
    months BIGINT NOT NULL DEFAULT 12,
    last_run_at BIGINT,
    last_purge_at BIGINT,
    last_purge_messages BIGINT NOT NULL DEFAULT 0,
    last_purge_files BIGINT NOT NULL DEFAULT 0,
    total_messages BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
