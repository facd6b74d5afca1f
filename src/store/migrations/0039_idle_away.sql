-- "Ausente" after this many minutes without input in any of a person's tabs (0: never by itself).
ALTER TABLE tenant_settings ADD COLUMN idle_away_minutes BIGINT NOT NULL DEFAULT 15;
