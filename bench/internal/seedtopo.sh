# Sourced by bench/daemon.sh and bench/dataplane.sh: the seed topology of
# e2e/seed_test.go in network namespaces, from bash. A bridge in its own
# namespace; nodes a (198.51.100.11, MASTER) and b (198.51.100.12, BACKUP),
# each a real server (seedweb) and a load balancer; a client
# (198.51.100.100). VIP 198.51.100.10. Daemons run with the seed's lab
# configs and redirect.sh unchanged, /etc/keepalived bind-mounted from a
# per-node directory in a private mount namespace (unshare -m).
#
# The caller sets: tmp (a fresh directory), SEED_PREFIX (unique, e.g.
# kgbd$$), and traps seed_cleanup on EXIT.

VIP=198.51.100.10
ADDR_a=198.51.100.11
ADDR_b=198.51.100.12
ADDR_client=198.51.100.100
NS_lan=$SEED_PREFIX-lan
NS_a=$SEED_PREFIX-a
NS_b=$SEED_PREFIX-b
NS_client=$SEED_PREFIX-c

seed_ns() { local v="NS_$1"; echo "${!v}"; }
seed_addr() { local v="ADDR_$1"; echo "${!v}"; }

# seed_killns NS: kill every process inside, by PID, until none is left.
seed_killns() {
	local pids
	for _ in $(seq 40); do
		pids=$(ip netns pids "$1" 2>/dev/null || true)
		[ -z "$pids" ] && return 0
		for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
		sleep 0.05
	done
}

seed_cleanup() {
	local ns
	for ns in "$NS_a" "$NS_b" "$NS_client" "$NS_lan"; do
		ip netns list 2>/dev/null | grep -qw "$ns" || continue
		seed_killns "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
}

# seed_build: our daemon and the seed web server, as e2e builds them.
seed_build() {
	CGO_ENABLED=0 go build -o "$tmp/keepalived" ./cmd/keepalived
	CGO_ENABLED=0 go build -o "$tmp/seedweb" ./internal/seedweb
}

seed_topo() {
	local i=1 n ns
	ip netns add "$NS_lan"
	ip -n "$NS_lan" link add br0 type bridge
	ip -n "$NS_lan" link set br0 up
	for n in a b client; do
		ns=$(seed_ns $n)
		ip netns add "$ns"
		ip link add eth0 netns "$ns" type veth peer name p$i netns "$NS_lan"
		ip -n "$NS_lan" link set p$i master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$(seed_addr $n)/24" dev eth0
		ip -n "$ns" link set eth0 up
		i=$((i + 1))
	done
	# /etc/keepalived per node: the lab config and redirect.sh unchanged.
	mkdir -p /etc/keepalived
	for n in a b; do
		mkdir -p "$tmp/etc-$n"
		cp testdata/seed/redirect.sh "$tmp/etc-$n/redirect.sh"
		chmod 700 "$tmp/etc-$n/redirect.sh"
	done
	cp testdata/seed/lab-master.conf "$tmp/etc-a/keepalived.conf"
	cp testdata/seed/lab-backup.conf "$tmp/etc-b/keepalived.conf"
}

# seed_web NODE: start seedweb on :80 with an access log; sets WEB_PID_<node>.
seed_web() {
	ip netns exec "$(seed_ns "$1")" "$tmp/seedweb" -listen :80 -log "$tmp/etc-$1/access.log" \
		>>"$tmp/web-$1.out" 2>&1 &
	printf -v "WEB_PID_$1" %s $!
	disown $! # killed by PID at cleanup; no job notice
}

# seed_daemon IMPL NODE: start ours or Debian's keepalived (-n: the first
# PID stays the daemon's main process) in the node; sets DAEMON_PID_<node>.
# IMPL keepalived runs with $KA_PRELOAD in LD_PRELOAD (see fakeipvs.c).
seed_daemon() {
	local impl=$1 n=$2 etc="$tmp/etc-$2" bin
	case $impl in
	ours) bin=("$tmp/keepalived") ;;
	base) bin=("$tmp/keepalived-base") ;;
	keepalived) bin=(env "LD_PRELOAD=${KA_PRELOAD:-}" /usr/sbin/keepalived) ;;
	*) echo "seed_daemon: unknown implementation $impl" >&2; return 1 ;;
	esac
	ip netns exec "$(seed_ns "$n")" unshare -m sh -c 'mount --bind "$0" /etc/keepalived && exec "$@"' "$etc" \
		"${bin[@]}" -n -l -D -G -f /etc/keepalived/keepalived.conf \
		-p "$etc/k.pid" -r "$etc/v.pid" -c "$etc/c.pid" >"$tmp/$impl-$n.log" 2>&1 &
	printf -v "DAEMON_PID_$n" %s $!
	disown $! # seed_stop polls it by PID; no job notice at cleanup
}

# seed_stop PID: SIGTERM, then SIGKILL after 5 s.
seed_stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}

# seed_reset NODE: what a daemon may leave behind (VIP, redirect rules).
seed_reset() {
	local ns; ns=$(seed_ns "$1")
	ip -n "$ns" addr del "$VIP/24" dev eth0 2>/dev/null || true
	ip netns exec "$ns" iptables -t nat -F PREROUTING 2>/dev/null || true
}

seed_holds_vip() { ip -n "$(seed_ns "$1")" -br addr show dev eth0 | grep -q " $VIP/"; }
seed_has_redirect() { ip netns exec "$(seed_ns "$1")" iptables -t nat -S PREROUTING 2>/dev/null | grep -q REDIRECT; }

# seed_wait SECONDS CMD...: poll every 100 ms; fail after SECONDS.
seed_wait() {
	local n=$(($1 * 10)); shift
	until "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# seed_tree PID: the PID and all its descendants, one per line.
seed_tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END { q[1] = root; n = 1
		      for (i = 1; i <= n; i++) { print q[i]; c = split(kids[q[i]], k, " "); for (j = 1; j <= c; j++) q[++n] = k[j] } }'
}

# seed_usage PID: "ticks ns rss_kb pss_kb anon_kb processes threads runs"
# of the tree. ticks = utime+stime (+ cutime+cstime of reaped children), in
# clock ticks; ns = the scheduler's run time summed over every thread
# (/proc/<pid>/task/*/schedstat), the same CPU time at ns resolution; runs =
# how often a thread was put on a CPU (schedstat's third field): wakeups,
# and resumptions after being preempted.
seed_usage() {
	local pid ticks=0 ns=0 rss=0 pss=0 anon=0 procs=0 threads=0 runs=0 st t n c r p a th
	for pid in $(seed_tree "$1"); do
		st=$(cat /proc/$pid/stat 2>/dev/null) || continue
		# Fields after the command, which may hold spaces: state is field 3.
		t=$(echo "${st##*) }" | awk '{print $12+$13+$14+$15}')
		read -r n c < <(cat /proc/$pid/task/*/schedstat 2>/dev/null | awk '{s += $1; c += $3} END {printf "%d %d\n", s, c}')
		runs=$((runs + ${c:-0}))
		r=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2>/dev/null)
		th=$(awk '/^Threads:/ {print $2}' /proc/$pid/status 2>/dev/null)
		p=$(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup 2>/dev/null)
		a=$(awk '/^Anonymous:/ {print $2}' /proc/$pid/smaps_rollup 2>/dev/null)
		ticks=$((ticks + ${t:-0})); ns=$((ns + ${n:-0})); rss=$((rss + ${r:-0})); pss=$((pss + ${p:-0}))
		anon=$((anon + ${a:-0})); threads=$((threads + ${th:-0})); procs=$((procs + 1))
	done
	echo "$ticks $ns $rss $pss $anon $procs $threads $runs"
}
