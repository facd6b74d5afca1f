-- Chat interno: conversations between people of a company (direct: two people, once per pair;
-- group: a name and any number of members), their members with how far each has read, and the
-- messages (text and/or one file from the content-addressed media store). History is kept.
CREATE TABLE chat_conversations (
    id {{PK}},
    tenant_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    direct_key TEXT,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL
);
-- One direct conversation per pair (`<lower id>:<higher id>`); groups have none (NULLs differ).
CREATE UNIQUE INDEX chat_conversations_direct ON chat_conversations (tenant_id, direct_key);
CREATE TABLE chat_members (
    tenant_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    joined_at BIGINT NOT NULL,
    last_read_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members (tenant_id, user_id);
CREATE TABLE chat_messages (
    id {{PK}},
    tenant_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    sender_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    file_sha256 TEXT,
    file_mime TEXT,
    file_name TEXT,
    file_size BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_messages_conversation ON chat_messages (conversation_id, id);
