-- Kanban: a tag with a lane position is a column of the board, in that order (NULL: an ordinary
-- tag). A ticket sits in the lane whose tag it carries; moving a card swaps its lane tag.
ALTER TABLE tags ADD COLUMN lane_position BIGINT;
