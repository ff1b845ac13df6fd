package notify

import (
	"reflect"
	"testing"
)

func TestGenericNotifyArgv(t *testing.T) {
	base := []string{"/usr/local/bin/notify.sh", "x"}
	got := GenericNotifyArgv(base, KindInstance, "VI_1", StateMaster, 100)
	want := []string{"/usr/local/bin/notify.sh", "x", "INSTANCE", "VI_1", "MASTER", "100"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = GenericNotifyArgv(base, KindGroup, "G1", "weird", 0)
	want = []string{"/usr/local/bin/notify.sh", "x", "GROUP", "G1", "{UNKNOWN}", "0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(base) != 2 {
		t.Error("base modified")
	}
	if got := FifoScriptArgv([]string{"/s", "a"}, "/run/f"); !reflect.DeepEqual(got, []string{"/s", "a", "/run/f"}) {
		t.Errorf("FifoScriptArgv = %q", got)
	}
}
