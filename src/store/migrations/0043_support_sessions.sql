-- A support session: a platform admin working inside a company's account, opened from the
-- platform's company page. `support_by` names them; every page of that session says so.
ALTER TABLE sessions ADD COLUMN support_by TEXT;
