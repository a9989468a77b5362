#!/usr/bin/env bash
# Benchmarks the API on PostgreSQL side by side with SQLite, in one run:
# bench/api.sh (signed ListConnections and durable CreateConnection, through
# wrk) against a server on SQLite, then against one on a PostgreSQL 15
# server started for the run (scripts/start-postgres; fsync and
# synchronous_commit on, as shipped, so every acknowledged create is on
# disk). Then the takeover time after kill -9 of a lease holder
# (e2e/cluster's BenchmarkTakeover).
# Usage: bench/postgres.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
pg=$(mktemp -d)
url=$(scripts/start-postgres "$pg" bench)
trap 'scripts/start-postgres --stop "$pg" || true; rm -rf "$pg"' EXIT

echo "######## SQLite"
bench/api.sh "$secs"
echo
echo "######## PostgreSQL 15 (same machine, over TCP loopback)"
OPENRUNNER_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
	OPENRUNNER_BENCH_FLAGS="--database-url $url/bench?sslmode=disable" bench/api.sh "$secs"
echo
echo "######## takeover after kill -9 of the lease holder"
[[ ${OPENRUNNER_BENCH_TAKEOVER:-1} == 0 ]] || go test ./e2e/cluster -run '^$' -bench BenchmarkTakeover -benchtime 3x -count 1 | grep -E 'Benchmark|ok|FAIL'
