package lvs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"keepalived-go/config"
)

func loadConf(t *testing.T, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadFile(t, p)
}

func loadFile(t *testing.T, p string) *config.Config {
	t.Helper()
	cfg, diags := config.Load(p, config.Options{Hostname: "test"})
	if diags.Fatal() {
		t.Fatalf("load %s: %v", p, diags)
	}
	return cfg
}

func TestFromConfigSeed(t *testing.T) {
	cfg := loadFile(t, filepath.Join("..", "testdata", "seed", "lab-master.conf"))
	m, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.VirtualServers) != 1 {
		t.Fatalf("%d virtual servers", len(m.VirtualServers))
	}
	vs := m.VirtualServers[0]
	if vs.Name != "[198.51.100.10]:tcp:80" {
		t.Errorf("name %q", vs.Name)
	}
	wantKeys := []RSKey{
		{VS: vs.Name, RS: "[198.51.100.11]:tcp:80"},
		{VS: vs.Name, RS: "[198.51.100.12]:tcp:80"},
	}
	if !slices.Equal(vs.Keys, wantKeys) {
		t.Errorf("keys %v", vs.Keys)
	}
	if got, want := tableOf(m).String(), seedTable(100, 100).String(); got != want {
		t.Errorf("table\n%s\nwant\n%s", got, want)
	}
	// lvs_sync_daemon_interface follows the instance it is in, with the
	// instance's VRID as sync id.
	if m.Sync == nil || m.SyncInstance != "ETH0" || m.Sync.Interface != "eth0" || m.Sync.SyncID != 10 {
		t.Errorf("sync daemon %+v following %q", m.Sync, m.SyncInstance)
	}
}

// tableOf is the model's table with every server in its initial health.
func tableOf(m *Model) Table {
	t := Table{}
	for _, vs := range m.VirtualServers {
		vs.Expand(vs.Pool.Desired(vs.Pool.InitialQuorum()).Dests, t)
	}
	return t
}

// ipvsadmBlocks turns ipvsadm -Ln text (first view only) or Table.String
// into sorted "service|dest;dest" strings with counters dropped, so the
// kernel's hash order and column padding do not matter.
func ipvsadmBlocks(text string) []string {
	text, _, _ = strings.Cut(text, "--- ")
	var blocks []string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || f[0] == "IP" || f[0] == "Prot" || (f[0] == "->" && f[1] == "RemoteAddress:Port"):
		case f[0] == "->":
			blocks[len(blocks)-1] += strings.Join(f[1:4], " ") + ";"
		default:
			blocks = append(blocks, strings.Join(f, " ")+"|")
		}
	}
	for i, b := range blocks {
		svc, dests, _ := strings.Cut(b, "|")
		ds := strings.Split(strings.TrimSuffix(dests, ";"), ";")
		slices.Sort(ds)
		blocks[i] = svc + "|" + strings.Join(ds, ";")
	}
	slices.Sort(blocks)
	return blocks
}

// TestFromConfigMatchesKernelGoldens checks the pure mapping against the
// tables the VM test recorded (and proved equal to Debian keepalived's):
// config -> Model -> Table must print the same services and
// destinations without a kernel.
func TestFromConfigMatchesKernelGoldens(t *testing.T) {
	confs, _ := filepath.Glob(filepath.Join("..", "testdata", "lvs", "configs", "*.conf"))
	if len(confs) < 15 {
		t.Fatalf("%d configs", len(confs))
	}
	confs = append(confs, filepath.Join("..", "testdata", "seed", "lab-master.conf"))
	for _, c := range confs {
		name := strings.TrimSuffix(filepath.Base(c), ".conf")
		if name == "lab-master" {
			name = "00-seed-lab-master"
		}
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "testdata", "lvs", "golden", name+".ipvsadm"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromConfig(loadFile(t, c))
			if err != nil {
				t.Fatal(err)
			}
			got, w := ipvsadmBlocks(tableOf(m).String()), ipvsadmBlocks(string(want))
			if len(w) == 0 {
				t.Fatal("golden has no services")
			}
			if !slices.Equal(got, w) {
				t.Errorf("model table\n%s\nwant (kernel golden)\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

func TestFromConfigRules(t *testing.T) {
	tests := []struct {
		name, conf string
		want       string // Table.String of the initial table
		err        error
	}{
		{
			name: "granularity without timeout makes it persistent; engine ignored without persistence",
			conf: `virtual_server 198.51.100.10 80 { protocol TCP
  persistence_granularity 255.255.0.0
  real_server 198.51.100.11 80 { }
}
virtual_server 198.51.100.10 81 { protocol UDP
  persistence_engine sip
  real_server 198.51.100.11 81 { }
}`,
			want: "TCP  198.51.100.10:80 wlc persistent 360 mask 255.255.0.0\n" +
				"  -> 198.51.100.11:80             Masq    1     \n" +
				"UDP  198.51.100.10:81 wlc\n" +
				"  -> 198.51.100.11:81             Masq    1     \n",
		},
		{
			name: "ops needs UDP",
			conf: `virtual_server 198.51.100.10 80 { protocol TCP
  lb_algo rr
  ops
  lb_kind DR
  real_server 198.51.100.11 80 { weight 3 }
}`,
			want: "TCP  198.51.100.10:80 rr\n  -> 198.51.100.11:80             Route   3     \n",
		},
		{
			name: "no real servers: ignored like keepalived",
			conf: `virtual_server 198.51.100.10 80 { protocol TCP
}`,
			want: "",
		},
		{
			name: "duplicate service",
			conf: `virtual_server 198.51.100.10 80 { protocol TCP
  real_server 198.51.100.11 80 { }
}
virtual_server_group g { 198.51.100.9-10 80 }
virtual_server group g { protocol TCP
  real_server 198.51.100.12 80 { }
}`,
			err: ErrConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := FromConfig(loadConf(t, tt.conf))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tableOf(m).String(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
