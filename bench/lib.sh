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
