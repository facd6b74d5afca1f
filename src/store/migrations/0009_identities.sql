-- Contact identities: the addresses a contact is reached and recognised by on each channel
-- (phone in E.164, WhatsApp id, WhatsApp business-scoped user id, e-mail…), several per
-- contact, each unique per tenant and kind, so an inbound address names at most one contact.
CREATE TABLE contact_identities (
    id {{PK}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities (tenant_id, contact_id);

-- The WhatsApp username a customer shows instead of a number (display only: it can change).
ALTER TABLE contacts ADD COLUMN username TEXT;

-- Existing contacts keep their phone and WhatsApp id as identities. Two contacts never share a
-- phone (the phone key is unique), but a WhatsApp id may have been copied by a merge: the first
-- contact keeps it.
INSERT INTO contact_identities (tenant_id, contact_id, kind, value, created_at)
    SELECT tenant_id, id, 'phone', '+' || phone, created_at FROM contacts WHERE phone <> '' ORDER BY id
    ON CONFLICT DO NOTHING;
INSERT INTO contact_identities (tenant_id, contact_id, kind, value, created_at)
    SELECT tenant_id, id, 'whatsapp', wa_id, created_at FROM contacts WHERE wa_id IS NOT NULL AND wa_id <> '' ORDER BY id
    ON CONFLICT DO NOTHING;
