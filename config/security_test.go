package config

import (
	"slices"
	"testing"
)

func TestAllScripts(t *testing.T) {
	sc := func(cmd string) *Script { return &Script{Command: cmd} }
	cfg := &Config{
		Global: Global{
			NotifyFIFO:     FIFO{Script: sc("fifo")},
			LVSNotifyFIFO:  FIFO{Script: sc("lvsfifo")},
			ShutdownScript: sc("shutdown"),
		},
		Scripts:    []*VRRPScript{{Script: sc("chk")}},
		Instances:  []*VRRPInstance{{NotifyMaster: sc("master"), Notify: sc("notify")}, {}},
		SyncGroups: []*SyncGroup{{NotifyFault: sc("sgfault")}},
		VirtualServers: []*VirtualServer{
			{QuorumDown: sc("qdown"), RealServers: []*RealServer{
				{NotifyUp: sc("up"), Checkers: []*Checker{{Kind: TCPCheck}, {Kind: MiscCheck, Misc: &MiscOptions{Path: sc("misc")}}}},
				{},
			}},
			{SorryServer: &RealServer{}, RealServers: []*RealServer{{NotifyDown: sc("down")}}},
		},
	}
	var got []string
	for s := range cfg.AllScripts() {
		got = append(got, s.Command)
	}
	want := []string{"fifo", "lvsfifo", "shutdown", "chk", "master", "notify", "sgfault", "qdown", "up", "misc", "down"}
	if !slices.Equal(got, want) {
		t.Errorf("AllScripts = %q, want %q", got, want)
	}
	for stop := 1; stop <= len(want); stop++ {
		n := 0
		for range cfg.AllScripts() {
			if n++; n == stop {
				break
			}
		}
		if n != stop {
			t.Errorf("break after %d: iterated %d", stop, n)
		}
	}
	for range (&Config{}).AllScripts() {
		t.Error("an empty config yields a script")
	}
}
