#!/bin/bash
# Re-record NN-topic.keepalived for every NN-topic.conf (or the files given)
# by running Debian's keepalived 2.2.7 in config-test mode inside a private
# network namespace that has eth0..eth3. Needs root. Run from anywhere.
#
# Each .keepalived file holds "exit N" followed by keepalived's stderr verbatim.
# keepalived is run with cwd = this directory and "-f NN-topic.conf", so file
# names in messages appear without a directory. Extra arguments come from a
# first line "# keepalived-args: ...".
set -u
here=$(cd "$(dirname "$0")" && pwd)
ns=ka-record-$$
ip netns add "$ns" || exit 1
trap 'ip netns del "$ns"' EXIT
for i in 0 1 2 3; do
	ip -n "$ns" link add "eth$i" type veth peer name "p$i"
	ip -n "$ns" link set "eth$i" up
done
cd "$here"
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(*.conf)
tmp=$(mktemp -d)
for f in "${files[@]}"; do
	f=$(basename "$f")
	args=$(sed -n '1s/^# keepalived-args: *//p' "$f")
	# shellcheck disable=SC2086
	ip netns exec "$ns" /usr/sbin/keepalived -t -f "$f" -l $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	{ echo "exit $rc"; cat "$tmp/err"; } >"${f%.conf}.keepalived"
	echo "$f: exit $rc"
done
rm -rf "$tmp"
