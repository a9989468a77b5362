-- services holds App Runner services. A DELETED service keeps its row (and
-- its resources row, hence its tags) so that DescribeService still answers
-- for it; deleting its resources row purges it together with its tags and
-- operations.
CREATE TABLE services (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	arn        TEXT NOT NULL UNIQUE REFERENCES resources (arn) ON DELETE CASCADE,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	name       TEXT NOT NULL,
	status     TEXT NOT NULL,
	-- url_prefix is the first label of the public hostname, so it is unique
	-- across every Scope, DELETED services included (a re-created service
	-- gets a new domain).
	url_prefix TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,           -- Unix nanoseconds
	updated_at INTEGER NOT NULL,           -- Unix nanoseconds
	deleted_at INTEGER NOT NULL DEFAULT 0, -- Unix nanoseconds; 0 unless DELETED
	config     TEXT NOT NULL,              -- openrunner.ServiceConfig as JSON
	active_revision TEXT,                  -- openrunner.Revision as JSON; NULL before the first deployment
	asc_arn    TEXT NOT NULL DEFAULT '',
	kms_key    TEXT NOT NULL DEFAULT ''
);

-- Names are unique among the live services of a Scope only: a name becomes
-- free again once its service is DELETED.
CREATE UNIQUE INDEX services_live_name ON services (account_id, region, name) WHERE status != 'DELETED';

-- services_live serves ListServices, which skips DELETED services.
CREATE INDEX services_live ON services (account_id, region, seq) WHERE status != 'DELETED';

-- operations are the durable records of asynchronous service operations,
-- kept (and listed) as long as their service.
CREATE TABLE operations (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,
	service_seq INTEGER NOT NULL REFERENCES services (seq) ON DELETE CASCADE,
	type        TEXT NOT NULL,
	status      TEXT NOT NULL,
	step        TEXT NOT NULL DEFAULT '',
	desired     TEXT,                     -- openrunner.ServiceConfig as JSON; NULL for pause, resume, delete
	message     TEXT NOT NULL DEFAULT '',
	started_at  INTEGER NOT NULL,         -- Unix nanoseconds
	updated_at  INTEGER NOT NULL,         -- Unix nanoseconds
	ended_at    INTEGER NOT NULL DEFAULT 0 -- Unix nanoseconds; 0 until the operation ends
);

CREATE INDEX operations_service ON operations (service_seq, seq);

-- operations_unfinished lets a restarted server find the operations it must
-- resume without scanning the history. Its predicate must match the one in
-- the Go query (qUnfinishedOperations) word for word.
CREATE INDEX operations_unfinished ON operations (seq)
	WHERE status NOT IN ('FAILED', 'SUCCEEDED', 'ROLLBACK_FAILED', 'ROLLBACK_SUCCEEDED');
