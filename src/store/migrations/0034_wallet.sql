-- Carteira: a contact may have an owner agent. A new (or reopened) ticket from the contact goes
-- to the owner when they are online and not away, else it takes the usual way (chatbot,
-- department). NULL = no owner; a deactivated owner keeps the wallet but gets nothing.
ALTER TABLE contacts ADD COLUMN owner_id BIGINT;
CREATE INDEX contacts_owner ON contacts (tenant_id, owner_id);
