-- The schema of package sqlite's migrations 0001 to 0006, in PostgreSQL:
-- the same tables, columns and indexes, with identity columns for seq,
-- BYTEA for blobs and BOOLEAN flags. Times are Unix nanoseconds.

-- resources registers every taggable resource by ARN, so that tags are
-- written once for all resource types and vanish with their resource.
CREATE TABLE resources (
	arn        TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	type       TEXT NOT NULL
);

CREATE TABLE tags (
	resource_arn TEXT NOT NULL REFERENCES resources (arn) ON DELETE CASCADE,
	key          TEXT NOT NULL,
	value        TEXT NOT NULL,
	PRIMARY KEY (resource_arn, key)
);

CREATE TABLE connections (
	seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	arn              TEXT NOT NULL UNIQUE REFERENCES resources (arn) ON DELETE CASCADE,
	account_id       TEXT NOT NULL,
	region           TEXT NOT NULL,
	name             TEXT NOT NULL,
	provider_type    TEXT NOT NULL,
	status           TEXT NOT NULL,
	status_message   TEXT NOT NULL DEFAULT '',
	provider_account TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	CONSTRAINT connections_name_unique UNIQUE (account_id, region, name)
);

CREATE INDEX connections_scope ON connections (account_id, region, seq);

-- connection_secrets holds each connection's provider credential, sealed by
-- package vault (AES-256-GCM); it is deleted with its connection.
CREATE TABLE connection_secrets (
	connection_seq BIGINT PRIMARY KEY REFERENCES connections (seq) ON DELETE CASCADE,
	sealed         BYTEA NOT NULL
);

-- usage counts live resources per account, Region and kind.
CREATE TABLE usage (
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	n          INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (account_id, region, kind)
);

-- meta holds small facts about the database itself (e.g. the vault's key check).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

CREATE TABLE services (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	arn             TEXT NOT NULL UNIQUE REFERENCES resources (arn) ON DELETE CASCADE,
	account_id      TEXT NOT NULL,
	region          TEXT NOT NULL,
	name            TEXT NOT NULL,
	status          TEXT NOT NULL,
	url_prefix      TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	deleted_at      BIGINT NOT NULL DEFAULT 0,
	config          TEXT NOT NULL,  -- openrunner.ServiceConfig as JSON
	active_revision TEXT,           -- openrunner.Revision as JSON; NULL before the first deployment
	asc_arn         TEXT NOT NULL DEFAULT '',
	kms_key         TEXT NOT NULL DEFAULT '',
	desired         TEXT NOT NULL DEFAULT '{}', -- openrunner.DesiredState as JSON
	observed        TEXT NOT NULL DEFAULT '{}', -- openrunner.ObservedState as JSON
	CONSTRAINT services_url_prefix_key UNIQUE (url_prefix)
);

CREATE UNIQUE INDEX services_live_name ON services (account_id, region, name) WHERE status != 'DELETED';
CREATE INDEX services_live ON services (account_id, region, seq) WHERE status != 'DELETED';
CREATE INDEX services_status ON services (status, seq);
CREATE INDEX services_asc ON services (asc_arn, seq) WHERE status != 'DELETED';

CREATE TABLE operations (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	service_seq BIGINT NOT NULL REFERENCES services (seq) ON DELETE CASCADE,
	type        TEXT NOT NULL,
	status      TEXT NOT NULL,
	step        TEXT NOT NULL DEFAULT '',
	desired     TEXT,
	message     TEXT NOT NULL DEFAULT '',
	started_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	ended_at    BIGINT NOT NULL DEFAULT 0,
	commit_id   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX operations_service ON operations (service_seq, seq);
CREATE INDEX operations_unfinished ON operations (seq)
	WHERE status NOT IN ('FAILED', 'SUCCEEDED', 'ROLLBACK_FAILED', 'ROLLBACK_SUCCEEDED');

CREATE TABLE leases (
	key        TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE INDEX leases_holder ON leases (holder, key);

CREATE TABLE autoscaling_configurations (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	is_default      BOOLEAN NOT NULL DEFAULT FALSE CHECK (NOT is_default OR status = 'active'),
	created_at      BIGINT NOT NULL,
	deleted_at      BIGINT NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX autoscaling_active_revision
	ON autoscaling_configurations (account_id, region, name, revision) WHERE status = 'active';
CREATE UNIQUE INDEX autoscaling_default
	ON autoscaling_configurations (account_id, region) WHERE is_default;
CREATE INDEX autoscaling_active
	ON autoscaling_configurations (account_id, region, seq) WHERE status = 'active';
