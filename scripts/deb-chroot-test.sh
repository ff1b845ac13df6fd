#!/usr/bin/env bash
# Installs our .deb over Debian's keepalived in a Debian 12 chroot and checks
# what an operator relies on: ours replaces it, `keepalived -t` still passes
# on the existing config with Debian's exit code, purging ours leaves the
# config and the notify script alone.
#
#   scripts/deb-chroot-test.sh [dist/keepalived-go_*.deb]
#
# Root only. The first run debootstraps bookworm (minbase) from the mirror
# this machine's apt uses and downloads keepalived's packages into the
# chroot; the result is cached under $CACHE (default
# /var/cache/keepalived-go-test) and later runs work offline on a copy.
# KEEP_CHROOT=1 leaves the working copy behind for inspection.
set -uo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
CACHE=${CACHE:-/var/cache/keepalived-go-test}
suite=bookworm
base=$CACHE/$suite-amd64
conf_src=$repo/testdata/seed/lab-master.conf
notify_src=$repo/testdata/seed/redirect.sh

fails=0
results=()
pass() { results+=("PASS  $1"); echo "PASS  $1"; }
fail() { results+=("FAIL  $1"); echo "FAIL  $1"; fails=$((fails + 1)); }
info() { results+=("INFO  $1"); echo "INFO  $1"; }
check() { # name command...: PASS when the command succeeds
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
summary() {
	echo
	echo "== deb-chroot-test summary"
	printf '%s\n' "${results[@]}"
	if [ "$fails" -eq 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL ($fails failed)"; fi
}
die() { fail "$*"; summary; exit 1; }

[ "$(id -u)" = 0 ] || { echo "deb-chroot-test: needs root (chroot, dpkg in the chroot)" >&2; exit 2; }

deb=${1:-$(ls -t dist/keepalived-go_*_amd64.deb 2>/dev/null | head -1)}
[ -n "$deb" ] && [ -f "$deb" ] || die "no .deb given and none in dist/ (run make deb)"
deb=$(readlink -f "$deb")

# The mirror this machine's apt uses (deb822 or one-line sources).
mirror() {
	local m
	m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -m1 -E '/debian/?$')
	[ -n "$m" ] || m=$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '{for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -m1 -E '/debian/?$')
	echo "${m:-http://deb.debian.org/debian}"
}

in_root() { # root command...: a clean environment inside the chroot
	local r=$1; shift
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# --- cached base chroot ------------------------------------------------------
# Concurrent runs (make deb-test beside go test) build the cache only once.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$base/.ready" ]; then
	command -v debootstrap >/dev/null || {
		echo "deb-chroot-test: installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
			die "apt-get install debootstrap"
	}
	m=$(mirror)
	echo "deb-chroot-test: building the cached $suite chroot from $m (once)"
	rm -rf "$base.tmp"
	mkdir -p "$CACHE"
	if ! debootstrap --variant=minbase --include=adduser \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$suite" "$base.tmp" "$m" >"$CACHE/debootstrap.log" 2>&1; then
		tail -20 "$CACHE/debootstrap.log"
		die "debootstrap $suite from $m (log: $CACHE/debootstrap.log)"
	fi
	echo "deb $m $suite main" >"$base.tmp/etc/apt/sources.list"
	# keepalived's packages are downloaded now so every later run is offline.
	if ! in_root "$base.tmp" apt-get update -qq ||
		! in_root "$base.tmp" apt-get install -y -qq --download-only keepalived >/dev/null; then
		die "downloading keepalived into the chroot from $m"
	fi
	rm -rf "$base"
	mv "$base.tmp" "$base"
	touch "$base/.ready"
fi
flock -u 9
pass "base chroot $suite ready ($base)"

# --- working copy ------------------------------------------------------------
work=$(mktemp -d /var/tmp/keepalived-go-chroot.XXXXXX)
proc_mounted=
cleanup() {
	if [ -n "$proc_mounted" ]; then umount "$work/proc" 2>/dev/null || umount -l "$work/proc"; fi
	# Never delete through a mount point.
	if findmnt -rn -o TARGET | grep -q "^$work"; then
		echo "deb-chroot-test: mounts remain under $work, not deleting it" >&2
	elif [ -n "${KEEP_CHROOT:-}" ]; then
		echo "deb-chroot-test: chroot kept at $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -a "$base/." "$work/"
# No daemon may start inside: it would share this machine's network.
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod 0755 "$work/usr/sbin/policy-rc.d"

# Debian's keepalived -t is killed (SIGTERM, exit 143) without /proc; it is
# mounted only around those runs and always unmounted.
mount_proc() { mount -t proc proc "$work/proc" && proc_mounted=1; }
umount_proc() { umount "$work/proc" && proc_mounted=; }
config_test() { # -> exit code of keepalived -t on the operator's config
	local rc
	mount_proc || { echo "mount /proc failed" >&2; return 99; }
	in_root "$work" /usr/sbin/keepalived -t -f /etc/keepalived/keepalived.conf >"$work/tmp/config-test.out" 2>&1
	rc=$?
	umount_proc
	return $rc
}

# --- 1. Debian's keepalived, configured ---------------------------------------
if in_root "$work" apt-get install -y -qq --no-download keepalived >"$work/tmp/apt.out" 2>&1; then
	pass "Debian keepalived installed: $(in_root "$work" dpkg-query -W -f='${Version}' keepalived)"
else
	cat "$work/tmp/apt.out"
	die "apt-get install keepalived in the chroot"
fi
install -m 0644 "$conf_src" "$work/etc/keepalived/keepalived.conf"
install -m 0755 "$notify_src" "$work/etc/keepalived/redirect.sh"
# An operator's edit of the defaults file must survive the switch too.
sed -i 's/^DAEMON_ARGS=""/DAEMON_ARGS="-D"/' "$work/etc/default/keepalived"
sums_before=$(cd "$work/etc" && md5sum keepalived/keepalived.conf keepalived/redirect.sh default/keepalived)
config_test
debian_rc=$?
if [ "$debian_rc" = 99 ]; then die "mounting /proc in the chroot"; fi
info "Debian keepalived -t exit code: $debian_rc, diagnostics:"
sed 's/^/    | /' "$work/tmp/config-test.out"
debian_out=$(cat "$work/tmp/config-test.out")

# --- 2. dpkg -i ours -------------------------------------------------------------
cp "$deb" "$work/tmp/"
in_root "$work" dpkg -i "/tmp/$(basename "$deb")" </dev/null >"$work/tmp/dpkg-i.out" 2>&1
rc=$?
sed 's/^/    | /' "$work/tmp/dpkg-i.out"
check "dpkg -i $(basename "$deb") exits 0 (got $rc)" test "$rc" = 0
check "dpkg reports keepalived removed in favour of keepalived-go" \
	grep -q "remove keepalived in favour of keepalived-go" "$work/tmp/dpkg-i.out"
status_of() { in_root "$work" dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' '; }
# keepalived is left in the config-files state ("rc", or "ic" when, as
# here, dpkg removed it by itself): its conffiles stay, its files are gone.
ka_status=$(status_of keepalived)
check "dpkg: keepalived-go installed (ii), keepalived removed to config-files: $(status_of keepalived-go)/$ka_status" \
	test "$(status_of keepalived-go)" = ii -a "${ka_status#?}" = c
owner=$(in_root "$work" dpkg -S /usr/sbin/keepalived 2>/dev/null | cut -d: -f1)
check "/usr/sbin/keepalived belongs to keepalived-go (dpkg -S: $owner)" test "$owner" = keepalived-go
check "/usr/sbin/keepalived is our binary" \
	sh -c "chroot '$work' /usr/sbin/keepalived -v 2>&1 | grep -qi 'keepalived-go'"
check "keepalived.service is ours and enabled" \
	sh -c "grep -q '^ExecStart=/usr/sbin/keepalived --dont-fork \$DAEMON_ARGS' '$work/lib/systemd/system/keepalived.service' &&
	       [ -L '$work/etc/systemd/system/multi-user.target.wants/keepalived.service' ]"
sums_after=$(cd "$work/etc" && md5sum keepalived/keepalived.conf keepalived/redirect.sh default/keepalived)
check "keepalived.conf, redirect.sh and the edited /etc/default/keepalived unchanged" \
	test "$sums_before" = "$sums_after"
check "keepalived_script not created over an existing config (README.Debian)" \
	sh -c "! chroot '$work' getent passwd keepalived_script >/dev/null"

# --- 3. keepalived -t with ours ----------------------------------------------------
config_test
ours_rc=$?
[ "$ours_rc" = 99 ] && die "mounting /proc in the chroot"
check "keepalived -t on the existing config: exit $ours_rc, Debian's was $debian_rc" test "$ours_rc" = "$debian_rc"
if [ "$(cat "$work/tmp/config-test.out")" = "$debian_out" ]; then
	info "keepalived -t diagnostics identical to Debian's"
else
	info "keepalived -t diagnostics differ from Debian's (diff Debian ours):"
	diff <(echo "$debian_out") "$work/tmp/config-test.out" | sed 's/^/    | /'
fi

# --- 4. dpkg --purge ours ------------------------------------------------------------
in_root "$work" dpkg --purge keepalived-go </dev/null >"$work/tmp/dpkg-purge.out" 2>&1
rc=$?
sed 's/^/    | /' "$work/tmp/dpkg-purge.out"
check "dpkg --purge keepalived-go exits 0 (got $rc)" test "$rc" = 0
check "purge removed the package's files (/usr/sbin/keepalived, the unit, its enablement)" \
	sh -c "[ ! -e '$work/usr/sbin/keepalived' ] && [ ! -e '$work/lib/systemd/system/keepalived.service' ] &&
	       [ ! -L '$work/etc/systemd/system/multi-user.target.wants/keepalived.service' ]"
sums_purged=$(cd "$work/etc" && md5sum keepalived/keepalived.conf keepalived/redirect.sh 2>/dev/null)
check "purge left /etc/keepalived/keepalived.conf and redirect.sh in place, unchanged" \
	test "$sums_purged" = "$(echo "$sums_before" | grep -v default/keepalived)"

# --- 5. fresh install: no config yet ---------------------------------------------------
mv "$work/etc/keepalived" "$work/root/keepalived.saved"
in_root "$work" dpkg -i "/tmp/$(basename "$deb")" </dev/null >"$work/tmp/dpkg-i2.out" 2>&1
rc=$?
check "fresh dpkg -i (no keepalived.conf) exits 0 (got $rc)" test "$rc" = 0
check "fresh install created the system user keepalived_script" \
	sh -c "chroot '$work' getent passwd keepalived_script | grep -q ':/nonexistent:'"
# Debian's leftover config-files: purging it must not take our conffile.
in_root "$work" dpkg --purge keepalived </dev/null >"$work/tmp/dpkg-purge2.out" 2>&1
check "purging Debian's leftover keepalived keeps our /etc/default/keepalived" \
	sh -c "[ -f '$work/etc/default/keepalived' ] && chroot '$work' dpkg -S /etc/default/keepalived | grep -q '^keepalived-go:'"
if [ -L "$work/etc/systemd/system/multi-user.target.wants/keepalived.service" ]; then
	info "keepalived.service still enabled after purging Debian's keepalived"
else
	info "purging Debian's keepalived removed keepalived.service's enablement (documented in README.Debian)"
fi
in_root "$work" dpkg --purge keepalived-go </dev/null >"$work/tmp/dpkg-purge3.out" 2>&1
check "purge keeps the keepalived_script user" sh -c "chroot '$work' getent passwd keepalived_script >/dev/null"

summary
[ "$fails" -eq 0 ]
