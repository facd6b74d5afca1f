-- The third timed rule: remind the assignee of a ticket whose customer wrote last and got no
-- answer for N minutes. `tickets.reminded_message_id` is the customer message the last reminder
-- was about: a ticket is reminded again only after the business answered since then (one
-- reminder per run of unanswered customer messages).
ALTER TABLE timed_rules ADD COLUMN remind_after_minutes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN reminded_message_id BIGINT;
