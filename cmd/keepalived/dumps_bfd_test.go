package main

import (
	"os"
	"path/filepath"
	"testing"

	"keepalived-go/check"
	"keepalived-go/config"
)

func loadBFDConf(t *testing.T, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p, config.Options{Hostname: "test", Interfaces: config.Names("lo", "eth0")})
	if diags.Fatal() {
		t.Fatalf("config: %v", diags)
	}
	return cfg
}

// The "VRRP Track BFDs" part lists every session the VRRP process knows,
// its state and who tracks it with which weight: the instance's own
// entries first, then the sync group's for each member, the group's
// weight replacing a weighted instance entry (add_vrrp_to_track_bfd).
func TestVRRPTrackBFDsDump(t *testing.T) {
	cfg := loadBFDConf(t, `bfd_instance a {
    neighbor_ip 198.51.100.2
    weight -20
}
bfd_instance b {
    neighbor_ip 198.51.100.3
}
bfd_instance c {
    neighbor_ip 198.51.100.4
    checker
}
vrrp_sync_group G {
    group {
        I1
        I2
    }
    track_bfd {
        b weight 7 reverse
    }
    sync_group_tracking_weight
}
vrrp_instance I1 {
    interface eth0
    virtual_router_id 1
    priority 100
    track_bfd {
        a
        b weight 3
    }
    virtual_ipaddress {
        198.51.100.51/24
    }
}
vrrp_instance I2 {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        198.51.100.52/24
    }
}
`)
	var c confWriter
	writeVRRPTrackBFDs(&c, cfg, map[string]bool{"b": true})
	want := `------< VRRP Track BFDs >------
 VRRP Track BFD = a
   Weight = -20
   Bfd is down
   Tracking VRRP instances :
   Tracking instances :
     I1, weight -20
 VRRP Track BFD = b
   Weight = 0
   Bfd is up
   Tracking VRRP instances :
   Tracking instances :
     I1, weight 7 reverse
     I2, weight 7 reverse
`
	if got := c.b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var ic confWriter
	writeTrackList(&ic, "   Tracked BFDs :", trackBFDKind, cfg.Instances[0].TrackBFDs, nil)
	if got := ic.b.String(); got != "   Tracked BFDs :\n     a: weight -20\n     b: weight 3\n" {
		t.Errorf("instance's Tracked BFDs:\n%s", got)
	}
}

// The checker's part lists every session the checker process knows and
// the real servers following it.
func TestCheckerTrackBFDsDump(t *testing.T) {
	cfg := loadBFDConf(t, `bfd_instance a {
    neighbor_ip 198.51.100.2
}
bfd_instance v {
    neighbor_ip 198.51.100.3
    vrrp
}
bfd_instance idle {
    neighbor_ip 198.51.100.4
}
virtual_server 198.51.100.80 80 {
    protocol TCP
    real_server 198.51.100.2 80 {
        BFD_CHECK {
            name a
        }
    }
    real_server 198.51.100.5 80 {
        BFD_CHECK {
            name a
        }
    }
}
`)
	e, err := check.New(cfg, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := e.Status()
	var c confWriter
	writeCheckerTrackBFDs(&c, cfg, st)
	want := `------< Checker track BFDs >------
 Checker Track BFD = a
   Tracking RS :
   [198.51.100.2]:tcp:80
   [198.51.100.5]:tcp:80
 Checker Track BFD = idle
   Tracking RS :
`
	if got := c.b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var rc confWriter
	writeRSTrackedBFDs(&rc, &st.VirtualServers[0].RealServers[0])
	if got := rc.b.String(); got != "   Tracked BFDs\n     a\n" {
		t.Errorf("real server's Tracked BFDs:\n%s", got)
	}
}
