#!/usr/bin/env bash
# Benchmarks the API from outside the process: builds openrunner, starts it
# on a fresh data dir, and loads it with wrk (throughput) and bench/loadgen
# (latency at a fixed rate). Prints the figures the README's table quotes.
# Usage: bench/api.sh [seconds]     (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
tmp=$(mktemp -d)
go build -o "$tmp/openrunner" ./cmd/openrunner
# OPENRUNNER_BENCH_BIN measures another build (e.g. an older one) instead.
if [[ -n ${OPENRUNNER_BENCH_BIN:-} ]]; then cp "$OPENRUNNER_BENCH_BIN" "$tmp/openrunner"; fi
go build -o "$tmp/bare" ./bench/bare
go build -o "$tmp/loadgen" ./bench/loadgen
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$tmp/openrunner" serve --listen 127.0.0.1:$port --router-listen 127.0.0.1:0 --router-tls-listen 127.0.0.1:0 --data-dir "$tmp/data" --max-connections 10000000 ${OPENRUNNER_BENCH_FLAGS:-} 2>"$tmp/server.log" &
server=$!
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
until curl -fsS "$url/_openrunner/health" >/dev/null 2>&1; do sleep 0.1; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# Ten connections to list, like a small account.
for i in $(seq 10); do
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws apprunner create-connection --region us-east-1 \
		--endpoint-url "$url" --connection-name "seed-$i" --provider-type GITHUB >/dev/null
done

python3 bench/presign.py "$url" ListConnections 'fixed:{}' >"$tmp/list.lua"
echo "== ListConnections, signed, 10 connections: wrk -t2 -c64 -d${secs}s"
wrk -t2 -c64 -d"${secs}s" --latency -s "$tmp/list.lua" "$url/" | sed -n '/Latency Distribution/,$p'
# Side by side: the bare net/http handler (bench/bare) and the API,
# alternating, three rounds each; medians.
bare_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tmp/bare" -listen 127.0.0.1:$bare_port &
bare=$!
trap 'kill $server $bare; wait $server $bare 2>/dev/null; rm -rf "$tmp"' EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$bare_port/" 2>/dev/null; do sleep 0.1; done
rate() { wrk -t2 -c64 -d"${secs}s" -s "$tmp/list.lua" "$1/" | awk '/Requests\/sec/ {print int($2)}'; }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
bares=() apis=()
for _ in 1 2 3; do bares+=("$(rate "http://127.0.0.1:$bare_port")"); apis+=("$(rate "$url")"); done
bare_rps=$(median "${bares[@]}") rps=$(median "${apis[@]}")
echo "== side by side (medians of 3): bare net/http $bare_rps req/s (${bares[*]}), signed ListConnections $rps req/s (${apis[*]}): $(python3 -c "print(f'{$rps/$bare_rps:.2f}')") of bare"
half=$((rps / 2))
echo "== ListConnections at half that rate ($half/s), open loop"
"$tmp/loadgen" -url "$url" -target ListConnections -rate "$half" -duration "${secs}s"

{ python3 bench/presign.py "$url" CreateConnection unsigned; cat bench/create.lua; } >"$tmp/create.lua"
echo "== CreateConnection, durable (synchronous=FULL), unique names: wrk -t2 -c16 -d${secs}s"
wrk -t2 -c16 -d"${secs}s" --latency -s "$tmp/create.lua" "$url/" | sed -n '/Latency Distribution/,$p'
if grep -q 'level=ERROR' "$tmp/server.log"; then echo "server logged errors:"; grep 'level=ERROR' "$tmp/server.log" | head; exit 1; fi
