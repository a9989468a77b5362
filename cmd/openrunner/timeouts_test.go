package main

import (
	"io"
	"testing"
	"time"
)

// TestTimeoutFlags: the slow-client timeouts have defaults, OPENRUNNER_*
// equivalents that flags override, and refuse nonsense.
func TestTimeoutFlags(t *testing.T) {
	env := map[string]string{"OPENRUNNER_BODY_TIMEOUT": "5s", "OPENRUNNER_BODY_MIN_RATE": "1000", "OPENRUNNER_IDLE_TIMEOUT": "1m"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags([]string{"--read-header-timeout", "2s", "--idle-timeout", "30s"}, getenv, io.Discard)
	if h := c.HTTPTimeouts; err != nil || h.ReadHeader != 2*time.Second || h.Body != 5*time.Second || h.BodyMinRate != 1000 || h.Idle != 30*time.Second {
		t.Fatalf("%+v, %v", c.HTTPTimeouts, err)
	}
	c, err = parseServeFlags(nil, func(string) string { return "" }, io.Discard)
	if h := c.HTTPTimeouts; err != nil || h.ReadHeader != 10*time.Second || h.Body != 30*time.Second || h.BodyMinRate != 500 || h.Idle != 120*time.Second {
		t.Fatalf("defaults: %+v, %v", c.HTTPTimeouts, err)
	}
	for _, bad := range [][]string{{"--body-timeout", "0s"}, {"--body-min-rate", "0"}, {"--read-header-timeout", "-1s"}} {
		if _, err := parseServeFlags(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	env["OPENRUNNER_BODY_MIN_RATE"] = "fast"
	if _, err := parseServeFlags(nil, getenv, io.Discard); err == nil {
		t.Error("a non-numeric OPENRUNNER_BODY_MIN_RATE must fail")
	}
}
