-- autoscaling_configurations holds every revision of every auto scaling
-- configuration, the AWS-provided DefaultConfiguration/1 of each Scope
-- included (inserted at the Scope's first use). A deleted revision keeps
-- its row with status 'inactive', so it stays describable. Tags live on the
-- revision's resources row, which exists while the revision is active and
-- was created by a caller (the AWS-provided revision has none).
CREATE TABLE autoscaling_configurations (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	arn             TEXT NOT NULL UNIQUE,
	id              TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	region          TEXT NOT NULL,
	name            TEXT NOT NULL,
	revision        INTEGER NOT NULL CHECK (revision >= 1),
	status          TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
	max_concurrency INTEGER NOT NULL,
	min_size        INTEGER NOT NULL,
	max_size        INTEGER NOT NULL,
	is_default      INTEGER NOT NULL DEFAULT 0 CHECK (is_default = 0 OR status = 'active'),
	created_at      INTEGER NOT NULL,          -- Unix nanoseconds
	deleted_at      INTEGER NOT NULL DEFAULT 0 -- Unix nanoseconds; 0 while active
);

-- A revision number is unique among the active revisions of a name; a
-- name whose revisions were all deleted starts again at 1.
CREATE UNIQUE INDEX autoscaling_active_revision
	ON autoscaling_configurations (account_id, region, name, revision) WHERE status = 'active';

-- Exactly one default per Scope (at most one by this index; the store
-- always moves it in one transaction).
CREATE UNIQUE INDEX autoscaling_default
	ON autoscaling_configurations (account_id, region) WHERE is_default = 1;

-- autoscaling_active serves listings, which show active revisions only.
CREATE INDEX autoscaling_active
	ON autoscaling_configurations (account_id, region, seq) WHERE status = 'active';

-- services_asc finds the services using a revision (in-use checks,
-- HasAssociatedService, ListServicesForAutoScalingConfiguration).
CREATE INDEX services_asc ON services (asc_arn, seq) WHERE status != 'DELETED';
