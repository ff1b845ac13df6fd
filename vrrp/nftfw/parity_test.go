package nftfw

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"keepalived-go/internal/nettest"
)

// A parity scenario is one configuration run twice on fresh namespaces,
// once under Debian's keepalived 2.2.7 and once under our engine with
// this package's firewall (kagofw), through the same states; the kernel's
// ruleset and the fate of pings and TCP connections to the VIPs are
// recorded in each and compared.
type scenario struct {
	name string
	// conf is the router's configuration; PRIO and TRACK are replaced by
	// the priority and the track_file path. The peer runs it with 200, a
	// file that stays 0, and in accept mode (vrrp_strict and no_accept
	// dropped), so that while the router is BACKUP the VIPs answer, from
	// the peer.
	conf      string
	instances []string
	probe     []string // VIP addresses to ping and connect to
	block     bool     // MASTER drops traffic to the VIPs
}

const trackDefs = `
vrrp_track_file TF {
    file "TRACK"
}
`

var scenarios = []scenario{
	{
		name: "strict-v2", instances: []string{"V4"}, probe: []string{"198.51.100.10"}, block: true,
		conf: `global_defs {
    vrrp_strict
}` + trackDefs + `
vrrp_instance V4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority PRIO
    advert_int 1
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_ipaddress_excluded {
        198.51.100.20/24
    }
}
`,
	},
	{
		name: "no_accept-v6-named-priority", instances: []string{"V6"}, probe: []string{"2001:db8::10"}, block: true,
		conf: `global_defs {
    nftables fw6
    nftables_priority -10
}` + trackDefs + `
vrrp_instance V6 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    version 3
    priority PRIO
    advert_int 0.5
    no_accept
    dont_track_primary
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        fe80::10/64
        2001:db8::10/64
    }
    virtual_ipaddress_excluded {
        2001:db8::30/64
    }
}
`,
	},
	{
		name: "strict-ifindex-counters-v4v6", instances: []string{"V4", "V6"}, probe: []string{"198.51.100.10", "2001:db8::10"}, block: true,
		conf: `global_defs {
    vrrp_strict
    nftables_ifindex
    nftables_counters
}` + trackDefs + `
vrrp_instance V4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority PRIO
    advert_int 0.5
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_ipaddress_excluded {
        2001:db8::20/64
    }
}
vrrp_instance V6 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    version 3
    priority PRIO
    advert_int 0.5
    dont_track_primary
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        fe80::10/64
        2001:db8::10/64
    }
}
`,
	},
	{
		name: "strict-accept", instances: []string{"V4"}, probe: []string{"198.51.100.10"}, block: false,
		conf: `global_defs {
    vrrp_strict
}` + trackDefs + `
vrrp_instance V4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority PRIO
    advert_int 0.5
    accept
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`,
	},
	{
		name: "use_vmac-no_accept", instances: []string{"V4"}, probe: []string{"198.51.100.10"}, block: true,
		conf: `global_defs {
    nftables
}` + trackDefs + `
vrrp_instance V4 {
    state BACKUP
    interface eth0
    use_vmac
    virtual_router_id 51
    version 3
    priority PRIO
    advert_int 0.5
    no_accept
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_ipaddress_excluded {
        2001:db8::20/64
    }
}
`,
	},
	{
		name: "vrrp_iptables-no_accept", instances: []string{"V4"}, probe: []string{"198.51.100.10"}, block: true,
		conf: `global_defs {
    vrrp_iptables
}` + trackDefs + `
vrrp_instance V4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority PRIO
    advert_int 0.5
    no_accept
    track_file {
        TF weight 0
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`,
	},
}

var (
	kagofwOnce sync.Once
	kagofwPath string
	kagofwErr  error
)

// TestMain removes the driver built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if kagofwPath != "" {
		os.RemoveAll(filepath.Dir(kagofwPath))
	}
	os.Exit(code)
}

// kagofw builds the test driver once.
func kagofw(t *testing.T) string {
	t.Helper()
	kagofwOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kagofw")
		if err != nil {
			kagofwErr = err
			return
		}
		kagofwPath = filepath.Join(dir, "kagofw")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", kagofwPath, "./internal/kagofw")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			kagofwErr = fmt.Errorf("building kagofw: %v\n%s", err, out)
		}
	})
	if kagofwErr != nil {
		t.Fatal(kagofwErr)
	}
	return kagofwPath
}

// snapshot is what the router's kernel holds in one state, and what
// became of the probes.
type snapshot struct {
	nft, json string
	raw       []string
	traffic   []string
}

// phases are the states a run goes through, in order.
var phases = []string{"BACKUP (start)", "MASTER", "BACKUP (after MASTER)", "FAULT (from MASTER)", "MASTER (after FAULT)", "stopped"}

type node struct {
	t   *testing.T
	n   *nettest.Node
	dir string
	p   *nettest.Proc
}

func (nd *node) start(conf string, ours bool) {
	t := nd.t
	t.Helper()
	base := filepath.Join(nd.dir, fmt.Sprintf("%s-%d", nd.n.Name, time.Now().UnixNano()))
	if err := os.WriteFile(base+".conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if ours {
		nd.p = nd.n.Start(nil, kagofw(t), "-D", "-f", base+".conf")
		return
	}
	nd.p = nd.n.Start(nil, "keepalived", "-n", "-l", "-D", "-P", "-f", base+".conf",
		"-p", base+".pid", "-r", base+".vpid", "-c", base+".cpid")
}

func (nd *node) stop() {
	nd.t.Helper()
	nd.p.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { nd.p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		nd.t.Fatalf("%s did not stop:\n%s", nd.n.Name, nd.p.Output())
	}
}

// waitState waits until every instance has logged entering state at least
// n times.
func (nd *node) waitState(instances []string, state string, n int) {
	nd.t.Helper()
	nettest.WaitFor(nd.t, 20*time.Second, fmt.Sprintf("%s: %v %s x%d", nd.n.Name, instances, state, n), func() bool {
		out := nd.p.Output()
		for _, in := range instances {
			re := regexp.MustCompile(`\(` + in + `\) Entering ` + state + ` STATE`)
			if len(re.FindAllString(out, -1)) < n {
				return false
			}
		}
		return true
	})
}

// serve answers TCP connections on port 8080 of the node with its name.
func serve(t *testing.T, n *nettest.Node) {
	l, err := n.Listen("tcp", "[::]:8080")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s\n", n.Name)
			c.Close()
		}
	}()
}

// probe pings each address and connects to port 8080 from the client.
func probe(t *testing.T, c *nettest.Node, addrs []string) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, fmt.Sprintf("ping %s: %s", a, ping(t, c, a)))
		var reply string
		err := c.Do(func() error {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(a, "8080"), time.Second)
			if err != nil {
				return err
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Second))
			reply, err = bufio.NewReader(conn).ReadString('\n')
			return err
		})
		if err != nil {
			out = append(out, fmt.Sprintf("tcp %s:8080: dropped", a))
		} else {
			out = append(out, fmt.Sprintf("tcp %s:8080: answered by %s", a, strings.TrimSpace(reply)))
		}
	}
	return out
}

// ping sends one echo request (two tries, a second each) and reports
// "answered" or "dropped".
func ping(t *testing.T, c *nettest.Node, addr string) string {
	dst := net.ParseIP(addr)
	network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if dst.To4() == nil {
		network, laddr, proto, typ = "ip6:ipv6-icmp", "::", 58, ipv6.ICMPTypeEchoRequest
	}
	var pc *icmp.PacketConn
	if err := c.Do(func() (err error) { pc, err = icmp.ListenPacket(network, laddr); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	id := os.Getpid() & 0xffff
	for try := 1; try <= 2; try++ {
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: try, Data: []byte("nftfw")}}
		b, _ := m.Marshal(nil)
		if _, err := pc.WriteTo(b, &net.IPAddr{IP: dst}); err != nil {
			continue
		}
		pc.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || from.String() != dst.String() {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && e.ID == id && (rm.Type == ipv4.ICMPTypeEchoReply || rm.Type == ipv6.ICMPTypeEchoReply) {
				return "answered"
			}
		}
	}
	return "dropped"
}

// normJSON is `nft -j list ruleset` without metainfo, handles and counts,
// set elements sorted.
func normJSON(t *testing.T, b []byte) string {
	var doc struct {
		Nftables []map[string]map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, b)
	}
	var lines []string
	for _, obj := range doc.Nftables {
		for kind, body := range obj {
			if kind == "metainfo" {
				continue
			}
			delete(body, "handle")
			if el, ok := body["elem"].([]any); ok {
				sort.Slice(el, func(i, j int) bool { return fmt.Sprint(el[i]) < fmt.Sprint(el[j]) })
			}
			b, _ := json.Marshal(body)
			s := regexp.MustCompile(`"counter":\{"bytes":\d+,"packets":\d+\}`).ReplaceAllString(string(b), `"counter":{}`)
			lines = append(lines, kind+" "+s)
		}
	}
	return strings.Join(lines, "\n")
}

func take(t *testing.T, r, c *nettest.Node, probes []string) snapshot {
	j := r.MustExec("nft", "-j", "list", "ruleset")
	return snapshot{nft: listRuleset(t, r), json: normJSON(t, []byte(j)), raw: rawDump(t, r.NS), traffic: probe(t, c, probes)}
}

// runScenario runs sc under one implementation and returns a snapshot per
// phase. want, when set, is keepalived's: ours waits (a little) for the
// ruleset to settle on it, since the firewall follows the engine's events
// asynchronously in this driver.
func runScenario(t *testing.T, sc scenario, ours bool, want map[string]snapshot) map[string]snapshot {
	lan := nettest.NewLAN(t)
	dir := t.TempDir()
	r := &node{t: t, n: lan.AddNode("r", "198.51.100.11/24", "2001:db8::11/64"), dir: dir}
	p := &node{t: t, n: lan.AddNode("p", "198.51.100.12/24", "2001:db8::12/64"), dir: dir}
	c := lan.AddNode("c", "198.51.100.50/24", "2001:db8::50/64")
	serve(t, r.n)
	serve(t, p.n)
	track := filepath.Join(dir, "track")
	setTrack := func(v string) {
		if err := os.WriteFile(track, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setTrack("0")
	peerTrack := filepath.Join(dir, "peer-track")
	os.WriteFile(peerTrack, []byte("0\n"), 0o644)
	conf := func(prio, tf string) string {
		return strings.NewReplacer("PRIO", prio, "TRACK", tf).Replace(sc.conf)
	}
	peerConf := strings.NewReplacer("vrrp_strict", "", "no_accept", "accept").Replace(conf("200", peerTrack))
	out := map[string]snapshot{}
	// snap waits for the VIPs to be on the router (MASTER) or not, and for
	// the ruleset to hold still (and, for ours, to be keepalived's, which
	// this driver's firewall follows a moment after the engine), then
	// records it and probes.
	snap := func(phase string) {
		master := strings.HasPrefix(phase, "MASTER")
		nettest.WaitFor(t, 5*time.Second, fmt.Sprintf("%s: VIPs on the router=%v", phase, master), func() bool {
			out := r.n.MustExec("ip", "-br", "addr")
			for _, a := range sc.probe {
				if strings.Contains(out, " "+a+"/") != master {
					return false
				}
			}
			return true
		})
		cur := listRuleset(t, r.n)
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			next := listRuleset(t, r.n)
			w, ok := want[phase]
			if next == cur && (!ok || next == w.nft) {
				break
			}
			cur = next
		}
		out[phase] = take(t, r.n, c, sc.probe)
	}
	p.start(peerConf, false)
	p.waitState(sc.instances, "MASTER", 1)
	r.start(conf("100", track), ours)
	r.waitState(sc.instances, "BACKUP", 1)
	snap(phases[0])
	p.stop()
	r.waitState(sc.instances, "MASTER", 1)
	snap(phases[1])
	p.start(peerConf, false)
	r.waitState(sc.instances, "BACKUP", 2)
	snap(phases[2])
	p.stop()
	r.waitState(sc.instances, "MASTER", 2)
	setTrack("1")
	r.waitState(sc.instances, "FAULT", 1)
	snap(phases[3])
	setTrack("0")
	r.waitState(sc.instances, "MASTER", 3)
	snap(phases[4])
	r.stop()
	snap(phases[5])
	if t.Failed() {
		t.Logf("router log:\n%s", r.p.Output())
	}
	return out
}

// TestKeepalivedParity compares, state by state, the ruleset our firewall
// leaves in the kernel (nft -y list ruleset, nft -j, and the raw netlink
// attributes) and the traffic outcome with Debian's keepalived's, for the
// same configuration.
func TestKeepalivedParity(t *testing.T) {
	needNFT(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("needs Debian's keepalived (make deps)")
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ka := runScenario(t, sc, false, nil)
			ours := runScenario(t, sc, true, ka)
			for _, ph := range phases {
				k, o := ka[ph], ours[ph]
				same := k.nft == o.nft && k.json == o.json && strings.Join(k.raw, "\n") == strings.Join(o.raw, "\n")
				t.Logf("%s: ruleset %s; keepalived %v; ours %v", ph, map[bool]string{true: "identical", false: "DIFFERENT"}[same], k.traffic, o.traffic)
				if k.nft != o.nft {
					t.Errorf("%s: nft list ruleset differs\nkeepalived:\n%s\nours:\n%s", ph, k.nft, o.nft)
				} else if k.json != o.json {
					t.Errorf("%s: nft -j differs\nkeepalived:\n%s\nours:\n%s", ph, k.json, o.json)
				}
				if ks, os := strings.Join(k.raw, "\n"), strings.Join(o.raw, "\n"); ks != os && k.nft == o.nft {
					t.Errorf("%s: netlink attributes differ\nkeepalived:\n%s\nours:\n%s", ph, ks, os)
				}
				if fmt.Sprint(k.traffic) != fmt.Sprint(o.traffic) {
					t.Errorf("%s: traffic differs: keepalived %v, ours %v", ph, k.traffic, o.traffic)
				}
			}
			t.Logf("keepalived's ruleset in MASTER (nft -y list ruleset, canonical):\n%s", ka["MASTER"].nft)
			// Not vacuous: a blocking MASTER has its VIPs in keepalived's
			// sets, an accepting one no table at all.
			if has := strings.Contains(ka["MASTER"].nft, "@vips"); has != sc.block || len(ka["MASTER"].raw) == 0 != !sc.block {
				t.Errorf("keepalived MASTER holds (block=%v):\n%s", sc.block, ka["MASTER"].nft)
			}
			for _, tr := range ka["MASTER"].traffic {
				if dropped := strings.HasSuffix(tr, "dropped"); dropped != sc.block {
					t.Errorf("keepalived MASTER: %s, want dropped=%v", tr, sc.block)
				}
			}
		})
	}
}
