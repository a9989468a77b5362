-- leases say which server reconciles a piece of work (a service) until
-- when: a server takes the lease on a key before it acts, renews it while
-- it works, and another server takes it once it has expired.
CREATE TABLE leases (
	key        TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at INTEGER NOT NULL -- Unix nanoseconds
) WITHOUT ROWID;

-- leases_holder serves FindLeases, which lists one holder's leases by key.
CREATE INDEX leases_holder ON leases (holder, key);
