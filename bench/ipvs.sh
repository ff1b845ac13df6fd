#!/bin/sh
# bench-ipvs: in a VM booted on Debian's kernel (qemu, TCG), program 1,000
# IPVS services x 10 destinations from cold with ipvsadm -R (the restore
# ipvsadm-restore performs) and with keepalived-go's lvs.Manager from a
# generated keepalived.conf, then apply one change (a checker verdict, and
# a reload with one weight changed). Prints times and netlink message
# counts. Targets: cold start within 2x ipvsadm-restore; one change = one
# message (the benchmark fails otherwise).
# Needs root, qemu-system-x86, linux-image-amd64, busybox-static, ipvsadm.
set -eu
cd "$(dirname "$0")/.."
exec go test ./lvs -run '^$' -bench '^BenchmarkKernelIPVS$' -benchtime 1x -count 1 "$@"
