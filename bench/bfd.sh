#!/usr/bin/env bash
# BFD detection benchmark: ours and Debian's keepalived 2.2.7 watch the same
# peer (FRR's bfdd) in the same run and see the same cable cuts.
#
# Topology (internal/nettest, namespaces named kgt<pid>-*): a bridge with
# the peer (bfdd, 198.51.100.2), ours (198.51.100.1, the engine in the test
# process) and keepalived (198.51.100.3, a bfd_instance tracked unweighted
# by a VRRPv3 instance holding 198.51.100.100). All sessions min_rx/min_tx
# 50 ms, multiplier 3: detection time 150 ms. RUNS (20) times: wait until
# both sessions are Up with 150 ms negotiated and keepalived is MASTER,
# sleep 0-50 ms, cut the peer's bridge port, time ours at its Down event
# and keepalived at the removal of its VIP (VRRP FAULT, seen by netlink),
# restore. Prints every run, p50/p99 and the ratio ours/keepalived, and
# each side's own "usec overdue" of its detection timer.
# Target: every run of ours within 150 ms + 10 ms of the cut.
# Needs root, iproute2, keepalived, frr (scripts/deps.sh). Bounded: RUNS cuts.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
[ "$(id -u)" = 0 ] || { echo "bench-bfd needs root (network namespaces)"; exit 1; }
for c in ip keepalived vtysh /usr/lib/frr/bfdd; do command -v $c >/dev/null || { echo "missing $c (Debian packages iproute2 keepalived frr)"; exit 1; }; done
go test -count=1 -timeout 600s -run '^TestDetectionBench$' -v ./bfd/engine -args -bfd.runs="$RUNS" |
	sed -n '/BFD detection/,/^--- /p' | sed -e 's/^        //' -e '/^--- /d'
