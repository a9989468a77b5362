-- ephemeral holds short-lived records every server must see (console
-- sessions, started OAuth handshakes). Expired rows read as absent and
-- are swept on writes.
CREATE TABLE ephemeral (
	kind       TEXT NOT NULL,
	key        TEXT NOT NULL,
	value      BYTEA NOT NULL,
	expires_at BIGINT NOT NULL, -- Unix nanoseconds
	PRIMARY KEY (kind, key)
);

CREATE INDEX ephemeral_expiry ON ephemeral (expires_at);
