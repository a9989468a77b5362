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
) WITHOUT ROWID;

CREATE TABLE connections (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	arn           TEXT NOT NULL UNIQUE REFERENCES resources (arn) ON DELETE CASCADE,
	account_id    TEXT NOT NULL,
	region        TEXT NOT NULL,
	name          TEXT NOT NULL,
	provider_type TEXT NOT NULL,
	status        TEXT NOT NULL,
	status_message   TEXT NOT NULL DEFAULT '',
	provider_account TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL, -- Unix nanoseconds
	CONSTRAINT connections_name_unique UNIQUE (account_id, region, name)
);

CREATE INDEX connections_scope ON connections (account_id, region, seq);

-- connection_secrets holds each connection's provider credential, sealed by
-- package vault (AES-256-GCM); it is deleted with its connection.
CREATE TABLE connection_secrets (
	connection_seq INTEGER PRIMARY KEY REFERENCES connections (seq) ON DELETE CASCADE,
	sealed         BLOB NOT NULL
);

-- usage counts live resources per account, Region and kind, so quota checks
-- cost one row however many resources there are.
CREATE TABLE usage (
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	n          INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (account_id, region, kind)
) WITHOUT ROWID;

-- meta holds small facts about the database itself (e.g. the vault's key check).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
