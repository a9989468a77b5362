#!/usr/bin/env bash
# Router throughput, p50 latency and CPU per request with tracing off and
# on, for the same route and backend (BenchmarkRouterTracing in package
# router: 16 clients per core over keep-alive connections; "on" samples
# every request and exports the spans in batches over OTLP/HTTP to a
# collector that discards them). Rounds alternate off and on so background
# load hits both alike; prints each round and the medians, then on/off.
#
# Usage: bench/router-tracing.sh [rounds] [benchtime]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
benchtime=${2:-3s}
bin=$(mktemp -d)/router.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./router
out=$(mktemp)
for ((i = 1; i <= rounds; i++)); do
	for mode in off on; do
		"$bin" -test.run XXX -test.bench "^BenchmarkRouterTracing\$/^$mode\$" -test.benchtime "$benchtime" | grep '^BenchmarkRouterTracing' | tee -a "$out"
	done
done
awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	mode = ($1 ~ /\/on/) ? "on" : "off"
	for (f = 2; f < NF; f++) {
		if ($(f + 1) == "req/s") rps[mode, ++nr[mode]] = $f
		if ($(f + 1) == "p50-µs") p50[mode, ++np[mode]] = $f
		if ($(f + 1) == "cpu-µs/op") cpu[mode, ++nc[mode]] = $f
	}
}
END {
	for (m in nr) {
		for (i = 1; i <= nr[m]; i++) { r[i] = rps[m, i]; p[i] = p50[m, i]; c[i] = cpu[m, i] }
		R[m] = median(r, nr[m]); P[m] = median(p, np[m]); C[m] = median(c, nc[m])
		printf "tracing %-3s median: %8.0f req/s  p50 %6.0f µs  %6.1f CPU µs/request\n", m, R[m], P[m], C[m]
	}
	printf "on/off: throughput %.1f%%, p50 %+.0f µs, CPU per request %+.1f%%\n", 100 * R["on"] / R["off"], P["on"] - P["off"], 100 * (C["on"] / C["off"] - 1)
}' "$out"
rm -f "$out"
