#!/usr/bin/env bash
# Fuzzes the API at scale: builds openrunner, starts it on a fresh data dir
# (process runtime), sends generated hostile requests across all 37
# operations (bench/fuzz, package internal/fuzzapi) and checks the answers
# and the server's log: 0 panics, 0 5xx, every 4xx with an AWS __type.
# Usage: bench/fuzz.sh [requests] [seed]     (default 1000000, 1)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
seed=${2:-1}
tmp=$(mktemp -d)
go build -o "$tmp/openrunner" ./cmd/openrunner
go build -o "$tmp/fuzz" ./bench/fuzz
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$tmp/openrunner" serve --listen 127.0.0.1:$port --router-listen 127.0.0.1:0 --router-tls-listen 127.0.0.1:0 \
	--data-dir "$tmp/data" --runtime process --log-level warn 2>"$tmp/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
until curl -fsS "$url/_openrunner/health" >/dev/null 2>&1; do sleep 0.1; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $n requests, seed $seed"
status=0
"$tmp/fuzz" -url "$url" -n "$n" -seed "$seed" || status=1
kill -0 $server || { echo "the server died"; status=1; }
if grep -Ei 'panic|level=ERROR' "$tmp/server.log" | head; then echo "the server logged panics or errors"; status=1; fi
echo "server log: $(wc -l <"$tmp/server.log") lines, no panic or error: $([ $status = 0 ] && echo yes || echo NO)"
exit $status
