// Package jaegertest runs a real Jaeger (v2, the OpenTelemetry-collector
// based binary that scripts/install-jaeger builds) for tests: in-memory
// storage, OTLP over HTTP and the query API on free loopback ports, and
// reads traces back through the query API.
package jaegertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the Jaeger release scripts/install-jaeger builds.
const Version = "v1.75.0"

// Binary returns the path of the jaeger binary: $OPENRUNNER_JAEGER, else
// the cache scripts/install-jaeger fills. Without one it skips tb, or
// fails it when CI=true.
func Binary(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("OPENRUNNER_JAEGER")
	if path == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "openrunner", "jaeger", Version, "jaeger")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("no jaeger binary (run scripts/install-jaeger): %v", err)
		}
		tb.Skipf("no jaeger binary (run scripts/install-jaeger): %v", err)
	}
	return path
}

// Jaeger is a running Jaeger.
type Jaeger struct {
	// OTLP is the OTLP/HTTP base URL, e.g. http://127.0.0.1:43187: what
	// --otlp-endpoint takes.
	OTLP string
	// Query is the query API and UI base URL.
	Query string
}

// Start starts Jaeger and stops it when tb ends.
func Start(tb testing.TB) *Jaeger {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	otlp, query, grpc := freePort(tb), freePort(tb), freePort(tb)
	cfg := fmt.Sprintf(config, query, grpc, otlp)
	cfgPath := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "jaeger.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", "file:"+cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting jaeger: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		// Its storage is memory: nothing is lost if it does not finish
		// its graceful shutdown (which can wait out idle connections).
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	j := &Jaeger{OTLP: "http://" + otlp, Query: "http://" + query}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(j.Query + "/api/services")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && reachable(otlp) {
				return j
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			tb.Fatalf("jaeger exited: %s", tail(log))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			tb.Fatalf("jaeger did not start in 60s: %s", tail(log))
		}
	}
}

// config: in-memory storage, OTLP/HTTP in, the query API out, and no
// telemetry listener of its own (its default port would collide between
// parallel runs). Ports: query HTTP, query gRPC, OTLP/HTTP.
const config = `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// Span is a span as the query API returns it.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	Tags          []KeyValue  `json:"tags"`
	Duration      int64       `json:"duration"` // microseconds
	ProcessID     string      `json:"processID"`
}

// Reference links a span to its parent.
type Reference struct {
	RefType string `json:"refType"` // CHILD_OF
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a span tag or a process tag.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Process is the resource that emitted spans.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Tag returns the value of the span's tag key as a string, and whether
// it has one.
func (s Span) Tag(key string) (string, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// Parent returns the span id of the span's parent, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Traces returns the traces of a service (all of them: up to 1000).
func (j *Jaeger) Traces(ctx context.Context, service string) ([]Trace, error) {
	var out struct {
		Data   []Trace `json:"data"`
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	if err := j.get(ctx, "/api/traces?limit=1000&lookback=1h&service="+url.QueryEscape(service), &out); err != nil {
		return nil, err
	}
	if len(out.Errors) > 0 && !strings.Contains(out.Errors[0].Msg, "not found") {
		return nil, fmt.Errorf("jaeger: %s", out.Errors[0].Msg)
	}
	return out.Data, nil
}

// Services returns the service names Jaeger has spans of.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var out struct {
		Data []string `json:"data"`
	}
	err := j.get(ctx, "/api/services", &out)
	return out.Data, err
}

// get decodes the query API's JSON answer to path into out.
func (j *Jaeger) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.Query+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(out)
}

// WaitSpans polls until the service has at least n spans (exports are
// batched), and returns its traces.
func (j *Jaeger) WaitSpans(tb testing.TB, service string, n int) []Trace {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		traces, err := j.Traces(context.Background(), service)
		if err != nil {
			tb.Fatal(err)
		}
		count := 0
		for _, t := range traces {
			count += len(t.Spans)
		}
		if count >= n {
			return traces
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Jaeger has %d spans of %s after 30s, want %d", count, service, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
