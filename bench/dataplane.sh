#!/usr/bin/env bash
# bench-dataplane: HTTP through the VIP vs straight to one backend, in the
# same run, in the seed topology (bench/internal/seedtopo.sh) with our
# daemon on both nodes (lab configs, lb_kind DR, rr). On a kernel without
# IPVS the daemon balances on its nftables data plane (netdev ingress on the
# MASTER: hash of the 5-tuple, then local delivery or MAC rewrite + fwd to
# the BACKUP, which accepts the VIP by the seed's REDIRECT rule).
#
# wrk runs from the client for DURATION seconds per measurement, ROUNDS
# rounds, the two targets alternating (which one goes first flips each
# round): http://VIP/ (spread over both nodes) and http://198.51.100.11/
# (node a's web server alone). Two modes: keepalive (wrk's default, few
# long connections, so the per-packet path is measured) and close
# (Connection: close, a new TCP connection per request, so the
# per-connection path is measured as ab does in the seed). Printed per run:
# requests/s, p99 latency, errors and where the CPU went (whole box, its
# softirq share, wrk, each web server; percent of one core; the box is
# shared, so other tenants show as box minus the rest). PROFILE=1 adds a
# perf profile per run (share per command, netfilter's share). Summary:
# mean requests/s, worst p99 and the ratio VIP/direct. Target (DR):
# through the VIP >= 90% of direct.
#
# Needs root, iproute2, iptables, go, wrk (apt-get install wrk if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
MODES=${MODES:-keepalive close}
PROFILE=${PROFILE:-0} # 1: perf record -a during each run, print the top symbols
[ "$(id -u)" = 0 ] || { echo "bench-dataplane needs root (network namespaces)" >&2; exit 1; }
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 120 ] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 10 ] &&
	[ "$CONNS" -le 1000 ] || { echo "DURATION 1..120 s, ROUNDS 1..10, CONNS <= 1000" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
	echo "wrk missing: apt-get install -y wrk" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
fi
for c in ip iptables unshare go wrk; do
	command -v $c >/dev/null || { echo "missing $c (Debian packages iproute2 iptables util-linux wrk; Go)" >&2; exit 1; }
done

SEED_PREFIX=kgbp$$
tmp=$(mktemp -d)
. bench/internal/seedtopo.sh
cleanup() {
	seed_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

seed_build
seed_topo
seed_web a
seed_web b
seed_daemon ours a
seed_wait 20 seed_holds_vip a || { echo "node a never became MASTER" >&2; cat "$tmp/ours-a.log" >&2; exit 1; }
seed_daemon ours b
seed_wait 20 seed_has_redirect b || { echo "node b never ran notify_backup" >&2; cat "$tmp/ours-b.log" >&2; exit 1; }
both_up() { [ "$(grep -c 'succeed on service' "$tmp/ours-a.log" || true)" -ge 2 ]; }
seed_wait 30 both_up || { echo "node a's checkers never saw both real servers up" >&2; cat "$tmp/ours-a.log" >&2; exit 1; }
plane=$(grep -o 'using the nftables data plane' "$tmp/ours-a.log" | head -1 || true)
plane=${plane:+nftables}
plane=${plane:-IPVS}
# A client making a connection per request needs its TIME_WAIT ports back.
ip netns exec "$NS_client" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"

hz=$(getconf CLK_TCK)
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# cpu_box: "busy softirq total" jiffies of the whole machine.
cpu_box() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, $8, t }' /proc/stat; }
served() { grep -c "^$ADDR_client - - " "$tmp/etc-$1/access.log" || true; }

# measure MODE TARGET ROUND: one wrk run; appends a result line.
measure() {
	local mode=$1 target=$2 round=$3 url hdr=() out box0 box1 w0 w1 a0 a1 b0 b1 wpid
	[ "$target" = vip ] && url="http://$VIP/" || url="http://$ADDR_a/"
	[ "$mode" = close ] && hdr=(-H "Connection: close")
	: >"$tmp/etc-a/access.log"; : >"$tmp/etc-b/access.log"
	box0=$(cpu_box); a0=$(ticks "$WEB_PID_a"); b0=$(ticks "$WEB_PID_b")
	ip netns exec "$NS_client" wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 5s --latency "${hdr[@]}" "$url" >"$tmp/wrk.out" 2>&1 &
	wpid=$!
	local ppid=
	if [ "$PROFILE" = 1 ]; then
		perf record -q -a -F 499 -o "$tmp/perf-$mode-$target-$round.data" -- sleep "$DURATION" >/dev/null 2>&1 &
		ppid=$!
	fi
	# wrk's own CPU: the last reading before it exits (a reading of the
	# exiting process may come back lower or empty, so keep the highest).
	local w1=0 t
	while kill -0 $wpid 2>/dev/null; do
		t=$(ticks $wpid); [ "${t:-0}" -gt "$w1" ] && w1=$t; sleep 0.2
	done
	wait $wpid || { echo "wrk failed:" >&2; cat "$tmp/wrk.out" >&2; exit 1; }
	box1=$(cpu_box); a1=$(ticks "$WEB_PID_a"); b1=$(ticks "$WEB_PID_b")
	[ -z "$ppid" ] || wait "$ppid" || true
	sleep 0.3 # access log flush (every 100 ms)
	awk -v mode="$mode" -v target="$target" -v round="$round" -v box0="$box0" -v box1="$box1" -v hz="$hz" \
		-v w="$w1" -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v d="$DURATION" -v na="$(served a)" -v nb="$(served b)" '
		function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
		/Requests\/sec:/ { rps = $2 }
		/^ +99%/ { p99 = ms($2) }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		/Non-2xx/ { err += $NF }
		END {
			split(box0, x, " "); split(box1, y, " "); tot = y[3] - x[3]
			# Percent of one core; the box has ncpu cores, so 100% x ncpu is all of it.
			busy = (y[1] - x[1]) * 100 / tot * ncpu; sirq = (y[2] - x[2]) * 100 / tot * ncpu
			printf "%s %s %d %.0f %.2f %d %.0f %.0f %.0f %.0f %.0f %d %d\n", mode, target, round, rps, p99, err,
				busy, sirq, w * 100 / hz / d, a * 100 / hz / d, b * 100 / hz / d, na, nb
		}' ncpu="$(nproc)" "$tmp/wrk.out" >>"$tmp/results"
	cp "$tmp/wrk.out" "$tmp/wrk-$mode-$target-$round.out"
}

: >"$tmp/results"
for mode in $MODES; do
	for round in $(seq "$ROUNDS"); do
		if [ $((round % 2)) = 1 ]; then order="direct vip"; else order="vip direct"; fi
		for target in $order; do measure "$mode" "$target" "$round"; done
	done
done
if [ "$PROFILE" = 1 ]; then
	for f in "$tmp"/perf-*.data; do
		echo; echo "== profile $(basename "$f" .data): whole machine (perf record -a -F 499)"
		perf report -q --stdio -i "$f" --sort comm --percent-limit 2 2>/dev/null | sed '/^$/d' | awk '{ printf "   %s %s", $2, $1 } END { print "" }'
		# Netfilter's share: the nftables data plane (netdev ingress, hash,
		# fwd) and conntrack/NAT (the REDIRECT rule on the BACKUP).
		perf report -q --stdio -i "$f" --sort sym 2>/dev/null | awk '
			$1 ~ /%$/ { p = $1 + 0; s = $NF
				if (s ~ /^(nft_|nf_tables|__nft|jhash)/) nft += p
				else if (s ~ /^(nf_conntrack|__nf_conntrack|nf_ct_|nf_nat|__nf_nat|ipt_|nf_hook_slow|hash_conntrack|nf_confirm|tcp_packet|nf_checksum)/) ct += p
				else if (s ~ /^(pv_native_safe_halt|default_idle|cpuidle|intel_idle)/) idle += p }
			END { printf "   netfilter: nftables %.1f%%, conntrack/nat %.1f%%; idle %.1f%% (of all samples)\n", nft, ct, idle }'
		perf report -q --stdio -i "$f" --sort sym --percent-limit 1 2>/dev/null | sed '/^$/d' | head -12
	done
fi
seed_holds_vip a && ! seed_holds_vip b || echo "warning: the VIP moved during the benchmark" >&2

echo
echo "bench-dataplane: seed topology, our daemon on both nodes, lb_kind DR rr on the $plane data plane"
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s from the client; $ROUNDS rounds per mode; $(nproc) cores shared by client, both nodes and the kernel"
echo "direct = http://$ADDR_a/ (node a only); vip = http://$VIP/ (a local + b by DR). CPU columns: percent of one core."
printf '%-9s %-6s %5s %10s %9s %6s | %5s %7s %5s %6s %6s | %7s %7s\n' mode target round "req/s" "p99 ms" errors box softirq wrk "web a" "web b" "a reqs" "b reqs"
while read -r mode target round rps p99 err box sirq w a b na nb; do
	printf '%-9s %-6s %5d %10d %9.2f %6d | %5d %7d %5d %6d %6d | %7d %7d\n' "$mode" "$target" "$round" "$rps" "$p99" "$err" "$box" "$sirq" "$w" "$a" "$b" "$na" "$nb"
done <"$tmp/results"
echo
awk '{ k = $1 " " $2; rps[k] += $4; n[k]++; if ($4 > best[k]) best[k] = $4; if ($5 > p99[k]) p99[k] = $5; err[k] += $6
	if (!($1 in seen)) { seen[$1] = 1; modes[++m] = $1 } }
	END {
		printf "%-9s %13s %11s %11s %11s %7s %11s %7s  %s\n", "summary", "direct req/s", "vip req/s", "direct p99", "vip p99", "ratio", "(best/best)", "errors", "target vip >= 90% of direct"
		for (i = 1; i <= m; i++) { md = modes[i]; d = md " direct"; v = md " vip"
			rd = rps[d] / n[d]; rv = rps[v] / n[v]
			printf "%-9s %13.0f %11.0f %8.2f ms %8.2f ms %6.1f%% %10.1f%% %7d  %s\n", md, rd, rv, p99[d], p99[v], 100 * rv / rd,
				100 * best[v] / best[d], err[d] + err[v], (rv >= 0.9 * rd) ? "met" : "MISSED" }
		print "(req/s: mean of the rounds, judged against the target; best/best: best round of each; p99: worst round)"
	}' "$tmp/results"
