#!/usr/bin/env bash
# BFD detection benchmark: ours and Debian's keepalived 2.2.7 see the same
# cuts of the same path, in namespaces (internal/nettest, names kgt<pid>-*).
#
# 1. bfd/engine TestDetectionBench: the engine alone. FRR's bfdd peers with
#    ours (198.51.100.1) and keepalived (198.51.100.3, a VRRPv3 instance
#    tracking the session); the peer's cable is cut; ours is timed at the
#    engine's Down event, keepalived at its VIP's removal.
# 2. cmd/keepalived TestBFDWithFRRPeer and TestBFDWithKeepalivedPeer: the
#    daemons. Each runs a bfd_instance (50 ms x 3: detection 150 ms) and a
#    VRRPv3 instance tracking it unweighted; the path is cut at the bridge
#    (nftables, links stay up) and each daemon is timed at its VIP's
#    removal (FAULT, seen by netlink). With FRR as the peer, ours also has
#    a BFD_CHECK real server on the nftables data plane, timed at its
#    removal (nftables monitor). With keepalived as the peer, the two
#    daemons are each other's peer and both see the cut.
# RUNS (20) cuts each; prints every run, p50/p99, the ratio ours/keepalived
# and each side's detection-timer lateness. Target: every run of ours
# within 150 ms + 10 ms of the cut.
# Needs root, iproute2, nftables, keepalived, frr (scripts/deps.sh).
# Bounded: RUNS cuts per test.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
[ "$(id -u)" = 0 ] || { echo "bench-bfd needs root (network namespaces)"; exit 1; }
for c in ip nft keepalived vtysh /usr/lib/frr/bfdd; do command -v $c >/dev/null || { echo "missing $c (Debian packages iproute2 nftables keepalived frr)"; exit 1; }; done
go test -count=1 -timeout 600s -run '^TestDetectionBench$' -v ./bfd/engine -args -bfd.runs="$RUNS" |
	sed -n '/BFD detection/,/^--- /p' | sed -e 's/^        //' -e '/^--- /d'
go test -count=1 -timeout 900s -run '^TestBFDWith(FRR|Keepalived)Peer$' -v ./cmd/keepalived -args -bfd.runs="$RUNS" |
	grep -v '^=== RUN' | sed -e 's/^        //' -e 's/^    bfd_netns_test.go:[0-9]*: //'
