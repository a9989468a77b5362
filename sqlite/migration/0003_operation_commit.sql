-- The commit a source-code deployment fetched and built (empty for image
-- services and until the source is fetched).
ALTER TABLE operations ADD COLUMN commit_id TEXT NOT NULL DEFAULT '';
