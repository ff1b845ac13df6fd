#!/usr/bin/env bash
# Parser benchmark: 10,000 virtual servers x 4 real servers with HTTP_GET,
# read by Debian's `keepalived -t` and by ours in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go run bench/genconf.go -vs 10000 -rs 4 > "$tmp/big.conf"
size=$(du -m "$tmp/big.conf" | cut -f1)
measure() { # prints "seconds maxrss_kb"
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>&1 || true
	tail -1 "$tmp/t" # "Command exited with non-zero status" may come first
}
best() { # best wall time of 3 runs, with its RSS
	local b=""; for i in 1 2 3; do r=$(measure "$@"); if [ -z "$b" ] || awk -v a="${r% *}" -v c="${b% *}" 'BEGIN{exit !(a<c)}'; then b=$r; fi; done; echo "$b"
}
ka=$(best keepalived -t -f "$tmp/big.conf")
ours=$(best ./bin/keepalived -t -f "$tmp/big.conf")
allocs=$(cd config && go test -run '^$' -bench BenchmarkLoadLarge -benchmem -benchtime 3x -args -large "$tmp/big.conf" 2>/dev/null | awk '/BenchmarkLoadLarge/ {print $5" B/op, "$7" allocs/op"}')
printf '\nparse of a %s MB config (10000 VS x 4 RS, HTTP_GET)\n' "$size"
printf '%-22s %10s %12s\n' "" "wall (s)" "peak RSS (MB)"
printf '%-22s %10s %12d\n' "keepalived 2.2.7 -t" "${ka% *}" $(( ${ka#* } / 1024 ))
printf '%-22s %10s %12d\n' "keepalived-go -t" "${ours% *}" $(( ${ours#* } / 1024 ))
awk -v a="${ours% *}" -v b="${ka% *}" -v c="${ours#* }" -v d="${ka#* }" 'BEGIN{printf "ratio ours/keepalived: time %.2f, RSS %.2f\n", a/b, c/d}'
echo "allocations (go test -bench): $allocs"
