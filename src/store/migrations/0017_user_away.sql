-- A person's chosen status in the user menu: 0 online, 1 away (ausente). Away people keep
-- their tickets but automatic distribution hands them no new ones (`departments::online_members`).
-- It is independent of `last_seen_at` (presence from page loads and live streams).
ALTER TABLE users ADD COLUMN away BIGINT NOT NULL DEFAULT 0;
