package packet

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTsharkReadsOurPackets checks the bit layout against an independent
// dissector: every golden, encoded by us, is written into a pcap as UDP to
// port 3784 and read back by Wireshark's BFD dissector (Debian package
// tshark, which scripts/deps.sh installs).
func TestTsharkReadsOurPackets(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark missing under CI (scripts/deps.sh installs it)")
		}
		t.Skip("needs tshark (Debian package tshark)")
	}
	pcap := filepath.Join(t.TempDir(), "bfd.pcap")
	var file []byte
	file = binary.LittleEndian.AppendUint32(file, 0xa1b2c3d4)
	file = binary.LittleEndian.AppendUint16(file, 2)
	file = binary.LittleEndian.AppendUint16(file, 4)
	file = append(file, make([]byte, 8)...)
	file = binary.LittleEndian.AppendUint32(file, 65535)
	file = binary.LittleEndian.AppendUint32(file, 101) // LINKTYPE_RAW: IPv4 from the first byte
	var want []string
	for _, g := range goldens {
		payload, err := g.want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		frame := ipv4UDP(payload)
		file = binary.LittleEndian.AppendUint32(file, 0)
		file = binary.LittleEndian.AppendUint32(file, 0)
		file = binary.LittleEndian.AppendUint32(file, uint32(len(frame)))
		file = binary.LittleEndian.AppendUint32(file, uint32(len(frame)))
		file = append(file, frame...)
		c := g.want
		want = append(want, fmt.Sprintf("%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,0x%08x,0x%08x,%d,%d,%d",
			c.Version, c.Diag, c.State, b2i(c.Poll), b2i(c.Final), b2i(c.CPI), b2i(c.Auth != nil), b2i(c.Demand), b2i(c.Multipoint),
			c.DetectMult, c.Len(), c.MyDiscr, c.YourDiscr, c.DesiredMinTx, c.RequiredMinRx, c.RequiredMinEchoRx))
	}
	if err := os.WriteFile(pcap, file, 0o644); err != nil {
		t.Fatal(err)
	}
	fields := []string{"bfd.version", "bfd.diag", "bfd.sta", "bfd.flags.p", "bfd.flags.f", "bfd.flags.c", "bfd.flags.a",
		"bfd.flags.d", "bfd.flags.m", "bfd.detect_time_multiplier", "bfd.message_length", "bfd.my_discriminator",
		"bfd.your_discriminator", "bfd.desired_min_tx_interval", "bfd.required_min_rx_interval", "bfd.required_min_echo_interval"}
	args := []string{"-r", pcap, "-T", "fields", "-E", "separator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(want) {
		t.Fatalf("tshark read %d packets, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		// tshark prints flags as 0/1, intervals in µs, diag and state as
		// numbers (0x prefixed for the codes).
		g := got[i]
		parts := strings.Split(g, ",")
		for j, p := range parts {
			if strings.HasPrefix(p, "0x") && j != 11 && j != 12 {
				var v int
				fmt.Sscanf(p, "0x%x", &v)
				parts[j] = fmt.Sprint(v)
			}
		}
		if g = strings.Join(parts, ","); g != want[i] {
			t.Errorf("%s:\ntshark %s\nwant   %s", goldens[i].name, g, want[i])
		}
	}
}

// ipv4UDP frames payload as 198.51.100.1:49152 -> 198.51.100.2:3784, TTL 255.
func ipv4UDP(payload []byte) []byte {
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 255, 17, 0, 0, 198, 51, 100, 1, 198, 51, 100, 2}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 49152)
	binary.BigEndian.PutUint16(udp[2:], ControlPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	return append(append(ip, udp...), payload...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
