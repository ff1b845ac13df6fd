package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "keepalived-go"

// rank orders the rooms of the house: a package may import its own room
// and rooms of a lower rank, never a room of its rank or above.
//
//	0 leaves (internal/...): stdlib and outside modules only, or leaves
//	1 parser
//	2 config
//	3 engines: vrrp, lvs, check, notify (bfd, bgp to come), and the
//	  protocol surfaces that read them only through plain data the
//	  daemon hands over: snmp (AgentX, the MIBs), dbusapi (the DBus
//	  service)
//	4 what wires them: cmd, and the programs and tests that run the
//	  whole daemon (e2e, bench, tools, packaging)
var rank = map[string]int{
	"internal": 0,
	"parser":   1,
	"config":   2,
	"vrrp":     3, "lvs": 3, "check": 3, "notify": 3, "bfd": 3, "bgp": 3, "snmp": 3, "dbusapi": 3,
	"cmd": 4, "e2e": 4, "bench": 4, "tools": 4, "packaging": 4,
}

type pkg struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH to list the packages")
	}
	cmd := exec.Command(goBin, "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

// room is the first path element below the module: "vrrp" for
// keepalived-go/vrrp/engine; "" for packages outside the module.
func room(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	r, _, _ := strings.Cut(rest, "/")
	return r
}

// violation explains why from may not import to ("" when it may).
func violation(from, to string) string {
	rf, rt := room(from), room(to)
	if rt == "" || rf == rt {
		return ""
	}
	kf, okf := rank[rf]
	kt, okt := rank[rt]
	switch {
	case !okf:
		return fmt.Sprintf("room %q of %s has no rank: add it to the table in imports_test.go", rf, from)
	case !okt:
		return fmt.Sprintf("room %q of %s has no rank: add it to the table in imports_test.go", rt, to)
	case kf == 3 && kt == 3:
		return fmt.Sprintf("engine %s imports engine %s: engines meet in cmd, or share a leaf", rf, rt)
	case kt >= kf:
		return fmt.Sprintf("%s (rank %d) imports upward into %s (rank %d)", rf, kf, rt, kt)
	}
	return ""
}

// TestImportRules fails on any import, tests' imports included, that
// breaks the house's layering.
func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, list := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range list {
				if why := violation(p.ImportPath, imp); why != "" {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
				}
			}
		}
	}
}

// The rule itself, on the cases it exists for.
func TestViolation(t *testing.T) {
	cases := []struct {
		from, to string
		bad      bool
	}{
		{"keepalived-go/vrrp/engine", "keepalived-go/notify", true},
		{"keepalived-go/check", "keepalived-go/notify", true},
		{"keepalived-go/lvs/internal/vmprog", "keepalived-go/check/httpget", true},
		{"keepalived-go/config", "keepalived-go/vrrp", true},
		{"keepalived-go/parser", "keepalived-go/config", true},
		{"keepalived-go/internal/script", "keepalived-go/config", true},
		{"keepalived-go/newroom", "keepalived-go/config", true},
		{"keepalived-go/vrrp/engine", "keepalived-go/internal/script", false},
		{"keepalived-go/vrrp/engine", "keepalived-go/vrrp/netio", false},
		{"keepalived-go/config", "keepalived-go/internal/script", false},
		{"keepalived-go/cmd/keepalived", "keepalived-go/check", false},
		{"keepalived-go/internal/timerfd", "keepalived-go/internal/rawsys", false},
		{"keepalived-go/check", "golang.org/x/sys/unix", false},
	}
	for _, c := range cases {
		if got := violation(c.from, c.to) != ""; got != c.bad {
			t.Errorf("%s -> %s: violation %v, want %v", c.from, c.to, got, c.bad)
		}
	}
}

// TestImportGraph logs the graph between rooms (run with -v): the picture
// of architecture.md, as the code has it.
func TestImportGraph(t *testing.T) {
	edges := map[string]map[string]bool{}
	for _, p := range listPackages(t) {
		from := room(p.ImportPath)
		for _, imp := range p.Imports {
			to := room(imp)
			if to == "" || to == from {
				continue
			}
			label := to
			if to == "internal" {
				label = strings.TrimPrefix(imp, module+"/")
			}
			if edges[from] == nil {
				edges[from] = map[string]bool{}
			}
			edges[from][label] = true
		}
	}
	var rooms []string
	for r := range edges {
		rooms = append(rooms, r)
	}
	sort.Slice(rooms, func(i, j int) bool {
		if rank[rooms[i]] != rank[rooms[j]] {
			return rank[rooms[i]] < rank[rooms[j]]
		}
		return rooms[i] < rooms[j]
	})
	var b strings.Builder
	for _, r := range rooms {
		var to []string
		for x := range edges[r] {
			to = append(to, x)
		}
		sort.Strings(to)
		fmt.Fprintf(&b, "%-10s -> %s\n", r, strings.Join(to, ", "))
	}
	t.Logf("imports between rooms (non-test):\n%s", b.String())
}
