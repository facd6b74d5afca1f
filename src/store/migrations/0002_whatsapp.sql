-- Channels: connections (one business number each), contacts, minimal tickets, messages and
-- statuses that arrive before their message.

CREATE TABLE connections (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    waba_id TEXT NOT NULL DEFAULT '',
    access_token_sealed TEXT NOT NULL,
    app_secret_sealed TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    graph_url TEXT NOT NULL,
    api_version TEXT NOT NULL,
    rate_per_sec BIGINT NOT NULL,
    next_send_at BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1,
    needs_reauth BIGINT NOT NULL DEFAULT 0,
    last_webhook_at BIGINT,
    last_send_at BIGINT,
    last_error TEXT,
    last_error_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, phone_number_id)
);

CREATE TABLE contacts (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    phone_key TEXT NOT NULL,
    wa_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, phone_key)
);

CREATE TABLE tickets (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    status TEXT NOT NULL,
    unread_count BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL,
    last_inbound_at BIGINT,
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX tickets_contact ON tickets (tenant_id, contact_id, connection_id, status);

CREATE TABLE messages (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    direction TEXT NOT NULL,
    provider_id TEXT,
    kind TEXT NOT NULL,
    body TEXT,
    payload TEXT NOT NULL,
    refers_to TEXT,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    error_code BIGINT,
    error_title TEXT,
    media_id TEXT,
    media_path TEXT,
    media_mime TEXT,
    media_size BIGINT,
    idempotency_key TEXT,
    sender_user_id BIGINT,
    sent_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_provider ON messages (tenant_id, connection_id, provider_id);
CREATE UNIQUE INDEX messages_idempotency ON messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_ticket ON messages (tenant_id, ticket_id, id);

CREATE TABLE pending_statuses (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    provider_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    error_code BIGINT,
    error_title TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX pending_statuses_message ON pending_statuses (tenant_id, connection_id, provider_id);
