-- What a service should be (openrunner.DesiredState as JSON) and what the
-- reconciler last saw of it (openrunner.ObservedState as JSON). Services
-- stored before this migration have neither: both read back empty.
ALTER TABLE services ADD COLUMN desired TEXT NOT NULL DEFAULT '{}';
ALTER TABLE services ADD COLUMN observed TEXT NOT NULL DEFAULT '{}';
