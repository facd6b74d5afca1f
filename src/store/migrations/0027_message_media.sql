-- Schedules and campaigns carry more than text (issue 14). Version 27 belongs to this branch.
-- `media` is JSON: {"kind": "image", "source": {...}, "filename": …} — a file in Atende's
-- media store or a public link; the text goes as its caption. A schedule's `template_id` is
-- the approved template sent when the customer's 24-hour window is closed (or always, when
-- the schedule has no text).
ALTER TABLE schedules ADD COLUMN template_id BIGINT;
ALTER TABLE schedules ADD COLUMN media TEXT;
ALTER TABLE campaigns ADD COLUMN media TEXT;
