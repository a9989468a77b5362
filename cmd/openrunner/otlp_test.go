package main

import (
	"io"
	"testing"
)

func TestOTLPEndpointFlag(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	getenv := func(k string) string { return env[k] }
	endpoint := func(args ...string) string {
		t.Helper()
		c, err := parseServeFlags(args, getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c.OTLPEndpoint
	}
	if got := endpoint(); got != "" {
		t.Fatalf("default %q, want none", got)
	}
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel:4318"
	if got := endpoint(); got != "http://otel:4318" {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT: %q", got)
	}
	env["OPENRUNNER_OTLP_ENDPOINT"] = "http://jaeger:4318"
	if got := endpoint(); got != "http://jaeger:4318" {
		t.Fatalf("OPENRUNNER_OTLP_ENDPOINT does not win: %q", got)
	}
	if got := endpoint("--otlp-endpoint", "http://127.0.0.1:4318"); got != "http://127.0.0.1:4318" {
		t.Fatalf("the flag does not win: %q", got)
	}
}
