-- observability_configurations holds every revision of every observability
-- configuration. A deleted revision keeps its row with status 'INACTIVE',
-- so it stays describable. Tags live on the revision's resources row,
-- which exists while the revision is active.
CREATE TABLE observability_configurations (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	arn          TEXT NOT NULL UNIQUE,
	id           TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	region       TEXT NOT NULL,
	name         TEXT NOT NULL,
	revision     INTEGER NOT NULL CHECK (revision >= 1),
	status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
	trace_vendor TEXT NOT NULL DEFAULT '',     -- '' without a TraceConfiguration
	created_at   INTEGER NOT NULL,             -- Unix nanoseconds
	deleted_at   INTEGER NOT NULL DEFAULT 0    -- Unix nanoseconds; 0 while active
);

-- A revision number is unique among the active revisions of a name; a
-- name whose revisions were all deleted starts again at 1.
CREATE UNIQUE INDEX observability_active_revision
	ON observability_configurations (account_id, region, name, revision) WHERE status = 'ACTIVE';

-- observability_active serves listings, which show active revisions only.
CREATE INDEX observability_active
	ON observability_configurations (account_id, region, seq) WHERE status = 'ACTIVE';

-- services_observability finds the services using a revision (in-use
-- checks). The expression must match the Go query's word for word.
CREATE INDEX services_observability
	ON services (json_extract(config, '$.Observability.ConfigurationARN')) WHERE status != 'DELETED';
