-- Account security: two-step sign-in (TOTP authenticator apps), the list of one's sessions,
-- and one-time links by e-mail (password resets, invitations).
-- The secret is sealed with the master key; NULL means not enrolled. `totp_pending` holds the
-- secret being enrolled until the first code confirms it. `totp_last_step` makes each code
-- work once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
-- A company may require every person to use two-step sign-in.
ALTER TABLE tenants ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0;
-- What a person sees in their list of sessions.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
-- One-time recovery codes (SHA-256 of the normalised code) for a lost phone.
CREATE TABLE recovery_codes (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (tenant_id, user_id);
-- A password that was right, waiting for the second step (a short-lived cookie names it).
CREATE TABLE login_challenges (
    id {{PK}},
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_path TEXT NOT NULL DEFAULT ''
);
-- One-time links sent by e-mail: "esqueci minha senha" (an hour) and invitations (three days).
-- Only the SHA-256 of the link's token is kept.
CREATE TABLE account_links (
    id {{PK}},
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX account_links_user ON account_links (tenant_id, user_id);
