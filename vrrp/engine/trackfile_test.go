package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"keepalived-go/vrrp"
)

// fileConf tracks three files of dir: tf_z (weight 0), tf_r (weight 0
// reverse) and tf_w (weight 5 on the instance), with a sync group
// tracking tf_w too (its weight 2 reverse wins) and tf_g.
func fileConf(dir string) string {
	return fmt.Sprintf(`
track_file tf_z {
    file %[1]s/z
    weight 0
}
track_file tf_r {
    file %[1]s/link_r
    weight 0 reverse
}
track_file tf_w {
    file %[1]s/w
    weight 5
}
track_file tf_g {
    file %[1]s/g
    weight 1
}
track_file tf_gone {
    file %[1]s/nodir/x
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_file {
        tf_w weight 2 reverse
    }
    sync_group_tracking_weight
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 10
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.110/24
    }
    track_file {
        tf_z
        tf_r
        tf_w
        tf_g
        tf_gone
    }
}
`, dir)
}

// track_file follows the files through inotify: written and closed,
// renamed in, renamed away, deleted, through a symlink; with keepalived's
// weights, clamps and FAULTs.
func TestEngineTrackFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r_target"), []byte("0\n"), 0o644)
	os.Symlink(filepath.Join(dir, "r_target"), filepath.Join(dir, "link_r"))
	os.WriteFile(filepath.Join(dir, "w"), []byte("-60\n"), 0o644)
	h := newHarness(t, fileConf(dir), nil)
	for _, l := range []string{
		"Track file directory for tf_gone does not exist - removing",
		"(VI_1) track_file tf_w is configured on VRRP instance and sync group. Remove vrrp instance config",
		"(VI_1): entering FAULT state (tracked file tf_r has status -254)",
	} {
		if !h.logged(l) {
			t.Errorf("not logged: %q", l)
		}
	}
	// tf_w: -60 * 2 reversed = +120; tf_r: 0 with reverse is a FAULT.
	write := func(name, v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		h.e.fileEvents()
	}
	check := func(what string, state vrrp.State, prio uint8) {
		t.Helper()
		is := h.inst("VI_1")
		if is.State != state || is.EffectivePriority != prio {
			t.Errorf("%s: %v priority %d, want %v %d", what, is.State, is.EffectivePriority, state, prio)
		}
	}
	check("start", vrrp.StateFault, 220)
	write("r_target", "7\n") // through the symlink
	check("tf_r non-zero", vrrp.StateBackup, 220)
	write("w", "10") // -20
	check("tf_w 10", vrrp.StateBackup, 80)
	write("w", "0x8") // strtol base 0
	check("tf_w 0x8", vrrp.StateBackup, 84)
	// -254: FAULT. keepalived takes the file's share out of the total but
	// leaves the effective priority as it was (no
	// vrrp_set_effective_priority), and logs no priority change.
	write("w", "127")
	check("tf_w 127", vrrp.StateFault, 84)
	if tp := h.inst("VI_1").TotalPriority; tp != 100 || h.logged("Changing effective priority from 84") {
		t.Errorf("entering FAULT: total %d, or a priority change logged", tp)
	}
	write("w", "3000000000") // out of range: logged, the value stays
	if !h.logged("Invalid number 3000000000 read from " + filepath.Join(dir, "w") + " - ignoring") {
		t.Error("invalid number not logged")
	}
	check("tf_w invalid", vrrp.StateFault, 84)
	write("w", "-500") // +1000, held to 253
	check("tf_w -500", vrrp.StateBackup, 254)
	os.Remove(filepath.Join(dir, "w")) // gone: 0
	h.e.fileEvents()
	check("tf_w deleted", vrrp.StateBackup, 100)
	write("g.tmp", "9") // renamed in
	os.Rename(filepath.Join(dir, "g.tmp"), filepath.Join(dir, "g"))
	h.e.fileEvents()
	check("tf_g renamed in", vrrp.StateBackup, 109)
	os.Rename(filepath.Join(dir, "g"), filepath.Join(dir, "g.old")) // renamed away: 0
	h.e.fileEvents()
	check("tf_g renamed away", vrrp.StateBackup, 100)
	write("z", "1")
	check("tf_z 1", vrrp.StateFault, 100)
	write("z", "0")
	check("tf_z 0", vrrp.StateBackup, 100)

	var files []string
	for _, f := range h.e.Status().Files {
		files = append(files, fmt.Sprintf("%s=%d@%s", f.Name, f.Value, filepath.Base(f.Path)))
	}
	if got := fmt.Sprint(files); got != "[tf_z=0@z tf_r=7@r_target tf_w=0@w tf_g=0@g]" {
		t.Errorf("status files %s", got)
	}
}

// fileEffect against keepalived's arithmetic: weight 0 faults on a
// non-zero value (reverse: on zero); otherwise value*weight, negated by
// reverse, held to [-254, 253], a FAULT at -254.
func TestFileEffect(t *testing.T) {
	for _, c := range []struct {
		v     int64
		w     int
		rev   bool
		delta int
		fault bool
	}{
		{0, 0, false, 0, false}, {3, 0, false, 0, true}, {0, 0, true, 0, true}, {-1, 0, true, 0, false},
		{3, 5, false, 15, false}, {3, 5, true, -15, false}, {100, 5, false, 253, false},
		{-50, 5, false, -250, false}, {-51, 5, false, 0, true}, {51, 5, true, 0, true},
		{1 << 31, 254, false, 253, false}, {-(1 << 31), 254, false, 0, true},
	} {
		d, f := fileEffect(c.v, c.w, c.rev)
		if d != c.delta || f != c.fault {
			t.Errorf("fileEffect(%d, %d, %v) = %d %v; want %d %v", c.v, c.w, c.rev, d, f, c.delta, c.fault)
		}
	}
}

// A reload reads the files again (a new inotify descriptor) and logs the
// FAULTs again; init_file writes a missing file, overwrite a present one.
func TestEngineTrackFileReloadAndInit(t *testing.T) {
	dir := t.TempDir()
	conf := fmt.Sprintf(`
track_file tf {
    file %[1]s/f
    weight 0
    init_file 5
}
track_file tf_o {
    file %[1]s/o
    weight 1
    init_file 7 overwrite
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 10
    priority 100
    virtual_ipaddress {
        198.51.100.110/24
    }
    track_file {
        tf
        tf_o
    }
}
`, dir)
	os.WriteFile(filepath.Join(dir, "o"), []byte("1\n"), 0o644)
	h := newHarness(t, conf, nil)
	for name, want := range map[string]string{"f": "5\n", "o": "7\n"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("%s holds %q, want %q", name, b, want)
		}
	}
	if is := h.inst("VI_1"); is.State != vrrp.StateFault || is.EffectivePriority != 107 {
		t.Fatalf("start %v %d", is.State, is.EffectivePriority)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("0\n"), 0o644)
	h.logs.Reset()
	oldFD := h.e.fw.w.FD()
	if err := h.e.applyReload(loadConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	if h.logged("entering FAULT state (tracked file") {
		t.Error("FAULT logged with the file at 0")
	}
	// tf is back to 0 (read by the reload, which does not write init_file
	// again over an existing file); tf_o is overwritten to 7 again.
	if is := h.inst("VI_1"); is.State != vrrp.StateBackup || is.EffectivePriority != 107 {
		t.Errorf("after reload %v %d", is.State, is.EffectivePriority)
	}
	if h.e.fw.w == nil || h.e.fw.w.FD() < 0 {
		t.Fatalf("no watcher after reload (old fd %d)", oldFD)
	}
	os.WriteFile(filepath.Join(dir, "o"), []byte("20\n"), 0o644)
	h.e.fileEvents()
	if is := h.inst("VI_1"); is.EffectivePriority != 120 {
		t.Errorf("after a write following the reload: %d", is.EffectivePriority)
	}
}
