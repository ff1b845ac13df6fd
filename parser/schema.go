package parser

import (
	"strings"
	"sync"
)

// kwDef describes one keyword keepalived 2.2.7 installs (generated into
// keywords_gen.go from keepalived's own install_keyword calls by
// tools/keywords). It is the reference the keyword tables are checked
// against: every keyword keepalived has must have a handler here.
type kwDef struct {
	name       string
	minArgs    int
	valueBlock bool
	sub        []kwDef
}

// RefKeyword is a keyword of keepalived 2.2.7's tree, with its path.
type RefKeyword struct {
	Path []string // the enclosing blocks' keywords, outermost first
	Name string
}

// KeepalivedKeywords lists every keyword of keepalived 2.2.7's tree (Debian's
// build options), depth first.
func KeepalivedKeywords() []RefKeyword {
	var out []RefKeyword
	var walk func(path []string, defs []kwDef)
	walk = func(path []string, defs []kwDef) {
		for _, d := range defs {
			out = append(out, RefKeyword{Path: append([]string(nil), path...), Name: d.name})
			walk(append(path, d.name), d.sub)
		}
	}
	walk(nil, keepalivedKeywords)
	return out
}

var (
	refIndex     map[string]*kwDef // "path name" -> definition
	refIndexOnce sync.Once
)

func refLookup(path []string, name string) *kwDef {
	refIndexOnce.Do(func() {
		refIndex = map[string]*kwDef{}
		var walk func(prefix string, defs []kwDef)
		walk = func(prefix string, defs []kwDef) {
			for i := range defs {
				d := &defs[i]
				k := prefix + d.name
				if _, dup := refIndex[k]; !dup {
					refIndex[k] = d
				}
				walk(k+" ", d.sub)
			}
		}
		walk("", keepalivedKeywords)
	})
	return refIndex[strings.Join(append(path[:len(path):len(path)], name), " ")]
}

// anyKeyword finds name at any level of keepalived's tree (for a comment
// whose block is not known where it is read).
func anyKeyword(name string) *kwDef {
	var found *kwDef
	var walk func(defs []kwDef)
	walk = func(defs []kwDef) {
		for i := range defs {
			if found != nil {
				return
			}
			if defs[i].name == name {
				found = &defs[i]
				return
			}
			walk(defs[i].sub)
		}
	}
	walk(keepalivedKeywords)
	return found
}
