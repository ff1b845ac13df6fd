#!/usr/bin/env bash
# The seed scenario, as far as this build goes: the parser and config model.
# Later steps run both nodes in network namespaces (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "keepalived -t on the seed MASTER config (laid out): keepalived 2.2.7's own diagnostics"
./bin/keepalived -t -f testdata/seed/lab-master.conf || echo "(exit $?)"
say "keepalived -t on the same config flattened onto one line per block, as it was published"
./bin/keepalived -t -f testdata/seed/lab-master.flat.conf || echo "(exit $?)"
say "Both forms give the same model:"
if diff <(./bin/keepalived -d -f testdata/seed/lab-master.conf) <(./bin/keepalived -d -f testdata/seed/lab-master.flat.conf) >/dev/null; then
	echo "identical (TCP service, virtualhost kept: the mid-line '#persistence_timeout 600' comments out only itself)"
else
	echo "DIFFERENT"; exit 1
fi
say "keepalived -d: the parsed model of the MASTER node"
./bin/keepalived -d -f testdata/seed/lab-master.conf
