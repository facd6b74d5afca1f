-- "Quem está vendo": who has a ticket open right now. Each open page beats every 20 s
-- (`POST /inbox/{id}/viewing`); a row older than the window (45 s) no longer counts and is
-- pruned by the next beat on the ticket. Leaving the page deletes the row.
CREATE TABLE ticket_viewers (
    tenant_id BIGINT NOT NULL,
    ticket_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
