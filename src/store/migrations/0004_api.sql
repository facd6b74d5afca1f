-- REST API: Idempotency-Key records, shared by every instance. One row per (token, key): the
-- request's fingerprint, whether it is still running, and the response to replay.
CREATE TABLE api_idempotency (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    token_id BIGINT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    response_status BIGINT,
    response_type TEXT,
    response_body TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (tenant_id, token_id, idem_key)
);
CREATE INDEX api_idempotency_expiry ON api_idempotency (expires_at);
