package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tfConf tracks four files of dir, shared by both daemons: tf_z (weight
// 0), tf_w (weight 5), tf_r through a symlink (weight 10 reverse) and
// tf_g tracked by the sync group (weight 3).
func tfConf(dir string) func(s *vethSide, vrid int) string {
	return func(s *vethSide, vrid int) string {
		return fmt.Sprintf(`global_defs {
  router_id kgvsf
}
track_file tf_z {
  file %[1]s/z
  weight 0
}
track_file tf_w {
  file %[1]s/w
  weight 5
}
track_file tf_r {
  file %[1]s/link_r
  weight 10 reverse
}
track_file tf_g {
  file %[1]s/g
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_file {
    tf_g weight 3
  }
  sync_group_tracking_weight
}
vrrp_instance VI_1 {
  state BACKUP
  interface %[2]s
  virtual_router_id %[3]d
  priority 100
  advert_int 1
  unicast_src_ip %[4]s
  unicast_peer {
    %[5]s
  }
  virtual_ipaddress {
    %[6]s/32
  }
  track_file {
    tf_z
    tf_w
    tf_r
  }
}
`, dir, s.host, vrid, s.hostIP, s.peerIP, s.vip)
	}
}

// TestTrackFileSideBySide: keepalived and ours, each in a network
// namespace of its own, follow the same files: written, renamed in,
// renamed away, deleted, through a symlink. Both react at once (inotify,
// no polling), with the same priority and state lines, the VIP following,
// and the same track_file lines in keepalived.data.
func TestTrackFileSideBySide(t *testing.T) {
	needRootKeepalived(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	put := func(name, v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("w", "4\n")
	put("r_target", "1\n")
	os.Symlink(filepath.Join(dir, "r_target"), filepath.Join(dir, "link_r"))
	p := startKAPair(t, true, tfConf(dir))
	for _, d := range []*tpDaemon{p.ka, p.ours} {
		d.waitLog(t, "(VI_1) Entering MASTER STATE")
	}
	p.startLines([]string{prioLine(100, 110), "(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"})
	on, off := true, false
	move := func(from, to string) func() {
		return func() { os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)) }
	}
	p.run([]tpStep{
		{name: "z: 1 (weight 0)", do: func() { put("z", "1\n") }, vip: &off,
			want: []string{"(VI_1): tracked file tf_z now FAULT state", "(VI_1) Entering FAULT STATE", "VRRP_Group(G) Syncing instances to FAULT state"}},
		{name: "z: deleted", do: func() { os.Remove(filepath.Join(dir, "z")) }, vip: &on,
			want: []string{"(VI_1): tracked file tf_z leaving FAULT state", "(VI_1) Entering BACKUP STATE", "VRRP_Group(G) Syncing instances to BACKUP state",
				"(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"}},
		{name: "w: 10 written", do: func() { put("w", "10\n") }, want: []string{prioLine(110, 140)}},
		{name: "w: -3 renamed in", do: func() { put("w.tmp", "-3\n"); move("w.tmp", "w")() }, want: []string{prioLine(140, 75)}},
		{name: "w: 0x10 (strtol)", do: func() { put("w", "0x10 trailing\n") }, want: []string{prioLine(75, 170)}},
		{name: "w: out of range", do: func() { put("w", "4294967296\n") },
			want: []string{fmt.Sprintf("Invalid number 4294967296 read from %s/w - ignoring", dir)}},
		{name: "w: renamed away", do: move("w", "w.old"), want: []string{prioLine(170, 90)}},
		{name: "r: 30 via symlink", do: func() { put("r_target", "30\n") }, vip: &off,
			want: []string{"(VI_1): tracked file tf_r now FAULT state", "(VI_1) Entering FAULT STATE", "VRRP_Group(G) Syncing instances to FAULT state"}},
		// In FAULT keepalived's effective priority is still 90 (a file's
		// FAULT takes its share out of the total only).
		{name: "g: 5 (sync group)", do: func() { put("g", "5\n") }, want: []string{prioLine(90, 115)}},
		{name: "SIGUSR1 (dump)", do: func() { p.compareFileDumps() }},
		{name: "r: 2 via symlink", do: func() { put("r_target", "2\n") }, vip: &on,
			want: []string{"(VI_1): tracked file tf_r leaving FAULT state", "(VI_1) Setting effective priority to 95", "(VI_1) Entering BACKUP STATE",
				"VRRP_Group(G) Syncing instances to BACKUP state", "(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"}},
		{name: "g: deleted", do: func() { os.Remove(filepath.Join(dir, "g")) }, want: []string{prioLine(95, 80)}},
	})
}

// compareFileDumps compares the track_file lines of both daemons'
// keepalived.data.
func (p *tpPair) compareFileDumps() {
	titles := []string{"   Tracked files :"}
	ka := p.ka.dumpLines(p.t, "------< VRRP Track files >------", titles...)
	ours := p.ours.dumpLines(p.t, "------< VRRP Track files >------", titles...)
	if len(ka) < 10 || !slicesEqual(ka, ours) {
		p.t.Errorf("keepalived.data track_file lines differ:\n--- keepalived\n%s\n--- ours\n%s", strings.Join(ka, "\n"), strings.Join(ours, "\n"))
	}
	p.report = append(p.report, fmt.Sprintf("%-24s keepalived.data: %d track_file lines, the same on both sides", "SIGUSR1 (dump)", len(ka)))
}
