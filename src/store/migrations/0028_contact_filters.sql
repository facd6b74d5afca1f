-- Saved contact filters (issue 14: a campaign's audience may be one). Version 28 belongs to this
-- branch. The criteria are `domain::contacts::ContactCriteria`: a search text, a tag, a consent.
CREATE TABLE contact_filters (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    search TEXT NOT NULL DEFAULT '',
    tag_id BIGINT,
    consent TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX contact_filters_name ON contact_filters (tenant_id, name);
