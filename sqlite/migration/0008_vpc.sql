-- vpc_connectors holds VPC connectors. A deleted connector keeps its row
-- with status 'INACTIVE' so that it stays describable; its tags live on its
-- resources row, which exists while it is ACTIVE.
CREATE TABLE vpc_connectors (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	arn             TEXT NOT NULL UNIQUE,
	id              TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	region          TEXT NOT NULL,
	name            TEXT NOT NULL,
	subnets         TEXT NOT NULL,             -- JSON array of strings
	security_groups TEXT NOT NULL,             -- JSON array of strings
	status          TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
	created_at      INTEGER NOT NULL,          -- Unix nanoseconds
	deleted_at      INTEGER NOT NULL DEFAULT 0 -- Unix nanoseconds; 0 while ACTIVE
);

-- A name is unique among the ACTIVE connectors of a Scope; listings show
-- ACTIVE connectors only.
CREATE UNIQUE INDEX vpc_connectors_active_name
	ON vpc_connectors (account_id, region, name) WHERE status = 'ACTIVE';
CREATE INDEX vpc_connectors_active ON vpc_connectors (account_id, region, seq) WHERE status = 'ACTIVE';

-- vpc_ingress_connections holds VPC ingress connections. A DELETED one keeps
-- its row so that it stays describable; its tags live on its resources row,
-- which exists until it is DELETED.
CREATE TABLE vpc_ingress_connections (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	arn             TEXT NOT NULL UNIQUE,
	id              TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	region          TEXT NOT NULL,
	name            TEXT NOT NULL,
	service_arn     TEXT NOT NULL,
	vpc_id          TEXT NOT NULL,
	vpc_endpoint_id TEXT NOT NULL,
	domain_name     TEXT NOT NULL,
	status          TEXT NOT NULL,
	status_message  TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,          -- Unix nanoseconds
	deleted_at      INTEGER NOT NULL DEFAULT 0 -- Unix nanoseconds; 0 until DELETED
);

-- Names are unique among the live connections of a Scope, and a service has
-- at most one live connection.
CREATE UNIQUE INDEX vpc_ingress_live_name
	ON vpc_ingress_connections (account_id, region, name) WHERE status != 'DELETED';
CREATE UNIQUE INDEX vpc_ingress_live_service
	ON vpc_ingress_connections (service_arn) WHERE status != 'DELETED';
CREATE INDEX vpc_ingress_live ON vpc_ingress_connections (account_id, region, seq) WHERE status != 'DELETED';
