#!/usr/bin/env bash
# bench-daemon: idle resources of keepalived-go vs Debian's keepalived 2.2.7
# with the seed config, in the same run and over the same minutes.
#
# The seed topology (bench/internal/seedtopo.sh): nodes a and b on a bridge,
# both real servers up (seedweb) so every HTTP_GET succeeds. Each
# implementation gets a topology of its own (its own namespaces, bridge and
# web servers): a runs it as MASTER (lab-master.conf) and b as BACKUP
# (lab-backup.conf), so VRRP is real (adverts every second, notify scripts,
# redirect rule on b). Both pairs run at the same time and, after SETTLE
# seconds, the process tree of each daemon (ours: one process; keepalived:
# parent + VRRP child + checker child) is measured over the same IDLE
# seconds. Measured one after the other, the two compared the machine's
# drift as much as the implementations: on a shared VM the same daemon's
# idle CPU moves by 10-20% from one minute to the next.
#   RSS  sum of VmRSS over the tree (mean of samples every 5 s); PSS (from
#        smaps_rollup) beside it, since forked children share pages that
#        VmRSS counts once per process;
#   CPU  utime+stime deltas from /proc/<pid>/stat (plus cutime+cstime of
#        reaped children), as CPU seconds per minute, and the scheduler's
#        per-thread run time (schedstat, ns), which the target uses.
# ROUNDS (default 3) repeats the measurement with fresh daemons; the table
# shows every round and the ratio of the sums.
# Target: ours <= keepalived's total on the MASTER node.
#
# This kernel may lack IPVS; keepalived's checker then exits fatally and
# takes the daemon down. Debian's keepalived therefore runs with
# bench/internal/fakeipvs.so preloaded (IPVS socket options answered as an
# empty IPVS would; see the file): its VRRP, checkers and scripts are real,
# only the kernel calls of IPVS are not. Ours uses its nftables data plane
# (lvs_backend auto) there, and IPVS where the kernel has it.
#
# Needs root, iproute2, iptables, keepalived, gcc (for the shim), go.
set -euo pipefail
cd "$(dirname "$0")/.."
SETTLE=${SETTLE:-10}
IDLE=${IDLE:-60}
ROUNDS=${ROUNDS:-3}
# OURS_BASE names a second build of our daemon measured beside the others
# as "keepalived-go (base)", so two builds compare in the same run.
OURS_BASE=${OURS_BASE:-}
impls="ours keepalived"
[ -z "$OURS_BASE" ] || impls="ours keepalived base"
[ "$(id -u)" = 0 ] || { echo "bench-daemon needs root (network namespaces)" >&2; exit 1; }
for c in ip iptables unshare /usr/sbin/keepalived go; do
	command -v $c >/dev/null || { echo "missing $c (Debian packages iproute2 iptables util-linux keepalived; Go)" >&2; exit 1; }
done
[ "$IDLE" -ge 5 ] && [ "$IDLE" -le 600 ] && [ "$SETTLE" -le 120 ] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 10 ] ||
	{ echo "IDLE must be 5..600 s, SETTLE <= 120 s, ROUNDS 1..10" >&2; exit 1; }

base=$(mktemp -d)
sides=()
cleanup() {
	local pid
	for pid in "${sides[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${sides[@]}"; do wait "$pid" 2>/dev/null || true; done
	# Each side cleans its namespaces on exit; this catches a side that
	# could not (killed hard).
	for impl in ours keepalived; do
		(SEED_PREFIX=kgbd$$${impl:0:1}; . bench/internal/seedtopo.sh; seed_cleanup)
	done
	rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SEED_PREFIX=kgbd$$m tmp=$base
. bench/internal/seedtopo.sh
seed_build
[ -z "$OURS_BASE" ] || cp "$OURS_BASE" "$base/keepalived-base"
KA_PRELOAD=
if [ -e /proc/net/ip_vs ]; then
	ipvs="kernel IPVS present: keepalived runs unmodified"
else
	command -v gcc >/dev/null || { echo "no IPVS in this kernel and no gcc to build bench/internal/fakeipvs.c (Debian package gcc)" >&2; exit 1; }
	gcc -shared -fPIC -O2 -o "$base/fakeipvs.so" bench/internal/fakeipvs.c -ldl
	KA_PRELOAD=$base/fakeipvs.so
	ipvs="no IPVS in this kernel: keepalived runs with fakeipvs.so (IPVS calls answered, not applied); ours on nftables"
fi
hz=$(getconf CLK_TCK)

# side IMPL ROUND: IMPL's pair in a seed topology of its own; touches
# $base/IMPL.ready once settled, measures from $base/go.ROUND for IDLE
# seconds, appends its two result lines to $base/IMPL.results.
side() {
	local impl=$1 round=$2
	SEED_PREFIX=kgbd$$${impl:0:1}
	tmp=$base/side-$impl
	mkdir -p "$tmp"
	cp "$base/keepalived" "$base/seedweb" "$tmp/"
	[ -z "$OURS_BASE" ] || cp "$base/keepalived-base" "$tmp/"
	. bench/internal/seedtopo.sh
	trap seed_cleanup EXIT
	trap 'exit 143' TERM
	seed_topo
	seed_web a
	seed_web b
	seed_wait 10 ip netns exec "$NS_client" bash -c "exec 3<>/dev/tcp/$ADDR_a/80 && exec 3<>/dev/tcp/$ADDR_b/80" 2>/dev/null ||
		{ echo "$impl: web servers did not come up" >&2; exit 1; }
	# checker_gets NODE SRC: HTTP_GETs from SRC's checker in NODE's access log.
	checker_gets() { grep -c "^$2 - - .*GET /apache2-default/" "$tmp/etc-$1/access.log" || true; }
	local n
	for n in a b; do seed_reset $n; : >"$tmp/etc-$n/access.log"; done
	seed_daemon "$impl" a
	seed_wait 20 seed_holds_vip a || { echo "$impl: node a never became MASTER" >&2; cat "$tmp/$impl-a.log" >&2; exit 1; }
	seed_daemon "$impl" b
	seed_wait 20 seed_has_redirect b || { echo "$impl: node b never ran notify_backup" >&2; cat "$tmp/$impl-b.log" >&2; exit 1; }
	touch "$base/$impl.ready"
	until [ -e "$base/go.$round" ]; do sleep 0.05; done
	for n in a b; do
		local pid="DAEMON_PID_$n"
		kill -0 "${!pid}" 2>/dev/null || { echo "$impl on $n died" >&2; cat "$tmp/$impl-$n.log" >&2; exit 1; }
	done
	seed_holds_vip a && ! seed_holds_vip b || { echo "$impl: VIP not on a alone after settling" >&2; exit 1; }
	local gets0a gets0b u0a u0b ua ub t0 t1 left=$IDLE step
	gets0a=$(( $(checker_gets a "$ADDR_a") + $(checker_gets b "$ADDR_a") ))
	gets0b=$(( $(checker_gets a "$ADDR_b") + $(checker_gets b "$ADDR_b") ))
	u0a=$(seed_usage "$DAEMON_PID_a"); u0b=$(seed_usage "$DAEMON_PID_b")
	t0=$(date +%s.%N)
	: >"$tmp/samples-a"; : >"$tmp/samples-b"
	while [ "$left" -gt 0 ]; do
		step=$((left < 5 ? left : 5)); sleep "$step"; left=$((left - step))
		ua=$(seed_usage "$DAEMON_PID_a"); ub=$(seed_usage "$DAEMON_PID_b")
		echo "$ua" >>"$tmp/samples-a"; echo "$ub" >>"$tmp/samples-b"
	done
	t1=$(date +%s.%N)
	local getsa getsb
	getsa=$(( $(checker_gets a "$ADDR_a") + $(checker_gets b "$ADDR_a") - gets0a ))
	getsb=$(( $(checker_gets a "$ADDR_b") + $(checker_gets b "$ADDR_b") - gets0b ))
	seed_holds_vip a && ! seed_holds_vip b || { echo "$impl: VIP moved during the measurement" >&2; exit 1; }
	for n in a b; do
		local u0 gets role
		if [ $n = a ]; then u0=$u0a gets=$getsa role=MASTER; else u0=$u0b gets=$getsb role=BACKUP; fi
		# Memory: mean over the samples; CPU: first to last.
		awk -v impl="$impl" -v role=$role -v u0="$u0" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v gets="$gets" -v round="$round" '
			{ rss += $3; pss += $4; anon += $5; k++; last = $0 }
			END {
				split(u0, a, " "); split(last, b, " "); secs = t1 - t0
				printf "%s %s %d %d %d %.4f %.4f %.3f %d %d %d %d %.0f\n", impl, role, rss / k, pss / k, anon / k,
					(b[1] - a[1]) / hz * 60 / secs, (b[2] - a[2]) / 1e9 * 60 / secs, secs, b[6], b[7], gets, round,
					(b[8] - a[8]) * 60 / secs }' \
			"$tmp/samples-$n" >>"$base/$impl.results"
	done
	seed_stop "$DAEMON_PID_b"
	seed_stop "$DAEMON_PID_a"
	for n in a b; do seed_reset $n; done
}

: >"$base/ours.results"; : >"$base/keepalived.results"; : >"$base/base.results"
for round in $(seq "$ROUNDS"); do
	rm -f "$base"/*.ready
	sides=()
	for impl in $impls; do
		(side "$impl" "$round") &
		sides+=($!)
	done
	waited=0
	until (for impl in $impls; do [ -e "$base/$impl.ready" ] || exit 1; done); do
		for pid in "${sides[@]}"; do kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; echo "bench-daemon: a side failed before settling" >&2; exit 1; }; done
		waited=$((waited + 1)); [ $waited -lt 1200 ] || { echo "bench-daemon: the daemons did not settle in 60 s" >&2; exit 1; }
		sleep 0.05
	done
	sleep "$SETTLE"
	touch "$base/go.$round"
	for pid in "${sides[@]}"; do wait "$pid" || { echo "bench-daemon: a side failed in round $round" >&2; exit 1; }; done
done
cat "$base/ours.results" "$base/keepalived.results" "$base/base.results" >"$base/results"

label() { case $1 in ours) echo "keepalived-go" ;; base) echo "keepalived-go (base)" ;; *) echo "keepalived 2.2.7" ;; esac; }
echo
echo "bench-daemon: seed config, $(echo $impls | wc -w) implementations at once, idle ${IDLE}s after ${SETTLE}s settle, $ROUNDS round(s); $ipvs"
echo "(RSS/PSS/anon: mean of samples every 5 s, summed over the process tree; CPU: CPU seconds per minute from"
echo " utime+stime in clock ticks, and from per-thread schedstat in ns; runs/min: times a thread of the tree was put"
echo " on a CPU, i.e. its wakeups and resumptions; checker GETs: from the web servers' logs)"
printf '%-17s %-7s %5s %5s %7s %9s %9s %9s %11s %12s %9s %9s\n' implementation node round procs threads "RSS KiB" "PSS KiB" "anon KiB" "CPU s/min" "(schedstat)" "runs/min" "checks"
sort -k12,12n -k2,2r -k1,1r "$base/results" | while read -r impl role rss pss anon cpumin cpuns secs procs threads gets round runs; do
	printf '%-17s %-7s %5d %5d %7d %9d %9d %9d %11.3f %12.4f %9d %9d\n' "$(label "$impl")" "$role" "$round" "$procs" "$threads" "$rss" "$pss" "$anon" "$cpumin" "$cpuns" "$runs" "$gets"
done
awk '{ rss[$1,$2] += $3; pss[$1,$2] += $4; cpu[$1,$2] += $6; ns[$1,$2] += $7; runs[$1,$2] += $13 }
	function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
	END {
		for (i = 1; i <= 2; i++) { role = i == 1 ? "MASTER" : "BACKUP"
			printf "%sratio ours/keepalived (%s): RSS %s, PSS %s, CPU %s (schedstat), runs %s; CPU by clock ticks %s (a few ticks a minute: too coarse to compare)\n", i == 1 ? "\n" : "", role,
				r(rss["ours",role], rss["keepalived",role]), r(pss["ours",role], pss["keepalived",role]),
				r(ns["ours",role], ns["keepalived",role]), r(runs["ours",role], runs["keepalived",role]),
				r(cpu["ours",role], cpu["keepalived",role])
			if (rss["base",role] > 0)
				printf "ratio base/keepalived (%s): RSS %s, PSS %s, CPU %s (schedstat), runs %s\n", role,
					r(rss["base",role], rss["keepalived",role]), r(pss["base",role], pss["keepalived",role]),
					r(ns["base",role], ns["keepalived",role]), r(runs["base",role], runs["keepalived",role]) }
		m = "MASTER"
		printf "target ours <= keepalived total on the MASTER: RSS %s, CPU %s; also PSS %s\n",
			rss["ours",m] <= rss["keepalived",m] ? "met" : "MISSED", ns["ours",m] <= ns["keepalived",m] ? "met" : "MISSED",
			pss["ours",m] <= pss["keepalived",m] ? "met" : "MISSED"
	}' "$base/results"
