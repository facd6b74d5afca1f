-- Tags are one ignoring case and accents: `name_key` is the folded name
-- (`domain::contacts::tag_key`), unique per company. SQL cannot fold accents on both engines, so
-- the keys of existing tags are filled by the migration runner right after these statements
-- (`store::tags::fill_keys`), which MERGES duplicates into the oldest tag (their tickets and
-- contacts move to it). Until filled a key is NULL, which unique indexes never compare equal.
ALTER TABLE tags ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX tags_name_key ON tags (tenant_id, name_key);
-- The thank-you sent after a customer answers the rating question (empty: the built-in pt-BR
-- text). It rides in this migration so the branch adds one schema version, not two.
ALTER TABLE tenant_settings ADD COLUMN csat_thanks TEXT NOT NULL DEFAULT '';
