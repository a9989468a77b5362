#!/usr/bin/env bash
# Benchmarks the API on PostgreSQL side by side with SQLite, in one run: two
# servers at once, one on SQLite and one on a PostgreSQL 15 started for the
# run (scripts/start-postgres; fsync and synchronous_commit on, as shipped,
# so every acknowledged create is on disk), loaded in alternating rounds so
# that whatever else the machine does weighs on both alike:
#   signed ListConnections of 10 connections (wrk -t2 -c64), and
#   durable CreateConnection with unique names (wrk -t2 -c16).
# Prints each round and the medians. Then the takeover time after kill -9
# of a lease holder (e2e/cluster's BenchmarkTakeover; OPENRUNNER_BENCH_TAKEOVER=0
# skips it).
# Usage: bench/postgres.sh [seconds per round] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
. bench/lib.sh
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
pg=$(mktemp -d) # its own: the server's user must reach it
url=$(scripts/start-postgres "$pg" bench)
trap 'scripts/start-postgres --stop "$pg" || true; rm -rf "$pg"; cleanup' EXIT
go build -o "$tmp/openrunner" ./cmd/openrunner
export OPENRUNNER_SECRET_KEY
OPENRUNNER_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# start NAME [FLAG...]: a server, seeded with ten connections; its URL in
# $tmp/NAME.url and its wrk scripts in $tmp/NAME-list.lua, $tmp/NAME-create.lua.
start() {
	local name=$1 port
	shift
	port=$(freeport)
	"$tmp/openrunner" serve --listen "127.0.0.1:$port" --router-listen 127.0.0.1:0 --router-tls-listen 127.0.0.1:0 \
		--runtime none --data-dir "$tmp/$name" --max-connections 10000000 "$@" 2>"$tmp/$name.log" &
	pids+=($!)
	local u=http://127.0.0.1:$port
	until curl -fsS "$u/_openrunner/health" >/dev/null 2>&1; do sleep 0.1; done
	for i in $(seq 10); do
		AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws apprunner create-connection --region us-east-1 \
			--endpoint-url "$u" --connection-name "seed-$i" --provider-type GITHUB >/dev/null
	done
	echo "$u" >"$tmp/$name.url"
	python3 bench/presign.py "$u" ListConnections 'fixed:{}' >"$tmp/$name-list.lua"
	{ python3 bench/presign.py "$u" CreateConnection unsigned; cat bench/create.lua; } >"$tmp/$name-create.lua"
}
start sqlite
start postgres --database-url "$url/bench?sslmode=disable"

# rps NAME WHAT CONNS: one wrk round's requests per second.
rps() { wrk -t2 -c"$3" -d"${secs}s" -s "$tmp/$1-$2.lua" "$(cat "$tmp/$1.url")/" | awk '/Requests\/sec/ {print int($2)}'; }
# All list rounds first: the creates grow the account the lists read.
for r in $(seq "$rounds"); do
	ls=$(rps sqlite list 64) lp=$(rps postgres list 64)
	echo "$ls $lp" >>"$tmp/list"
	echo "ListConnections round $r: SQLite $ls req/s, PostgreSQL $lp req/s ($((100 * lp / ls))%)"
done
for r in $(seq "$rounds"); do
	cs=$(rps sqlite create 16) cp=$(rps postgres create 16)
	echo "$cs $cp" >>"$tmp/create"
	echo "CreateConnection round $r: SQLite $cs req/s, PostgreSQL $cp req/s"
done
ls=$(col list 1) lp=$(col list 2) cs=$(col create 1) cp=$(col create 2)
echo "median ListConnections: SQLite $ls req/s, PostgreSQL $lp req/s ($((100 * lp / ls))% of SQLite)"
echo "median CreateConnection: SQLite $cs req/s, PostgreSQL $cp req/s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in sqlite postgres; do
	if grep -q 'level=ERROR' "$tmp/$n.log"; then echo "$n server logged errors:"; grep 'level=ERROR' "$tmp/$n.log" | head; exit 1; fi
done

echo "######## takeover after kill -9 of the lease holder"
[[ ${OPENRUNNER_BENCH_TAKEOVER:-1} == 0 ]] || go test ./e2e/cluster -run '^$' -bench BenchmarkTakeover -benchtime 3x -count 1 | grep -E 'Benchmark|ok|FAIL'
