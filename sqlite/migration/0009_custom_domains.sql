-- custom_domains holds the domains associated with services. A host (a
-- domain, or www.<domain> when www is set) belongs to one domain of one
-- service at most: the store checks the www forms, this index the names.
CREATE TABLE custom_domains (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	service_arn TEXT NOT NULL,
	name        TEXT NOT NULL UNIQUE,
	www         INTEGER NOT NULL DEFAULT 0,
	status      TEXT NOT NULL,
	records     TEXT NOT NULL DEFAULT '[]', -- JSON list of validation records
	reason      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL            -- Unix nanoseconds
);

-- custom_domains_service serves a service's listing and its count.
CREATE INDEX custom_domains_service ON custom_domains (service_arn, seq);

-- blobs is a store of named values shared by every server of the database:
-- certmagic's certificates, private keys (sealed by the vault) and ACME
-- account data (package acme). Keys are paths separated by "/".
CREATE TABLE blobs (
	key         TEXT PRIMARY KEY,
	value       BLOB NOT NULL,
	modified_at INTEGER NOT NULL -- Unix nanoseconds
) WITHOUT ROWID;
