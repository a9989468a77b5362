#!/usr/bin/env bash
# Soak: TestSoakRouter with 1,000 concurrent keep-alive connections through
# the router of a built openrunner serve to one service (a Go app on the
# process runtime, five instances of MaxConcurrency 200) for 60 s; every
# request must get a 200, and the server's goroutines and Go heap must come
# back afterwards (read from /_openrunner/metrics: go_*, process_*).
# Usage: bench/soak.sh [connections] [duration]     (default 1000, 60s)
set -euo pipefail
cd "$(dirname "$0")/.."
# Three descriptors a connection (client, router, instance side) and more.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)"
export OPENRUNNER_SOAK_CONNS=${1:-1000} OPENRUNNER_SOAK_DURATION=${2:-60s}
go test -count=1 -v -timeout 30m -run '^TestSoakRouter$' ./cmd/openrunner 2>&1 | grep -v 'default credentials'
