#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use: the real peers
# (keepalived, genhash), the kernel tools, Debian's kernel for the IPVS VM, and
# for the DBus tests a private bus (dbus-daemon), its clients (dbus-send,
# busctl from systemd), setpriv, and gcc + GLib for the hash-order oracle.
set -euo pipefail
pkgs=(keepalived iproute2 iptables nftables ipvsadm tshark apache2-utils
      qemu-system-x86 linux-image-amd64 busybox-static kmod xz-utils time
      lintian debootstrap wrk bc snmpd snmp snmptrapd pcre2-utils frr
      dbus-daemon dbus-bin systemd libglib2.0-0 gcc util-linux ethtool)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "deps: missing Debian packages (${missing[*]}); run as root on Debian to install them, tests needing them will skip" >&2
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian enables keepalived's and frr's units on install; our tests start their own.
systemctl disable --now keepalived >/dev/null 2>&1 || true
systemctl disable --now frr >/dev/null 2>&1 || true
