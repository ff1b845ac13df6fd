package lvs

import (
	"errors"
	"testing"
)

const validateConf = `
virtual_server 198.51.100.10 80 {
    lb_kind NAT
    protocol TCP
    real_server 203.0.113.1 80 {
    }
}
`

// Validate, the first phase of the daemon's all-or-nothing reload, refuses
// what Reload would refuse and leaves the running model alone.
func TestValidateChangesNothing(t *testing.T) {
	h := newHarness(t, validateConf, Options{})
	defer h.stop()
	before := h.m.Desired()
	bad := loadConf(t, validateConf+`
virtual_server_group G {
    198.51.100.10 80
}
virtual_server group G {
    lb_kind NAT
    protocol TCP
    real_server 203.0.113.2 80 {
    }
}
`)
	if err := h.m.Validate(bad); !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate of a service defined twice: %v", err)
	}
	if err := h.m.Validate(loadConf(t, validateConf)); err != nil {
		t.Errorf("Validate of the running config: %v", err)
	}
	if after := h.m.Desired(); len(after) != len(before) {
		t.Errorf("Validate changed the desired table: %v -> %v", before, after)
	}
}

// Two virtual_server_group blocks of one name: the first is the one the
// virtual server uses, as keepalived's ipvs_get_group_by_name finds it.
func TestGroupFirstOfNameWins(t *testing.T) {
	m, err := FromConfig(loadConf(t, `
virtual_server_group G {
    198.51.100.20 80
}
virtual_server_group G {
    198.51.100.30 80
}
virtual_server group G {
    lb_kind NAT
    protocol TCP
    real_server 203.0.113.2 80 {
    }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.VirtualServers) != 1 {
		t.Fatalf("%d virtual servers", len(m.VirtualServers))
	}
	got := m.VirtualServers[0].Addrs
	if len(got) != 1 || got[0].String() != "198.51.100.20" {
		t.Errorf("group G resolves to %v, want the first group's 198.51.100.20", got)
	}
}
