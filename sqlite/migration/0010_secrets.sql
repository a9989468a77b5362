-- secrets and parameters are the embedded Secrets Manager and Parameter
-- Store. Each row holds the resource as JSON (doc); the values in it are
-- sealed by the vault before they reach the store, so no value is ever in
-- clear in the database.
CREATE TABLE secrets (
	arn        TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	name       TEXT NOT NULL,
	doc        TEXT NOT NULL,
	UNIQUE (account_id, region, name)
);

CREATE TABLE parameters (
	account_id TEXT NOT NULL,
	region     TEXT NOT NULL,
	name       TEXT NOT NULL,
	doc        TEXT NOT NULL,
	PRIMARY KEY (account_id, region, name)
);
