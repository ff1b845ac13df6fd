package config

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"keepalived-go/parser"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBFDInstanceModel(t *testing.T) {
	p := writeConf(t, `bfd_instance b1 {
    neighbor_ip 198.51.100.2/24
    source_ip 198.51.100.1-5
    min_rx 3.3125
    min_tx 1.5
    idle_tx +1000
    multiplier " 7"
    max_hops -1
    hoplimit 10
    weight -20 reverse
    passive
}
bfd_instance b2 {
    neighbour_ip 2001:db8::2
    checker
}
bfd_instance b3 {
    neighbor_ip 198.51.100.3
    max_hops 255
    vrrp
}
bfd_instance b4 {
    min_rx 20
}
`)
	cfg, diags := Load(p, Options{Hostname: "node1"})
	want := []*BFDInstance{
		{Name: "b1", Session: true, VRRP: true, Checker: true,
			Neighbor: netip.MustParseAddr("198.51.100.2"), Source: netip.MustParseAddr("198.51.100.1"),
			MinRx: 3313 * time.Microsecond, MinTx: 1500 * time.Microsecond, IdleTx: time.Second,
			Multiplier: 7, Passive: true, TTL: 10, MaxHops: 10, Weight: -20, WeightReverse: true},
		{Name: "b2", Session: true, Checker: true, Neighbor: netip.MustParseAddr("2001:db8::2"),
			MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond, IdleTx: time.Second, Multiplier: 5, TTL: 64},
		{Name: "b3", Session: true, VRRP: true, Neighbor: netip.MustParseAddr("198.51.100.3"),
			MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond, IdleTx: time.Second, Multiplier: 5, TTL: 255, MaxHops: 255},
		// No neighbour: the BFD process drops it, VRRP and checkers keep the name.
		{Name: "b4", VRRP: true, Checker: true, MinRx: 20 * time.Millisecond, MinTx: 10 * time.Millisecond,
			IdleTx: time.Second, Multiplier: 5},
	}
	if len(cfg.BFDInstances) != len(want) {
		t.Fatalf("%d instances, want %d\n%s", len(cfg.BFDInstances), len(want), diags)
	}
	for i, got := range cfg.BFDInstances {
		g := *got
		g.Pos = Pos{}
		if !reflect.DeepEqual(&g, want[i]) {
			t.Errorf("instance %d:\n got %+v\nwant %+v", i, g, *want[i])
		}
	}
	wantDiags := []string{
		"number '3.3125' has too many decimal places",
		"BFD instance b1: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit",
		"Configuration error: BFD instance b4 has no neighbor address set, disabling instance",
	}
	var got []string
	for _, d := range diags.List {
		got = append(got, d.Msg)
	}
	if !reflect.DeepEqual(got, wantDiags) {
		t.Fatalf("diagnostics\n %q\nwant\n %q", got, wantDiags)
	}
	if d := diags.List[2]; d.Pos.Line != 24 {
		t.Fatalf("end-handler message at line %d, want the closing brace's 24", d.Pos.Line)
	}
}

func TestBFDSensibleNotes(t *testing.T) {
	p := writeConf(t, "bfd_instance b1 {\n neighbor_ip 198.51.100.2\n min_rx 20000\n idle_tx 10000.001\n}\n")
	cfg, diags := Load(p, Options{Hostname: "node1"})
	if len(diags.List) != 0 {
		t.Fatalf("diagnostics: %s", diags)
	}
	want := []string{
		"Configuration warning: BFD instance b1 min_rx value 20000 is larger than max sensible (10000)",
		"Configuration warning: BFD instance b1 idle_tx value 10000.001 is larger than max sensible (10000)",
	}
	if got := cfg.BFDInstances[0].Notes; !reflect.DeepEqual(got, want) {
		t.Fatalf("notes %q", got)
	}
}

func TestCStrto(t *testing.T) {
	for _, c := range []struct {
		in   string
		val  uint64
		rest string
		er   bool
	}{
		{"12", 12, "", false}, {" +7", 7, "", false}, {"", 0, "", false}, {"x", 0, "x", false},
		{"10x", 10, "x", false}, {"-1", 1<<64 - 1, "", false}, {"99999999999999999999", 1<<64 - 1, "", true},
	} {
		v, rest, er := cStrtoul(c.in, 64)
		if v != c.val || rest != c.rest || er != c.er {
			t.Errorf("strtoull(%q) = %d %q %v", c.in, v, rest, er)
		}
	}
	for _, c := range []struct {
		in  string
		val int64
		er  bool
	}{{"-1", -1, false}, {"-9223372036854775808", -1 << 63, false}, {"9223372036854775808", 1<<63 - 1, true}, {"-9223372036854775809", -1 << 63, true}} {
		if v, _, er := cStrtol(c.in); v != c.val || er != c.er {
			t.Errorf("strtol(%q) = %d %v", c.in, v, er)
		}
	}
}

// bfdWalk reads a config the way Load does, and also hands the track_bfd
// blocks of vrrp_instances and the BFD_CHECK blocks of real servers to the
// BFD functions (config/vrrp.go and config/check.go do not call them yet).
func bfdWalk(t *testing.T, path string) (*builder, map[string][]TrackBFD) {
	diags := &parser.Diagnostics{}
	b := &builder{opts: Options{Hostname: "node1"}, diags: diags, cfg: &Config{}}
	tracks := map[string][]TrackBFD{}
	parser.Walk(path, parser.Options{}, diags, func(st *parser.Stmt) {
		switch st.Name() {
		case "bfd_instance":
			b.bfdInstance(st)
		case "vrrp_instance":
			for _, c := range st.Children() {
				if c.Name() == "track_bfd" {
					tracks[firstArg(st)] = b.trackBFD(c, firstArg(st))
				}
			}
		case "virtual_server":
			for _, rs := range st.Children() {
				if rs.Name() != "real_server" {
					continue
				}
				name := "[" + rs.Args[0].Value() + "]:tcp:" + rs.Args[1].Value()
				var tracked []string
				for _, ck := range rs.Children() {
					if ck.Name() != "BFD_CHECK" {
						continue
					}
					o := &BFDOptions{}
					ok := true
					for _, k := range ck.Children() {
						if k.Name() == "name" && ok {
							ok = b.bfdCheckName(k, name, o, tracked)
						}
					}
					if ok && b.bfdCheckEnd(ck.Block.EndPos, name, o) {
						tracked = append(tracked, o.Name)
					}
				}
			}
		}
	})
	return b, tracks
}

// The BFD messages of keepalived 2.2.7 -t for the same files, compared as
// sorted lists (keepalived prints its checker, VRRP and BFD processes'
// readings one after the other; we report per block).
func TestBFDDiagnosticsMatchKeepalived(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("keepalived missing under CI")
		}
		t.Skip("needs Debian's keepalived")
	}
	files := map[string]string{
		"instances": `bfd_instance b1 {
    neighbor_ip 198.51.100.2
    source_ip 198.51.100.1
    min_rx 0
    min_tx 3.3125
    idle_tx 999
    multiplier 256
    ttl 0
    max_hops -2
    weight 300 foo
    passive
}
bfd_instance b1 {
    neighbor_ip 198.51.100.3
}
bfd_instance b2 {
    neighbour_ip 198.51.100.x
    min_rx abc
}
bfd_instance b3 {
    min_rx 20
    multiplier -3
    max_hops 1x
}
bfd_instance b4 {
    neighbor_ip 2001:db8::1
    source_ip 198.51.100.1
    source_ip 198.51.100.y
}
bfd_instance b5 {
    neighbor_ip 198.51.100.2
}
bfd_instance b6_this_name_is_way_too_long_for_it {
    neighbor_ip 198.51.100.9
}
bfd_instance b7 {
    neighbor_ip 198.51.100.7
    ttl 10
    max_hops 20
    min_rx 20000
    idle_tx 1.0009
}
bfd_instance b8 {
    neighbor_ip 198.51.100.8
    source_ip 198.51.100.1
}
bfd_instance b9 {
    neighbor_ip 198.51.100.8
    source_ip 198.51.100.1
}
bfd_instance b10 {
    neighbor_ip 198.51.100.8
}
bfd_instance b11 {
    neighbor_ip 198.51.100.11
    checker
}
bfd_instance b11 {
    neighbor_ip 198.51.100.12
    vrrp
}
`,
		"track": `bfd_instance b1 {
    neighbor_ip 198.51.100.2
    weight 10 reverse
}
bfd_instance b5 {
    neighbor_ip 198.51.100.5
}
bfd_instance bc {
    neighbor_ip 198.51.100.6
    checker
}
vrrp_instance V1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        198.51.100.100
    }
    track_bfd {
        b1
        b1
        b5 weight
        b5 foo
        nosuch
        bc
        b5 weight 300
        b5 weight 20 sideways
        b5 weight -20 noreverse
    }
}
`,
		"check": `bfd_instance b1 {
    neighbor_ip 198.51.100.2
}
bfd_instance b2 {
    neighbor_ip 198.51.100.3
    vrrp
}
virtual_server 198.51.100.90 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.151 80 {
        BFD_CHECK {
            name b1
        }
        BFD_CHECK {
            name b1
        }
        BFD_CHECK {
            name b2
        }
        BFD_CHECK {
            name nosuch
        }
        BFD_CHECK {
            name a b
        }
        BFD_CHECK {
            alpha
        }
    }
}
`,
	}
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			p := writeConf(t, text)
			out, _ := exec.Command(ka, "-t", "-f", p).CombinedOutput()
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				// Only what the BFD code reports: not keepalived's VRRP
				// or LVS checks of the rest of the file.
				if strings.Contains(l, "BFD") || strings.Contains(l, "bfd") || strings.Contains(l, "number '") {
					want = append(want, l)
				}
			}
			b, _ := bfdWalk(t, p)
			var got []string
			for _, d := range b.diags.List {
				got = append(got, d.Keepalived())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ours:\n%s\nkeepalived:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestTrackBFDEntries(t *testing.T) {
	p := writeConf(t, `bfd_instance b1 {
    neighbor_ip 198.51.100.2
    weight 10 reverse
}
bfd_instance b2 {
    neighbor_ip 198.51.100.3
}
vrrp_instance V1 {
    track_bfd {
        b1
        b2 weight -30
        b2
    }
}
vrrp_instance V2 {
    track_bfd {
        b1 weight 5 noreverse
        b2 weight 0 reverse
    }
}
`)
	b, tracks := bfdWalk(t, p)
	strip := func(ts []TrackBFD) []TrackBFD {
		for i := range ts {
			ts[i].Pos = Pos{}
		}
		return ts
	}
	if got := strip(tracks["V1"]); !reflect.DeepEqual(got, []TrackBFD{{Name: "b1", Weight: 10, Reverse: true}, {Name: "b2", Weight: -30}}) {
		t.Errorf("V1: %+v", got)
	}
	if got := strip(tracks["V2"]); !reflect.DeepEqual(got, []TrackBFD{{Name: "b1", Weight: 5}, {Name: "b2", Reverse: true}}) {
		t.Errorf("V2: %+v", got)
	}
	if len(b.diags.List) != 1 || b.diags.List[0].Msg != "(V1) duplicate track_bfd b2 - ignoring" {
		t.Errorf("diagnostics %s", b.diags)
	}
}
