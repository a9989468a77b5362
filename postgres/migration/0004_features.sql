-- The schema of package sqlite's migrations 0007 to 0010, in PostgreSQL:
-- observability configurations, VPC connectors and ingress connections,
-- custom domains and blobs, the embedded secrets and parameters. Keys
-- compared as byte strings (blob keys, parameter names) use the "C"
-- collation, so ranges and order are the same as in SQLite.

CREATE TABLE observability_configurations (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	arn          TEXT NOT NULL UNIQUE,
	id           TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	region       TEXT NOT NULL,
	name         TEXT NOT NULL,
	revision     INTEGER NOT NULL CHECK (revision >= 1),
	status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
	trace_vendor TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	deleted_at   BIGINT NOT NULL DEFAULT 0
);

-- A revision number is unique among the active revisions of a name.
CREATE UNIQUE INDEX observability_active_revision
	ON observability_configurations (account_id, region, name, revision) WHERE status = 'ACTIVE';
CREATE INDEX observability_active
	ON observability_configurations (account_id, region, seq) WHERE status = 'ACTIVE';

-- services_observability and services_vpc_connector find the services
-- using a configuration or a connector (in-use checks); the expressions
-- must match the Go queries'.
CREATE INDEX services_observability
	ON services (((config::jsonb) #>> '{Observability,ConfigurationARN}')) WHERE status != 'DELETED';
CREATE INDEX services_vpc_connector
	ON services (((config::jsonb) #>> '{Network,VpcConnectorARN}')) WHERE status != 'DELETED';

CREATE TABLE vpc_connectors (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	arn             TEXT NOT NULL UNIQUE,
	id              TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	region          TEXT NOT NULL,
	name            TEXT NOT NULL,
	subnets         TEXT NOT NULL,             -- JSON array of strings
	security_groups TEXT NOT NULL,             -- JSON array of strings
	status          TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
	created_at      BIGINT NOT NULL,
	deleted_at      BIGINT NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX vpc_connectors_active_name
	ON vpc_connectors (account_id, region, name) WHERE status = 'ACTIVE';
CREATE INDEX vpc_connectors_active ON vpc_connectors (account_id, region, seq) WHERE status = 'ACTIVE';

CREATE TABLE vpc_ingress_connections (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	created_at      BIGINT NOT NULL,
	deleted_at      BIGINT NOT NULL DEFAULT 0
);

-- Names are unique among the live connections of a Scope, and a service has
-- at most one live connection.
CREATE UNIQUE INDEX vpc_ingress_live_name
	ON vpc_ingress_connections (account_id, region, name) WHERE status != 'DELETED';
CREATE UNIQUE INDEX vpc_ingress_live_service
	ON vpc_ingress_connections (service_arn) WHERE status != 'DELETED';
CREATE INDEX vpc_ingress_live ON vpc_ingress_connections (account_id, region, seq) WHERE status != 'DELETED';

CREATE TABLE custom_domains (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_arn TEXT NOT NULL,
	name        TEXT NOT NULL UNIQUE,
	www         BOOLEAN NOT NULL DEFAULT FALSE,
	status      TEXT NOT NULL,
	records     TEXT NOT NULL DEFAULT '[]', -- JSON list of validation records
	reason      TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL
);

CREATE INDEX custom_domains_service ON custom_domains (service_arn, seq);

-- blobs: certmagic's certificates, keys (sealed) and ACME account data,
-- shared by every server. Keys are paths separated by "/".
CREATE TABLE blobs (
	key         TEXT COLLATE "C" PRIMARY KEY,
	value       BYTEA NOT NULL,
	modified_at BIGINT NOT NULL
);

-- secrets and parameters: the embedded Secrets Manager and Parameter Store,
-- each resource as JSON with its values sealed by the vault.
CREATE TABLE secrets (
	arn        TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	doc        TEXT NOT NULL,
	CONSTRAINT secrets_name_unique UNIQUE (account_id, region, name)
);

CREATE TABLE parameters (
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	doc        TEXT NOT NULL,
	PRIMARY KEY (account_id, region, name)
);
