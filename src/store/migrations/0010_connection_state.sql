-- A connection's state (connecting | qr | connected | disconnected | failed) with the time it
-- last changed, and removal that keeps the history (tickets and messages stay attached).
ALTER TABLE connections ADD COLUMN state TEXT NOT NULL DEFAULT 'connected';
ALTER TABLE connections ADD COLUMN state_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN removed_at BIGINT;
UPDATE connections SET state_changed_at = created_at;
UPDATE connections SET state = 'failed' WHERE needs_reauth = 1;
UPDATE connections SET state = 'disconnected' WHERE active = 0;
