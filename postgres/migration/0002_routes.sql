-- routes holds the route each service's lease holder gives its router
-- (package cluster's encoding), so every server's router can serve it.
-- version orders the writes of all servers.
CREATE SEQUENCE route_versions;

CREATE TABLE routes (
	service_arn TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,
	route       BYTEA NOT NULL,
	version     BIGINT NOT NULL
);
