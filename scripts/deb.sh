#!/usr/bin/env bash
# Builds dist/keepalived-go_<version>_amd64.deb with dpkg-deb alone, from the
# static binaries in bin/ (built here when missing) and packaging/.
#
#   VERSION=v1.2.3 scripts/deb.sh      # package version from a tag-like VERSION
#   scripts/deb.sh                     # 0.0~git<commit time>.<hash>[.dirty]-1
#   DEB_OUTDIR=/tmp/x scripts/deb.sh   # somewhere else than dist/
#
# The package takes Debian's keepalived paths (/lib/systemd/system, not
# /usr/lib, as bookworm's keepalived has it: dpkg must see the same path for
# Replaces to hand the file over). Output is reproducible for a given commit.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
pkg=keepalived-go
arch=amd64
maintainer=${DEB_MAINTAINER:-"keepalived-go maintainers <maintainers@users.noreply.r-seed-7d6d1aab.example>"}
GO=${GO:-go}

die() { echo "deb.sh: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"

# --- version -----------------------------------------------------------------
# A Debian upstream version must start with a digit and, with a revision,
# may hold [A-Za-z0-9.+~-]; git describe output is mapped onto that.
commit_epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$commit_epoch}
v=${VERSION:-}
if [[ $v =~ ^v?[0-9]+(\.[0-9]+)+ ]]; then
	upstream=${v#v}
	upstream=${upstream/-/+}   # v1.2.3-4-gabc -> 1.2.3+4-gabc
	upstream=${upstream//-/.}  # -> 1.2.3+4.gabc
else
	hash=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
	stamp=$(date -u -d "@$commit_epoch" +%Y%m%d.%H%M%S)
	upstream="0.0~git${stamp}.${hash}"
	if [[ $v == *-dirty ]] || { [ -z "$v" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; }; then
		upstream+=".dirty"
	fi
fi
debversion="${upstream}-1"
[[ $debversion =~ ^[0-9][A-Za-z0-9.+~]*-[0-9]+$ ]] || die "bad Debian version '$debversion' from VERSION='$v'"

# --- binaries ----------------------------------------------------------------
if [ ! -x bin/keepalived ] || [ ! -x bin/genhash ]; then
	echo "deb.sh: bin/ incomplete, building static binaries"
	mkdir -p bin
	for c in keepalived genhash; do
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X main.Version=${VERSION:-$upstream}" \
			-o "bin/$c" "./cmd/$c"
	done
fi
for b in bin/keepalived bin/genhash; do
	# A dynamic binary would need Depends: libc6 that we do not declare.
	if LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'INTERP'; then
		die "$b is dynamically linked; build with CGO_ENABLED=0 (make build)"
	fi
done

# --- staging tree ------------------------------------------------------------
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
umask 022
P=packaging
doc=$stage/usr/share/doc/$pkg

install -d "$stage/DEBIAN" "$stage/usr/sbin" "$stage/usr/bin" "$stage/lib/systemd/system" \
	"$stage/etc/default" "$stage/etc/keepalived" "$stage/etc/dbus-1/system.d" "$doc" \
	"$stage/usr/share/man/man1" "$stage/usr/share/man/man5" "$stage/usr/share/man/man8" \
	"$stage/usr/share/lintian/overrides"
install -m 0755 bin/keepalived "$stage/usr/sbin/keepalived"
install -m 0755 bin/genhash "$stage/usr/bin/genhash"
install -m 0644 $P/systemd/keepalived.service "$stage/lib/systemd/system/keepalived.service"
# Byte-identical to Debian's: dpkg then takes the conffile over silently.
install -m 0644 $P/default/keepalived "$stage/etc/default/keepalived"
# The system bus policy of the DBus service (enable_dbus), at the path
# Debian's keepalived installs it, so dpkg hands the conffile over.
install -m 0644 $P/dbus/org.keepalived.Vrrp1.conf "$stage/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf"
install -m 0644 $P/debian/README.Debian "$doc/README.Debian"
gzip -9n <$P/man/keepalived.8 >"$stage/usr/share/man/man8/keepalived.8.gz"
gzip -9n <$P/man/genhash.1 >"$stage/usr/share/man/man1/genhash.1.gz"
gzip -9n <$P/man/keepalived.conf.5 >"$stage/usr/share/man/man5/keepalived.conf.5.gz"
if [ -s $P/debian/lintian-overrides ]; then
	install -m 0644 $P/debian/lintian-overrides "$stage/usr/share/lintian/overrides/$pkg"
else
	rmdir "$stage/usr/share/lintian/overrides" "$stage/usr/share/lintian"
fi

# changelog.Debian: one entry for this build, dated at the commit.
{
	echo "$pkg ($debversion) unstable; urgency=medium"
	echo
	echo "  * Build of keepalived-go $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)."
	echo "  * Drop-in for keepalived 2.2.7: same binaries, unit and defaults paths."
	echo
	echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# copyright: ours, then the Go standard library and each module linked in.
license_name() { # file -> DEP-5 short name
	local f=$1
	if grep -qi 'Apache License' "$f" && grep -q 'Version 2.0' "$f"; then echo Apache-2.0
	elif grep -q 'Mozilla Public License' "$f"; then echo MPL-2.0
	elif grep -qi 'Permission is hereby granted, free of charge' "$f"; then echo Expat
	elif grep -qi 'Permission to use, copy, modify, and/or distribute' "$f"; then echo ISC
	elif grep -qi 'Neither the name' "$f" || grep -qi 'names of its contributors' "$f"; then echo BSD-3-clause
	elif grep -qi 'Redistribution and use in source and binary forms' "$f"; then echo BSD-2-clause
	else echo unknown
	fi
}
modcache=$("$GO" env GOMODCACHE 2>/dev/null || true)
goroot=$("$GO" env GOROOT 2>/dev/null || true)
esc() { sed -e 's/[A-Z]/!\L&/g' <<<"$1"; } # Go module cache path escaping
declare -A texts=()
embedded=$(mktemp)
add_stanza() { # files copyright license-file
	local name; name=$(license_name "$3")
	[ "$name" = unknown ] && die "cannot classify license $3"
	local holders
	holders=$(grep -m3 -iE '^[[:space:]]*copyright[[:space:]]+(\(c\)|©|[0-9])' "$3" | sed -E 's/^[[:space:]]*[Cc]opyright[[:space:]]*//' | paste -sd'\n' - | sed '2,$s/^/ /' || true)
	[ -n "$holders" ] || holders=$2
	{
		echo "Files: $1"
		echo "Copyright: $holders"
		echo "License: $name"
		echo
	} >>"$embedded"
	# Apache-2.0 and MPL-2.0 are in /usr/share/common-licenses; the others
	# carry their holders' text, kept once per license name.
	case $name in Apache-2.0 | MPL-2.0) ;; *) [ -n "${texts[$name]:-}" ] || texts[$name]=$3 ;; esac
}
[ -f "$goroot/LICENSE" ] || die "no GOROOT/LICENSE"
add_stanza "go/src/*" "The Go Authors" "$goroot/LICENSE"
while read -r kind path ver _; do
	[ "$kind" = dep ] || continue
	dir="$modcache/$(esc "$path")@$(esc "$ver")"
	lic=$(ls "$dir"/LICENSE* "$dir"/COPYING* "$dir"/LICENCE* 2>/dev/null | head -1 || true)
	[ -n "$lic" ] || die "no license file for $path $ver in $dir (go mod download)"
	add_stanza "vendor/$path/*" "$path authors" "$lic"
done < <(cat <("$GO" version -m bin/keepalived) <("$GO" version -m bin/genhash) | awk '$1=="dep"{print $1, $2, $3}' | sort -u)
{
	sed -e "/@EMBEDDED@/{r $embedded" -e 'd}' $P/debian/copyright.in
	echo "License: Apache-2.0"
	echo " On Debian systems, the complete text of the Apache License, Version 2.0"
	echo " can be found in /usr/share/common-licenses/Apache-2.0."
	if grep -q '^License: MPL-2.0' "$embedded"; then
		echo
		echo "License: MPL-2.0"
		echo " On Debian systems, the complete text of the Mozilla Public License,"
		echo " Version 2.0 can be found in /usr/share/common-licenses/MPL-2.0."
	fi
	for name in $(printf '%s\n' "${!texts[@]}" | sort); do
		echo
		echo "License: $name"
		sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "${texts[$name]}"
	done
} >"$doc/copyright"
rm -f "$embedded"
chmod 0644 "$doc/copyright"

# --- control area --------------------------------------------------------------
install -m 0755 $P/debian/postinst $P/debian/prerm $P/debian/postrm "$stage/DEBIAN/"
install -m 0644 $P/debian/conffiles "$stage/DEBIAN/conffiles"
# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up.
size=$(find "$stage" -path "$stage/DEBIAN" -prune -o \( -type f -o -type l \) -printf '%s\n' |
	awk '{ t += int(($1 + 1023) / 1024) } END { print t }')
sed -e "s/@VERSION@/$debversion/" -e "s|@MAINTAINER@|$maintainer|" -e "s/@INSTALLED_SIZE@/$size/" \
	$P/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles) | xargs -d '\n' md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control"

find "$stage" -depth -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +
outdir=${DEB_OUTDIR:-dist}
mkdir -p "$outdir"
out="$outdir/${pkg}_${debversion}_${arch}.deb"
# One package per output directory, so scripts and CI find the current one.
rm -f "$outdir/${pkg}"_*_"${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
