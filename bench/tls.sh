#!/usr/bin/env bash
# Benchmarks the router's HTTPS listener (package edge in front of package
# router, as openrunner serve runs it) side by side with nginx terminating
# TLS in front of the same tiny instance:
#
#   1. HTTPS requests per second on kept-alive connections (wrk over
#      https, HTTP/1.1, CONNS connections);
#   2. new TLS handshakes per second (bench/tlsload: a full handshake, one
#      GET with Connection: close, WORKERS at a time; no session resumption).
#
# Both servers use an ECDSA P-256 certificate and TLS 1.3 with X25519.
# nginx (Debian's nginx-light) runs 2 workers with access_log off and
# keep-alive to the instance (upstream keepalive 64, keepalive_requests high
# so that wrk's connections are never recycled, as Go's server never does).
# The router's Go process uses all cores (GOMAXPROCS = cores). wrk, tlsload
# and the servers share the machine's cores; CPU time per request (from
# /proc/PID/stat, nginx's workers summed) does not depend on that sharing.
# Rounds alternate between the two; figures are medians over rounds.
#
# Usage: bench/tls.sh [seconds-per-run]
# Env:   CONNS (wrk -c, default 32)  WORKERS (tlsload, default 8)  ROUNDS (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${CONNS:-32}
workers=${WORKERS:-8}
rounds=${ROUNDS:-3}
host=abc123defg.us-east-1.apprunner.localhost
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if ((${#need[@]})); then
	sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

. bench/lib.sh
go build -o "$tmp/benchcmd" ./router/internal/benchcmd
go build -o "$tmp/tlsload" ./bench/tlsload

bport=$(freeport) rport=$(freeport) nport=$(freeport)
"$tmp/benchcmd" backend -listen "127.0.0.1:$bport" &
bpid=$! && pids+=($!)
"$tmp/benchcmd" router -listen "127.0.0.1:$rport" -backend "http://127.0.0.1:$bport" -host "$host" -max-concurrency 1000 -tls-ca-dir "$tmp/ca" 2>"$tmp/router.log" &
rpid=$! && pids+=($!)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=$host" \
	-addext "subjectAltName=DNS:$host" -keyout "$tmp/nginx.key" -out "$tmp/nginx.crt" 2>/dev/null
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx; uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
	keepalive_requests 100000000;
	upstream instance { server 127.0.0.1:$bport; keepalive 64; }
	server {
		listen 127.0.0.1:$nport ssl http2;
		ssl_certificate $tmp/nginx.crt;
		ssl_certificate_key $tmp/nginx.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ecdh_curve X25519:prime256v1;
		location / {
			proxy_pass http://instance;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto https;
		}
	}
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon off;' &
npid=$! && pids+=($!)
for port in $rport $nport; do
	until curl -fsSk --resolve "$host:$port:127.0.0.1" "https://$host:$port/" >/dev/null 2>&1; do sleep 0.05; done
done

tck=$(getconf CLK_TCK)
# cputicks PID: user+system ticks of PID and its children processes (nginx's
# workers are the master's children).
cputicks() {
	local sum=0 p
	for p in $1 $(pgrep -P "$1" || true); do sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo $sum
}

# keepalive NAME PORT PID: one wrk run; appends "rps p50us p99us cpu_us_per_req".
keepalive() {
	local c0 c1
	c0=$(cputicks "$3")
	wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Host: $host" "https://127.0.0.1:$2/" >"$tmp/out"
	c1=$(cputicks "$3")
	if grep -q 'Non-2xx\|Socket errors' "$tmp/out"; then echo "$1: errors" >&2; cat "$tmp/out" >&2; exit 1; fi
	awk -v cpu=$((c1 - c0)) -v tck="$tck" '
		function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1000000; return v }
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = us($2) }
		$1 == "99%" { p99 = us($2) }
		END { printf "%d %.0f %.0f %.1f\n", rps, p50, p99, cpu*1e6/tck/n }' "$tmp/out" >>"$tmp/ka-$1"
}
# handshakes NAME PORT PID: one tlsload run; appends "hs/s p50us p99us cpu_us_per_handshake".
handshakes() {
	local c0 c1
	c0=$(cputicks "$3")
	"$tmp/tlsload" -addr "127.0.0.1:$2" -sni "$host" -workers "$workers" -duration "${secs}s" >"$tmp/out"
	c1=$(cputicks "$3")
	awk -v cpu=$((c1 - c0)) -v tck="$tck" '{ printf "%d %d %d %.1f\n", $2, $4, $6, cpu*1e6/tck/$8 }' "$tmp/out" >>"$tmp/hs-$1"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx $("$nginx" -v 2>&1 | cut -d/ -f2), 2 workers; ${secs}s runs, $rounds rounds alternating; load tools and servers share the cores"
keepalive warm "$rport" "$rpid"
keepalive warm "$nport" "$npid"
for _ in $(seq "$rounds"); do
	keepalive router "$rport" "$rpid"
	keepalive nginx "$nport" "$npid"
	handshakes router "$rport" "$rpid"
	handshakes nginx "$nport" "$npid"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== HTTPS on kept-alive connections (wrk -t1 -c$conns, HTTP/1.1)"
printf '%-8s %8s %8s %8s %16s\n' server req/s p50_us p99_us server_cpu_us/req
for t in router nginx; do
	printf '%-8s %8s %8s %8s %16s\n' "$t" "$(col "ka-$t" 1)" "$(col "ka-$t" 2)" "$(col "ka-$t" 3)" "$(col "ka-$t" 4)"
done
echo "== new TLS handshakes (tlsload, $workers at a time: handshake + one GET + close)"
printf '%-8s %8s %8s %8s %16s\n' server hs/s p50_us p99_us server_cpu_us/hs
for t in router nginx; do
	printf '%-8s %8s %8s %8s %16s\n' "$t" "$(col "hs-$t" 1)" "$(col "hs-$t" 2)" "$(col "hs-$t" 3)" "$(col "hs-$t" 4)"
done
awk -v r="$(col ka-router 1)" -v n="$(col ka-nginx 1)" -v hr="$(col hs-router 1)" -v hn="$(col hs-nginx 1)" 'BEGIN {
	printf "router/nginx: %.0f%% of the kept-alive req/s, %.0f%% of the handshakes/s\n", 100*r/n, 100*hr/hn }'
if grep -q 'level=ERROR\|level=WARN' "$tmp/router.log"; then echo "router logged problems:"; head "$tmp/router.log"; exit 1; fi
