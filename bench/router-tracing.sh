#!/usr/bin/env bash
# Router throughput, p50 latency and CPU per request with tracing off and
# on, for the same route and backend (BenchmarkRouterTracing in package
# router: 16 clients per core over keep-alive connections; "on" samples
# every request and exports the spans in batches over OTLP/HTTP to a
# collector that discards them). Rounds alternate off and on so background
# load hits both alike; prints each round and the medians, then on/off.
#
# With a third argument, a router test binary built from another commit
# (git worktree add /tmp/base <commit> && cd /tmp/base && go test -c -o
# /tmp/base.test ./router), each round runs it too ("base"), side by side
# with this checkout's ("new").
#
# Usage: bench/router-tracing.sh [rounds] [benchtime] [base-router.test]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
benchtime=${2:-3s}
base=${3:-}
bin=$(mktemp -d)/router.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./router
out=$(mktemp)
for ((i = 1; i <= rounds; i++)); do
	for label in ${base:+base} new; do
		test=$bin
		[[ $label == base ]] && test=$base
		for mode in off on; do
			(cd router && "$test" -test.run XXX -test.bench "^BenchmarkRouterTracing\$/^$mode\$" -test.benchtime "$benchtime") |
				grep '^BenchmarkRouterTracing' | sed "s/^/$label /" | tee -a "$out"
		done
	done
done
awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $1 ($2 ~ /\/on/ ? " on" : " off")
	for (f = 3; f < NF; f++) {
		if ($(f + 1) == "req/s") rps[k, ++nr[k]] = $f
		if ($(f + 1) == "p50-µs") p50[k, ++np[k]] = $f
		if ($(f + 1) == "cpu-µs/op") cpu[k, ++nc[k]] = $f
	}
}
END {
	for (k in nr) {
		for (i = 1; i <= nr[k]; i++) { r[i] = rps[k, i]; p[i] = p50[k, i]; c[i] = cpu[k, i] }
		R[k] = median(r, nr[k]); P[k] = median(p, np[k]); C[k] = median(c, nc[k])
		printf "%s tracing %-3s median: %8.0f req/s  p50 %6.0f µs  %6.1f CPU µs/request\n", substr(k, 1, index(k, " ") - 1), substr(k, index(k, " ") + 1), R[k], P[k], C[k]
	}
	split("base new", labels, " ")
	for (i = 1; i <= 2; i++) {
		l = labels[i]
		if (!((l " on") in R)) continue
		printf "%s on/off: throughput %.1f%%, p50 %+.0f µs, CPU per request %+.1f%%\n", l, 100 * R[l " on"] / R[l " off"], P[l " on"] - P[l " off"], 100 * (C[l " on"] / C[l " off"] - 1)
	}
}' "$out"
rm -f "$out"
