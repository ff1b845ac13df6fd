package dbusapi

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestChildOrderKeepalived: the child lists GDBus printed for keepalived
// 2.2.7 (recorded with gdbus introspect): Vrrp registered before the
// instances comes first under Vrrp1, and after a reload that removed
// kg_a/52/IPv6 and added kg_b/51/IPv4 then kg_a/60/IPv4, kg_a lists 51, 60
// and Instance lists kg_a, kg_b.
func TestChildOrderKeepalived(t *testing.T) {
	r := newRegistry(Naming{}, t.Logf)
	r.start([]Instance{
		{Name: "VI_4", Interface: "kg-a", VRID: 51, Family: FamilyIPv4},
		{Name: "VI_6", Interface: "kg-a", VRID: 52, Family: FamilyIPv6},
	})
	if got := r.children("/org/keepalived/Vrrp1"); !slices.Equal(got, []string{"Vrrp", "Instance"}) {
		t.Errorf("children of Vrrp1 = %q", got)
	}
	if got := r.children("/org/keepalived/Vrrp1/Instance/kg_a"); !slices.Equal(got, []string{"51", "52"}) {
		t.Errorf("children of kg_a = %q", got)
	}
	r.removeObject("VI_6")
	r.reload([]Instance{{Name: "VI_4", Interface: "kg-a", VRID: 51, Family: FamilyIPv4}, {Name: "VI_6", Interface: "kg-a", VRID: 52, Family: FamilyIPv6}},
		[]Instance{
			{Name: "VI_4", Interface: "kg-a", VRID: 51, Family: FamilyIPv4},
			{Name: "VI_X", Interface: "kg-b", VRID: 51, Family: FamilyIPv4},
			{Name: "VI_Y", Interface: "kg-a", VRID: 60, Family: FamilyIPv4},
		})
	for path, want := range map[string][]string{
		"/":                                   {"org"},
		"/org/keepalived/Vrrp1":               {"Vrrp", "Instance"},
		"/org/keepalived/Vrrp1/Instance":      {"kg_a", "kg_b"},
		"/org/keepalived/Vrrp1/Instance/kg_a": {"51", "60"},
		"/org/keepalived/Vrrp1/Vrrp":          nil,
		"/nonexist":                           nil,
	} {
		if got := r.children(path); !slices.Equal(got, want) {
			t.Errorf("children of %s = %q, want %q", path, got, want)
		}
	}
}

// glibOracle is a small C program linked against the GLib that keepalived
// uses: it applies "+key" (g_hash_table_insert) and "-key"
// (g_hash_table_remove) lines to a g_str_hash table ("!" starts a new one);
// "?" prints the
// iteration order, then the g_hash_table_get_keys order.
const glibOracle = `#include <stdio.h>
#include <string.h>
#include <stdlib.h>
typedef struct _GHashTable GHashTable;
typedef struct { void *a, *b; int c; int d; void *e; } GHashTableIter;
typedef struct _GList { void *data; struct _GList *next, *prev; } GList;
extern GHashTable *g_hash_table_new(unsigned (*)(const void *), int (*)(const void *, const void *));
extern unsigned g_str_hash(const void *);
extern int g_str_equal(const void *, const void *);
extern int g_hash_table_insert(GHashTable *, void *, void *);
extern int g_hash_table_remove(GHashTable *, const void *);
extern int g_hash_table_contains(GHashTable *, const void *);
extern void g_hash_table_iter_init(GHashTableIter *, GHashTable *);
extern int g_hash_table_iter_next(GHashTableIter *, void **, void **);
extern GList *g_hash_table_get_keys(GHashTable *);
int main(void) {
	GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);
	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '+') { if (!g_hash_table_contains(t, line + 1)) { char *k = strdup(line + 1); g_hash_table_insert(t, k, k); } }
		else if (line[0] == '-') g_hash_table_remove(t, line + 1);
		else if (line[0] == '!') t = g_hash_table_new(g_str_hash, g_str_equal);
		else if (line[0] == '?') {
			GHashTableIter it; void *k;
			g_hash_table_iter_init(&it, t);
			while (g_hash_table_iter_next(&it, &k, NULL)) printf("%s ", (char *)k);
			printf("|");
			for (GList *l = g_hash_table_get_keys(t); l; l = l->next) printf(" %s", (char *)l->data);
			printf("\n");
			fflush(stdout);
		}
	}
	return 0;
}
`

func buildOracle(t *testing.T) string {
	t.Helper()
	lib := "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"
	if _, err := os.Stat(lib); err != nil {
		t.Skip("needs GLib (Debian package libglib2.0-0)")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc (Debian package gcc)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "oracle.c")
	bin := filepath.Join(dir, "oracle")
	if err := os.WriteFile(src, []byte(glibOracle), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O0", "-o", bin, src, lib).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func describe(tb *strTable) string {
	var b strings.Builder
	tb.each(func(k string) { b.WriteString(k + " ") })
	b.WriteString("|")
	for _, k := range tb.keysList() {
		b.WriteString(" " + k)
	}
	return b.String()
}

// TestStrTableMatchesGLib replays random insert/remove sequences of object
// paths on strTable and on GLib's own GHashTable (through glibOracle) and
// wants the same iteration and key order after every step: growth,
// shrinking, tombstones and eviction chains included.
func TestStrTableMatchesGLib(t *testing.T) {
	bin := buildOracle(t)
	rng := rand.New(rand.NewSource(17))
	var script strings.Builder
	var want []string
	for round := 0; round < 40; round++ {
		tb := newStrTable()
		var live []string
		script.WriteString("!\n") // a fresh table in the oracle too
		steps := 1 + rng.Intn(200)
		for i := 0; i < steps; i++ {
			// Grow for the first half (1 remove in 4), then shrink (3 in 4).
			remove := rng.Intn(4) == 0
			if i > steps/2 {
				remove = rng.Intn(4) != 0
			}
			if len(live) > 0 && remove {
				k := live[rng.Intn(len(live))]
				tb.remove(k)
				live = slices.DeleteFunc(live, func(s string) bool { return s == k })
				fmt.Fprintf(&script, "-%s\n", k)
			} else {
				k := fmt.Sprintf("/org/keepalived/Vrrp1/Instance/%s/%d/IPv%d",
					[]string{"eth0", "kg-a", "bond0.12", "vlan7"}[rng.Intn(4)], rng.Intn(256), 4+2*rng.Intn(2))
				if !slices.Contains(live, k) {
					live = append(live, k)
				}
				tb.insert(k)
				fmt.Fprintf(&script, "+%s\n", k)
			}
			script.WriteString("?\n")
			want = append(want, describe(tb))
		}
	}
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		if i < len(want) && sc.Text() != want[i] {
			t.Fatalf("step %d:\n glib %s\n ours %s", i, sc.Text(), want[i])
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("oracle printed %d states, want %d", i, len(want))
	}
	t.Logf("%d table states equal to GLib's", i)
}
