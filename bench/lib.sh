# Shared by the bench scripts (source it): a temporary directory removed at
# exit, with the processes listed in pids stopped first; free ports; and
# medians of result columns kept in $tmp/NAME files.
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# col NAME N: the median of column N of $tmp/NAME.
col() { awk -v c="$2" '{ print $c }' "$tmp/$1" | median; }

# need_pkgs CMD=PACKAGE...: installs with apt-get the Debian packages whose
# command is missing (from PATH and /usr/sbin).
need_pkgs() {
	local need=() kv
	for kv in "$@"; do
		command -v "${kv%%=*}" >/dev/null || [[ -x /usr/sbin/${kv%%=*} ]] || need+=("${kv#*=}")
	done
	((${#need[@]})) || return 0
	local sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

tck=$(getconf CLK_TCK)
# cputicks PID: user+system ticks of PID and its children processes (nginx's
# workers are the master's children); 0 for "-".
cputicks() {
	local sum=0 p
	[[ $1 == - ]] && { echo 0; return; }
	for p in $1 $(pgrep -P "$1" || true); do sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo $sum
}

# nginx_conf PORT BACKEND_PORT [LISTEN_OPTIONS [SERVER_LINES [PROTO]]]: writes
# $tmp/nginx.conf, a reverse proxy as the benchmarks run it: 2 workers,
# access log off, keep-alive to the instance (upstream keepalive 64) and
# from the client (keepalive_requests high so that wrk's connections are
# never recycled, as Go's server never does), X-Forwarded-For and -Proto
# set as the router sets them.
nginx_conf() {
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx.conf" <<EOC
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx; uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
	keepalive_requests 100000000;
	upstream instance { server 127.0.0.1:$2; keepalive 64; }
	server {
		listen 127.0.0.1:$1 ${3:-};
		${4:-}
		location / {
			proxy_pass http://instance;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto ${5:-http};
		}
	}
}
EOC
}

# haproxy_conf PORT BACKEND_PORT: writes $tmp/haproxy.cfg, HAProxy as nginx
# above: 2 threads, no log, keep-alive both ways (http-reuse always),
# X-Forwarded-For.
haproxy_conf() {
	cat >"$tmp/haproxy.cfg" <<EOC
global
	nbthread 2
	maxconn 4000
defaults
	mode http
	timeout connect 5s
	timeout client 120s
	timeout server 120s
	timeout http-keep-alive 120s
	option http-keep-alive
	http-reuse always
frontend fe
	bind 127.0.0.1:$1
	option forwardfor
	default_backend instance
backend instance
	server i1 127.0.0.1:$2 maxconn 1000
EOC
}
