package config

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"keepalived-go/internal/nettest"
)

// TestSystemInterfacesKind reads a VRF's kind and table from the kernel, as
// keepalived's netlink_if_link_populate does (route "vrf NAME").
func TestSystemInterfacesKind(t *testing.T) {
	nettest.Skip(t)
	ns := fmt.Sprintf("kgroutes%d", os.Getpid())
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("netns", "add", ns)
	defer exec.Command("ip", "netns", "del", ns).Run()
	run("-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	out, err := exec.Command("ip", "-n", ns, "link", "add", "vrf7", "type", "vrf", "table", "77").CombinedOutput()
	haveVRF := err == nil
	var ifs InterfaceSet
	if err := nettest.InNamespace(ns, func() error { ifs = SystemInterfaces(); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := ifs["d0"]; d.Kind != "veth" {
		t.Errorf("d0: kind %q", d.Kind)
	}
	if lo := ifs["lo"]; lo.Kind != "" {
		t.Errorf("lo: kind %q", lo.Kind)
	}
	if !haveVRF {
		t.Logf("no VRF in this kernel (%s): VRF table not checked", out)
		return
	}
	if v := ifs["vrf7"]; v.Kind != "vrf" || v.VRFTable != 77 {
		t.Errorf("vrf7: kind %q table %d", v.Kind, v.VRFTable)
	}
}
