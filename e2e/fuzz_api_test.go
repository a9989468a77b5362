package e2e_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/fuzzapi"
	"github.com/openrunner/openrunner/internal/testutil"
)

// TestFuzzAPI sends generated hostile requests across all 37 operations
// (malformed JSON, wrong types, huge and deep values, bad Unicode, random
// bytes; most signed, some unsigned or wrongly signed) through the full
// HTTP stack of a running server: none may get a 5xx or no answer, every
// 4xx must carry an AWS __type, and the server must log no panic or error.
// OPENRUNNER_FUZZ_REQUESTS sets the count (default 20,000); bench/fuzz.sh
// runs a million against a built binary.
func TestFuzzAPI(t *testing.T) {
	n := 20000
	if v := os.Getenv("OPENRUNNER_FUZZ_REQUESTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	if testing.Short() {
		n = 2000
	}
	model, err := fuzzapi.LoadModel("../wire/model/apprunner-2020-05-15.json")
	if err != nil {
		t.Fatal(err)
	}
	if ops := len(model.OperationNames()); ops != 37 {
		t.Fatalf("the model has %d operations, want 37", ops)
	}
	cfg, logs := loggedConfig(daemon.Config{Runtime: "process"})
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d := testutil.MustRunDaemon(t, cfg)
	res := fuzzapi.Run(context.Background(), fuzzapi.Options{URL: d.URL(), Model: model, Requests: n, Seed: 1})
	t.Log(res.Summary())
	if res.Sent != n || res.Failures != 0 {
		t.Errorf("%d of %d requests broke a rule", res.Failures, res.Sent)
	}
	for _, op := range model.OperationNames() {
		if res.ByOp[op] == 0 {
			t.Errorf("%s was never tried", op)
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(strings.ToLower(line), "panic") || strings.Contains(line, "level=ERROR") {
			t.Errorf("server log: %.500s", line)
		}
	}
}
