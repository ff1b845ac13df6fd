package parser

import (
	"strings"
	"testing"
)

func dump(stmts []*Stmt, ind string, b *strings.Builder) {
	for _, s := range stmts {
		b.WriteString(ind + s.Text())
		if s.Block != nil {
			b.WriteString(" {\n")
			dump(s.Block.Stmts, ind+"  ", b)
			b.WriteString(ind + "}")
		}
		b.WriteString("\n")
	}
}

func TestSeedFlatEqualsLaidOut(t *testing.T) {
	for _, pair := range [][2]string{{"../testdata/seed/master.conf", "../testdata/seed/master.flat.conf"}, {"../testdata/seed/backup.conf", "../testdata/seed/backup.flat.conf"}} {
		a, da := Parse(pair[0], Options{})
		b, db := Parse(pair[1], Options{})
		var sa, sb strings.Builder
		dump(a.Stmts, "", &sa)
		dump(b.Stmts, "", &sb)
		if sa.String() != sb.String() {
			t.Errorf("%s and %s differ:\n%s\n---\n%s", pair[0], pair[1], sa.String(), sb.String())
		}
		if len(da.List) != 0 {
			t.Errorf("%s: unexpected diagnostics: %s", pair[0], da)
		}
		if len(db.List) != 1 || db.ExitCode() != 5 {
			t.Errorf("%s: want one layout diagnostic, got %s", pair[1], db)
		}
		t.Log(db.String())
	}
}
