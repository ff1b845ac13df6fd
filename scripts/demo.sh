#!/usr/bin/env bash
# make demo: the seed scenario (../shared/seed-scenario.md) run for real in
# network namespaces: two nodes that are both the load-balancer pair and the
# web servers, and a client. Our daemon runs the seed's configs (addresses
# moved to 198.51.100.0/24) with redirect.sh unchanged. On a kernel without
# IPVS the daemon balances with its nftables data plane.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }

P=kgdemo$$            # namespace prefix
VIP=198.51.100.10
W=$(mktemp -d /tmp/kgdemo.XXXXXX)
declare -A summary

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
ns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

cleanup() {
	set +e
	for n in a b client lan; do
		for pid in $(ip netns pids "$P-$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for n in a b client lan; do ip netns del "$P-$n" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

go build -o "$W/seedweb" ./internal/seedweb

bold "Topology: nodes a (198.51.100.11) and b (198.51.100.12) and a client (198.51.100.100) on one bridge"
ip netns add "$P-lan"
ip -n "$P-lan" link add br0 type bridge
ip -n "$P-lan" link set br0 up
for spec in a:11 b:12 client:100; do
	n=${spec%:*}; ip=${spec#*:}
	ip netns add "$P-$n"
	ip link add eth0 netns "$P-$n" type veth peer name "p-$n" netns "$P-lan"
	ip -n "$P-lan" link set "p-$n" master br0 up
	ip -n "$P-$n" addr add "198.51.100.$ip/24" dev eth0
	ip -n "$P-$n" link set eth0 up
	ip -n "$P-$n" link set lo up
done
for n in a b; do
	mkdir -p "$W/$n"
	conf=testdata/seed/lab-master.conf; [ $n = b ] && conf=testdata/seed/lab-backup.conf
	cp "$conf" "$W/$n/keepalived.conf"
	cp testdata/seed/redirect.sh "$W/$n/redirect.sh"; chmod 700 "$W/$n/redirect.sh"
	ip netns exec "$P-$n" "$W/seedweb" -listen :80 -log "$W/$n/access.log" 2>"$W/$n/web.err" &
	echo $! > "$W/$n/web.pid"; disown
done
say "web servers on a and b serve the Apache default page (MD5 c7b4690c8c46625ef0f328cd7a24a0a3)"

start_daemon() { # node
	ip netns exec "$P-$1" unshare -m sh -c "mount --bind '$W/$1' /etc/keepalived && exec '$PWD/bin/keepalived' -n -l -G -f /etc/keepalived/keepalived.conf -p '$W/$1/k.pid' -r '$W/$1/v.pid' -c '$W/$1/c.pid'" >>"$W/$1/daemon.log" 2>&1 &
	disown
}
has_vip() { ip -n "$P-$1" -br addr show dev eth0 | grep -q " $VIP/"; }
wait_for() { # seconds description command...
	local t=$1 what=$2; shift 2
	local end=$((SECONDS + t))
	until "$@"; do
		[ $SECONDS -lt $end ] || { echo "   timed out waiting for $what"; return 1; }
		sleep 0.1
	done
}
# lbtable prints our nftables service chains and their destination sets in
# ipvsadm -Ln's layout (the backend records both in nft comments).
lbtable() {
	local rules chains c svc
	rules=$(ns "$1" nft list table inet keepalived_lb 2>/dev/null || true)
	chains=$(grep -o 'chain vs_[^ ]*' <<<"$rules" | awk '{print $2}' || true)
	printf '   %-36s %s\n' "Prot LocalAddress:Port Scheduler" "" "  -> RemoteAddress:Port" "Forward Weight"
	for c in $chains; do
		svc=$(awk -v c="$c" '$1=="chain" && $2==c {f=1} f && /comment/ {sub(/.*comment "/,""); sub(/".*/,""); print; exit}' <<<"$rules")
		printf '   %s\n' "$svc"
		ns "$1" nft list set inet keepalived_lb "${c}_rs" 2>/dev/null |
			grep -o '[0-9a-f.:]* \. [0-9]* comment "[^"]*"' |
			sed -E 's/^([^ ]+) \. ([0-9]+) comment "([^ ]+) ([0-9]+)"/\1:\2 \3 \4/' |
			while read -r addr fwd w; do printf '     -> %-30s %-7s %s\n' "$addr" "$fwd" "$w"; done
	done
}
served() { grep -c "^198.51.100.100 " "$W/$1/access.log" 2>/dev/null || true; }
reset_logs() { : >"$W/a/access.log"; : >"$W/b/access.log"; }
load() { # requests concurrency
	ns client ab -q -r -s 5 -n "$1" -c "$2" "http://$VIP/" 2>&1 | grep -E "Complete requests|Failed requests|Requests per second" | sed 's/^/   ab: /'
}

bold "Start keepalived-go on a (MASTER, priority 200), then on b (BACKUP, priority 100)"
start_daemon a
wait_for 15 "a to hold the VIP" has_vip a
start_daemon b
wait_for 20 "both real servers checked" sh -c "grep -q '198.51.100.11\]:tcp:80 succeed' '$W/a/daemon.log' && grep -q '198.51.100.12\]:tcp:80 succeed' '$W/a/daemon.log'"
sleep 1
say "$(grep -h 'Entering' "$W/a/daemon.log" | tail -1 | sed 's/^/a: /')"
say "$(grep -h 'Entering' "$W/b/daemon.log" | tail -1 | sed 's/^/b: /')"
ip -n "$P-a" -br addr show dev eth0 | sed 's/^/   a: /'
say "b accepts the VIP through the seed's REDIRECT rule (added by redirect.sh from notify_backup):"
ns b iptables -t nat -S PREROUTING | grep REDIRECT | sed 's/^/   b: /'
summary[master]="a"

bold "The load-balancing table on a (virtual_server $VIP:80, rr, DR)"
if command -v ipvsadm >/dev/null && ns a ipvsadm -Ln >/dev/null 2>&1; then
	ns a ipvsadm -Ln | sed 's/^/   /'
else
	say "(this kernel has no IPVS: keepalived-go programs the same service into nftables;"
	say " read back from the kernel's nftables and shown the way ipvsadm -Ln would)"
	lbtable a
fi

bold "Load: ab -n 20000 -c 200 http://$VIP/ from the client"
reset_logs
load 20000 200
sleep 0.3
A=$(served a); B=$(served b)
say "served by a: $A   served by b: $B   (round robin over both nodes)"
summary[split]="a $A / b $B"

bold "Health check: stop the web server on b"
kill "$(cat "$W/b/web.pid")"
t0=$SECONDS
wait_for 30 "b to be removed" grep -q "Removing service \[198.51.100.12\]:tcp:80" "$W/a/daemon.log"
say "$(grep -h 'Removing service \[198.51.100.12\]' "$W/a/daemon.log" | head -1)"
say "removed $((SECONDS - t0)) s after the stop (delay_loop 3 x (retry 3 + 1) + connect_timeout 3 = 15 s at most)"
reset_logs
load 2000 50
sleep 0.3
say "served by a: $(served a)   served by b: $(served b)"
summary[removed]="$((SECONDS - t0)) s"
ip netns exec "$P-b" "$W/seedweb" -listen :80 -log "$W/b/access.log" 2>>"$W/b/web.err" &
echo $! > "$W/b/web.pid"; disown
wait_for 30 "b to come back" grep -q "Adding service \[198.51.100.12\]:tcp:80" "$W/a/daemon.log"
say "web server on b started again: $(grep -h 'Adding service \[198.51.100.12\]' "$W/a/daemon.log" | tail -1)"

bold "Failover: kill the MASTER's daemon (SIGKILL) and unplug a"
kill -9 "$(cat "$W/a/k.pid")"
ip -n "$P-a" link set eth0 down
start=$(date +%s.%N)
wait_for 10 "b to take the VIP" has_vip b
gap=$(printf '%.3f' "$(echo "$(date +%s.%N) - $start" | bc)")
say "b holds the VIP after ${gap} s (Master_Down_Interval = 3 x 1 s + skew 0.61 s)"
say "$(grep -h 'Entering MASTER' "$W/b/daemon.log" | tail -1 | sed 's/^/b: /')"
say "b's redirect.sh removed its REDIRECT rule (notify_master): $(ns b iptables -t nat -S PREROUTING | grep -c REDIRECT) rules left"
wait_for 30 "b's checker to drop the unplugged a" grep -q "Removing service \[198.51.100.11\]:tcp:80" "$W/b/daemon.log"
reset_logs
load 4000 100
sleep 0.3
say "served by b: $(served b)   (a is gone)"
summary[failover]="${gap} s"
summary[master]="b"

bold "Summary"
printf '   %-34s %s\n' "round-robin split (20000 requests)" "${summary[split]}" \
	"dead web server removed after" "${summary[removed]}" \
	"VIP on the BACKUP after" "${summary[failover]}" \
	"MASTER at the end" "${summary[master]}"
echo
say "logs were in $W (removed now). Run 'make test' for the same scenario as assertions."
