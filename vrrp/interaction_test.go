package vrrp_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
	"keepalived-go/vrrp/vrrptest"
)

// TestInteraction replays testdata/interaction/*.txt on a simulated segment. Commands:
//
//	add-routers            one router per input line: rN key=value...
//	                       (prio state src version adv auth nopreempt
//	                       preempt_delay garp_delay lower_prio_no_advert
//	                       higher_prio_send_advert); defaults: the seed
//	                       scenario's ETH0 instance
//	start|stop|crash rN    start, clean shutdown, kill without a word
//	iface-down|iface-up rN
//	set-weight rN W        total tracking weight
//	cut rN rM | isolate rN | heal
//	run D                  advance the clock by duration D
//	state                  every router's state and priority
//
// The output lists what an operator would see: log lines (not -D ones),
// notifications, VIP changes, GARPs and priority 0 adverts, with times.
// Regenerate with go test ./vrrp -run TestInteraction -rewrite.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata/interaction", func(t *testing.T, path string) {
		var n *vrrptest.Network
		var out []string
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out = out[:0]
			if d.Cmd != "add-routers" && n == nil {
				d.Fatalf(t, "add-routers first")
			}
			router := func(i int) int {
				if len(d.CmdArgs) <= i {
					d.Fatalf(t, "%s needs a router", d.Cmd)
				}
				id, err := strconv.Atoi(strings.TrimPrefix(d.CmdArgs[i].Key, "r"))
				if err != nil || id < 0 || id >= len(n.Routers) {
					d.Fatalf(t, "bad router %q", d.CmdArgs[i].Key)
				}
				return id
			}
			switch d.Cmd {
			case "add-routers":
				var cfgs []vrrp.Config
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					c, err := parseRouter(line, len(cfgs))
					if err != nil {
						d.Fatalf(t, "%v", err)
					}
					cfgs = append(cfgs, c)
				}
				var err error
				if n, err = vrrptest.New(1, cfgs...); err != nil {
					d.Fatalf(t, "%v", err)
				}
				n.TickJitter, n.MinDelay, n.MaxDelay = 0, time.Millisecond, time.Millisecond
				n.Trace = func(s string) {
					if interesting(s) {
						out = append(out, s)
					}
				}
				return "ok"
			case "start":
				if err := n.Start(router(0)); err != nil {
					d.Fatalf(t, "%v", err)
				}
			case "stop":
				n.Stop(router(0))
			case "crash":
				n.Crash(router(0))
			case "iface-down":
				n.SetIface(router(0), false)
			case "iface-up":
				n.SetIface(router(0), true)
			case "set-weight":
				w, err := strconv.Atoi(d.CmdArgs[1].Key)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				n.SetWeight(router(0), w)
			case "cut":
				n.Cut(router(0), router(1))
			case "isolate":
				n.Isolate(router(0))
			case "heal":
				n.Heal()
			case "run":
				dur, err := time.ParseDuration(d.CmdArgs[0].Key)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				if err := n.Run(n.Now + dur); err != nil {
					d.Fatalf(t, "%v", err)
				}
			case "state":
				return n.Describe() + "\n"
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			if len(out) == 0 {
				return "ok"
			}
			return strings.Join(out, "\n") + "\n"
		})
	})
}

// interesting keeps the trace lines an operator sees.
func interesting(s string) bool {
	i := strings.Index(s, "s r")
	if i < 0 {
		return false
	}
	_, act, ok := strings.Cut(s[i+3:], "   ")
	if !ok {
		return false
	}
	act = strings.TrimSpace(act)
	for _, p := range []string{"log (", "log VRRP_Group", "notify", "add-vips", "del-vips", "garp", "send-advert prio=0 "} {
		if strings.HasPrefix(act, p) {
			return true
		}
	}
	return false
}

func parseRouter(line string, i int) (vrrp.Config, error) {
	c := baseCfg()
	c.SrcAddr = netip.AddrFrom4([4]byte{198, 51, 100, byte(111 + i)})
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != fmt.Sprintf("r%d", i) {
		return c, fmt.Errorf("line %q: want r%d first", line, i)
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "prio":
			var p int
			p, err = strconv.Atoi(v)
			c.Priority = uint8(p)
		case "state":
			c.InitialState = map[string]vrrp.State{"MASTER": vrrp.StateMaster, "BACKUP": vrrp.StateBackup}[v]
		case "src":
			c.SrcAddr, err = netip.ParseAddr(v)
		case "version":
			var x int
			x, err = strconv.Atoi(v)
			c.Version = uint8(x)
			if x == 3 {
				c.AuthType = packet.AuthNone
			}
		case "adv":
			c.AdvertInt, err = time.ParseDuration(v)
		case "auth":
			c.AuthType = map[string]packet.AuthType{"NONE": packet.AuthNone, "PASS": packet.AuthPass, "AH": packet.AuthAH}[v]
		case "nopreempt":
			c.NoPreempt = true
		case "preempt_delay":
			c.PreemptDelay, err = time.ParseDuration(v)
		case "garp_delay":
			c.Model.GarpMasterDelay, err = time.ParseDuration(v)
		case "lower_prio_no_advert":
			c.Model.LowerPrioNoAdvert = true
		case "higher_prio_send_advert":
			c.Model.HigherPrioSendAdvert = true
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return c, fmt.Errorf("line %q: %v", line, err)
		}
	}
	return c, nil
}
