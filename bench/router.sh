#!/usr/bin/env bash
# Benchmarks the router (package router) side by side with its peers, from
# outside the process with wrk: the same small GET against a tiny instance
# directly, through a bare httputil.ReverseProxy (the floor for a proxy
# built on Go's standard library), through nginx and HAProxy (Debian's
# nginx-light and haproxy, installed with apt-get when missing; both with 2
# workers, keep-alive to the instance and access log off), and through the
# router. Prints one table per load: req/s, p50/p99 latency and the CPU
# time the proxy's processes (and the instance's) spent per request; then
# the router's throughput against nginx's and the latency it adds at p50
# over direct (the issue's targets: >= nginx, <= 1 ms).
#
# Two loads: CONNS connections (throughput, and latency under load, which is
# mostly queueing for the CPU) and one connection (latency without
# queueing: the per-request cost of each hop).
#
# wrk and all servers share the machine's cores, so on a small machine the
# proxied runs also pay for the proxy's CPU. CPU per request (from
# /proc/PID/stat) depends less on other load on the machine than req/s.
# Rounds alternate between targets so that background load hits them
# alike; figures are medians over rounds.
#
# Usage: bench/router.sh [seconds-per-run]
# Env:   THREADS (wrk -t, default 1)  CONNS (wrk -c, default 32)
#        ROUNDS (default 3)  DELAY (instance time per request, default 0, e.g. 1ms)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
threads=${THREADS:-1}
conns=${CONNS:-32}
rounds=${ROUNDS:-3}
delay=${DELAY:-0}
host=abc123defg.us-east-1.localhost

. bench/lib.sh
need_pkgs wrk=wrk nginx=nginx-light haproxy=haproxy
nginx=$(command -v nginx || echo /usr/sbin/nginx)
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
go build -o "$tmp/benchcmd" ./router/internal/benchcmd

bport=$(freeport) rport=$(freeport) pport=$(freeport) nport=$(freeport) hport=$(freeport)
"$tmp/benchcmd" backend -listen "127.0.0.1:$bport" -delay "$delay" &
bpid=$! && pids+=($!)
"$tmp/benchcmd" router -listen "127.0.0.1:$rport" -backend "http://127.0.0.1:$bport" -host "$host" -max-concurrency 1000 2>"$tmp/router.log" &
rpid=$! && pids+=($!)
# The bare proxy logs every client that hangs up, as wrk does when it stops.
"$tmp/benchcmd" bareproxy -listen "127.0.0.1:$pport" -backend "http://127.0.0.1:$bport" 2>/dev/null &
ppid_=$! && pids+=($!)
nginx_conf "$nport" "$bport"
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon off;' &
npid=$! && pids+=($!)
haproxy_conf "$hport" "$bport"
"$haproxy" -db -f "$tmp/haproxy.cfg" 2>"$tmp/haproxy.log" &
hpid=$! && pids+=($!)
for port in $bport $rport $pport $nport $hport; do
	for i in $(seq 200); do
		curl -fsS -H "Host: $host" "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
		((i < 200)) || { echo "nothing answers on port $port:" >&2; cat "$tmp"/*.log >&2; exit 1; }
		sleep 0.05
	done
done

# run NAME PORT CONNS FRONTPID: one wrk run; appends
# "rps p50us p99us front_cpu_us_per_req backend_cpu_us_per_req" to $tmp/res-NAME.
run() {
	local t=$threads f0 b0 f1 b1
	if (($3 < t)); then t=$3; fi
	f0=$(cputicks "$4") b0=$(cputicks "$bpid")
	wrk -t"$t" -c"$3" -d"${secs}s" --latency -H "Host: $host" "http://127.0.0.1:$2/" >"$tmp/out"
	f1=$(cputicks "$4") b1=$(cputicks "$bpid")
	if grep -q 'Non-2xx\|Socket errors' "$tmp/out"; then echo "$1: errors" >&2; cat "$tmp/out" >&2; exit 1; fi
	awk -v fc=$((f1 - f0)) -v bc=$((b1 - b0)) -v tck="$tck" '
		function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1000000; return v }
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = us($2) }
		$1 == "99%" { p99 = us($2) }
		END { printf "%d %.0f %.0f %.1f %.1f\n", rps, p50, p99, fc*1e6/tck/n, bc*1e6/tck/n }' "$tmp/out" >>"$tmp/res-$1"
}

targets=(direct bareproxy nginx haproxy router)
declare -A port=([direct]=$bport [bareproxy]=$pport [nginx]=$nport [haproxy]=$hport [router]=$rport)
declare -A pid=([direct]=- [bareproxy]=$ppid_ [nginx]=$npid [haproxy]=$hpid [router]=$rpid)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$threads -d${secs}s, $rounds rounds, instance delay $delay; nginx $("$nginx" -v 2>&1 | cut -d/ -f2), HAProxy $("$haproxy" -v | head -1 | cut -d' ' -f3); wrk and the servers share the cores"
for t in "${targets[@]}"; do run warm "${port[$t]}" "$conns" "${pid[$t]}"; done
for _ in $(seq "$rounds"); do
	for c in "$conns" 1; do
		sfx=$([[ $c == 1 ]] && echo -1 || true)
		for t in "${targets[@]}"; do run "$t$sfx" "${port[$t]}" "$c" "${pid[$t]}"; done
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

report() { # report SUFFIX TITLE
	echo "== $2"
	printf '| %-10s | %8s | %8s | %8s | %14s | %15s |\n' path req/s p50_us p99_us proxy_cpu_us/req instance_cpu_us/req
	for t in "${targets[@]}"; do
		printf '| %-10s | %8s | %8s | %8s | %14s | %15s |\n' "$t" "$(col "res-$t$1" 1)" "$(col "res-$t$1" 2)" "$(col "res-$t$1" 3)" "$(col "res-$t$1" 4)" "$(col "res-$t$1" 5)"
	done
	awk -v d="$(col "res-direct$1" 1)" -v n="$(col "res-nginx$1" 1)" -v h="$(col "res-haproxy$1" 1)" -v r="$(col "res-router$1" 1)" \
		-v dp="$(col "res-direct$1" 2)" -v np="$(col "res-nginx$1" 2)" -v rp="$(col "res-router$1" 2)" 'BEGIN {
		printf "router throughput: %.2fx nginx (target >= 1), %.2fx HAProxy, %.0f%% of direct\n", r/n, r/h, 100*r/d
		printf "router added latency at p50: %.0f us over direct (target <= 1000 us); nginx adds %.0f us\n", rp-dp, np-dp
	}'
}
report "" "$conns connections (wrk -t$threads -c$conns); CPU columns: CPU time per request, in us"
report "-1" "1 connection (wrk -t1 -c1): per-request latency without queueing"
if grep -q 'level=ERROR\|level=WARN' "$tmp/router.log"; then echo "router logged problems:"; head "$tmp/router.log"; exit 1; fi
