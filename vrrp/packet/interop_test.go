package packet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKeepalivedInterop captures adverts sent by Debian's keepalived 2.2.7
// (VRRPv2 with PASS, VRRPv2 with AH, VRRPv3) in a private network
// namespace, checks them with Check, and rebuilds each one byte for byte
// with Encode4. It needs root, ip(8) and /usr/sbin/keepalived (Debian
// packages iproute2 and keepalived).
func TestKeepalivedInterop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace and raw sockets")
	}
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived not installed (Debian package keepalived)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip not installed (Debian package iproute2)")
	}
	ns, kans := interopNetns(t)
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(interopConf), 0o644); err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, proto := range []int{ProtoVRRP, ProtoAH} {
		fd, err := openRawIn(ns, proto)
		if err != nil {
			t.Fatalf("raw socket for protocol %d: %v", proto, err)
		}
		fds = append(fds, fd)
		t.Cleanup(func() { syscall.Close(fd) })
	}

	cmd := exec.Command("ip", "netns", "exec", kans, ka, "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"-f", cf, "-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	var logbuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logbuf, &logbuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	got := captureAdverts(t, fds, &logbuf)
	vip := func(s ...string) []netip.Addr {
		var a []netip.Addr
		for _, x := range s {
			a = append(a, netip.MustParseAddr(x))
		}
		return a
	}
	key := func(s string) (k [8]byte) { copy(k[:], s); return }
	for _, tc := range []struct {
		vrid uint8
		e    Expect
	}{
		{10, Expect{Name: "PASS", Version: 2, VRID: 10, AuthType: AuthPass, AuthData: key("p@ssw0rd"), AdvertInt: 1, VIPs: vip("203.0.113.110"), CheckVIPs: true}},
		{11, Expect{Name: "AH", Version: 2, VRID: 11, AuthType: AuthAH, AuthData: key("s3cr3t"), AdvertInt: 1, VIPs: vip("203.0.113.111", "203.0.113.112"), CheckVIPs: true}},
		{12, Expect{Name: "V3", Version: 3, VRID: 12, VIPs: vip("203.0.113.113"), CheckVIPs: true}},
	} {
		b := got[tc.vrid]
		r, err := Parse4(b)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Check(r, &tc.e)
		if err != nil {
			t.Errorf("VRID %d: keepalived's packet fails Check: %v\n%x", tc.vrid, err, b)
			continue
		}
		if a.Priority != 255 || (tc.vrid == 12 && a.AdvertInt != 50) {
			t.Errorf("VRID %d: decoded %+v", tc.vrid, a)
		}
		h := IPv4Header{TOS: b[1], ID: binary.BigEndian.Uint16(b[4:6]), TTL: b[8], Src: r.Src, Dst: r.Dst}
		var ah *AHConfig
		if r.AH != nil {
			ah = &AHConfig{Key: tc.e.AuthData, Seq: r.AH.Seq}
		}
		a.Checksum = 0
		ours, err := Encode4(h, &a, ah)
		if err != nil {
			t.Fatal(err)
		}
		theirs := b
		t.Logf("VRID %d from keepalived: %x", tc.vrid, b)
		if !bytes.Equal(ours, theirs) {
			t.Errorf("VRID %d: our encoding differs\n ours   %x\n theirs %x", tc.vrid, ours, theirs)
		}
	}
}

// interopNetns makes two namespaces joined by a veth: keepalived runs in
// one (ka0, 198.51.100.1) and the capture in the other (cap0, .2), since
// a packet whose source is a local address would be dropped as martian.
func interopNetns(t *testing.T) (ns, kans string) {
	t.Helper()
	ns = fmt.Sprintf("kago-vrrp-%d", os.Getpid())
	kans = ns + "-ka"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	for _, n := range []string{ns, kans} {
		run("netns", "add", n)
		t.Cleanup(func() {
			out, _ := exec.Command("ip", "netns", "pids", n).Output()
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			exec.Command("ip", "netns", "del", n).Run()
		})
	}
	run("-n", kans, "link", "add", "ka0", "type", "veth", "peer", "name", "cap0", "netns", ns)
	run("-n", kans, "addr", "add", "198.51.100.1/24", "dev", "ka0")
	run("-n", ns, "addr", "add", "198.51.100.2/24", "dev", "cap0")
	for _, n := range []string{ns, kans} {
		run("-n", n, "link", "set", "lo", "up")
	}
	run("-n", kans, "link", "set", "ka0", "up")
	run("-n", ns, "link", "set", "cap0", "up")

	return ns, kans
}

const interopConf = `global_defs {
   router_id KAGO
   vrrp_garp_master_delay 0
}
vrrp_instance PASS {
   interface ka0
   virtual_router_id 10
   priority 255
   advert_int 1
   authentication {
      auth_type PASS
      auth_pass p@ssw0rd
   }
   virtual_ipaddress {
      203.0.113.110/24
   }
}
vrrp_instance AH {
   interface ka0
   virtual_router_id 11
   priority 255
   advert_int 1
   authentication {
      auth_type AH
      auth_pass s3cr3t
   }
   virtual_ipaddress {
      203.0.113.111/24
      203.0.113.112/24
   }
}
vrrp_instance V3 {
   interface ka0
   version 3
   virtual_router_id 12
   priority 255
   advert_int 0.5
   virtual_ipaddress {
      203.0.113.113/24
   }
}
`

// openRawIn opens a raw socket for proto inside namespace ns (from a
// locked OS thread), joined to 224.0.0.18, with a 200 ms receive timeout.
func openRawIn(ns string, proto int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return -1, err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return -1, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return -1, err
	}
	defer unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, proto)
	if err != nil {
		return -1, err
	}
	mreq := &syscall.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}, Address: [4]byte{198, 51, 100, 2}}
	if err := syscall.SetsockoptIPMreqn(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	return fd, nil
}

// captureAdverts reads the first advert of each VRID keepalived sends from
// 198.51.100.1, for up to 15 s.
func captureAdverts(t *testing.T, fds []int, logbuf *bytes.Buffer) map[uint8][]byte {
	t.Helper()
	got := map[uint8][]byte{}
	deadline := time.Now().Add(15 * time.Second)
	buf := make([]byte, 1500)
	for len(got) < 3 && time.Now().Before(deadline) {
		for _, fd := range fds {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			if err != nil || n < IPv4HeaderLen {
				continue
			}
			r, err := Parse4(append([]byte(nil), buf[:n]...))
			if err != nil || r.Src != netip.MustParseAddr("198.51.100.1") {
				continue
			}
			if _, seen := got[r.VRID]; !seen {
				got[r.VRID] = append([]byte(nil), buf[:n]...)
			}
		}
	}
	if len(got) < 3 {
		t.Fatalf("captured VRIDs %v only; keepalived said:\n%s", keys(got), logbuf.String())
	}

	return got
}

func keys(m map[uint8][]byte) []uint8 {
	var k []uint8
	for x := range m {
		k = append(k, x)
	}
	return k
}
