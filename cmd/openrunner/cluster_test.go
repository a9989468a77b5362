package main

import (
	"io"
	"testing"
	"time"
)

// TestParseClusterFlags: the several-servers flags and their environment.
func TestParseClusterFlags(t *testing.T) {
	env := map[string]string{"OPENRUNNER_DATABASE_URL": "postgres://db/openrunner", "OPENRUNNER_LEASE_TTL": "20s",
		"OPENRUNNER_RESYNC_INTERVAL": "2s", "OPENRUNNER_ADVERTISE_ADDRESS": "10.0.0.5"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags(nil, getenv, io.Discard)
	if err != nil || c.DatabaseURL != "postgres://db/openrunner" || c.LeaseTTL != 20*time.Second || c.ResyncInterval != 2*time.Second || c.AdvertiseAddress != "10.0.0.5" {
		t.Fatalf("from the environment: %+v, %v", c, err)
	}
	c, err = parseServeFlags([]string{"--lease-ttl", "5s", "--database-url", "postgres://other/x"}, getenv, io.Discard)
	if err != nil || c.LeaseTTL != 5*time.Second || c.DatabaseURL != "postgres://other/x" {
		t.Fatalf("flags win: %+v, %v", c, err)
	}
	c, err = parseServeFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.DatabaseURL != "" || c.LeaseTTL != 15*time.Second || c.ResyncInterval != 10*time.Second {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"--lease-ttl", "0s"}, {"--resync-interval", "1ms"}} {
		if _, err := parseServeFlags(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v must fail", bad)
		}
	}
	env["OPENRUNNER_LEASE_TTL"] = "soon"
	if _, err := parseServeFlags(nil, getenv, io.Discard); err == nil {
		t.Error("a malformed OPENRUNNER_LEASE_TTL must fail")
	}
}
