-- Day roll-ups for the Painel (issue 15, docs/REPORTS.md). Version 29 belongs to this branch.
-- `report_rollups` summed per local day of the company's zone (day = yyyymmdd), so a 30-day
-- read sums O(days) rows instead of O(hours x departments x agents).
CREATE TABLE report_days (
    tenant_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    department_id BIGINT NOT NULL,
    agent_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, department_id, agent_id, metric, bucket)
);
-- The charts' metrics (messages in / out, new, closed; buckets summed) per local day, local
-- hour of day 0-23 and department: the charts need the local hour, `report_days` has none.
CREATE TABLE report_day_hours (
    tenant_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    hour_of_day BIGINT NOT NULL,
    department_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, hour_of_day, department_id, metric)
);
-- The zone the day tables were derived in (IANA name); NULL until the first refresh derives
-- them. Reads use them only while it is the company's zone.
ALTER TABLE report_cursors ADD COLUMN day_zone TEXT;
-- The live block's counts per state and department, and the longest wait, read from the index
-- alone (no table rows).
CREATE INDEX tickets_live ON tickets (tenant_id, status, department_id, queued_at);
