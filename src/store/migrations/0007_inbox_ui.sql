-- Inbox conversation view: reactions (and edits, deletions) point at the provider id of the
-- message they concern; the page looks them up for the bubbles it shows.
CREATE INDEX messages_refers_to ON messages (tenant_id, refers_to) WHERE refers_to IS NOT NULL;
