-- Per-department business hours and keyword rules (issue 13). Version 17 belongs to another
-- branch: this one is 18.
-- A department's own week (`domain::hours::WeekSchedule` as JSON); empty: it follows the
-- company's hours. The company's holidays and dates apply to every department.
ALTER TABLE departments ADD COLUMN hours TEXT NOT NULL DEFAULT '';
-- Keyword rules: words (comma-separated, accents and case ignored), how they match
-- (word, contains, exact), and what a match does: hand off (into `department_id` when set), raise
-- the priority (empty: leave it), add a tag, reply. `position` orders the company's rules.
CREATE TABLE keyword_rules (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    position BIGINT NOT NULL,
    words TEXT NOT NULL,
    mode TEXT NOT NULL,
    handoff BIGINT NOT NULL DEFAULT 0,
    department_id BIGINT,
    priority TEXT NOT NULL DEFAULT '',
    tag TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX keyword_rules_tenant ON keyword_rules (tenant_id, position);
-- A rule's reply goes once per ticket: the (ticket, rule) pairs that replied.
CREATE TABLE keyword_replies (
    tenant_id BIGINT NOT NULL,
    ticket_id BIGINT NOT NULL,
    rule_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id, rule_id)
);
