package parser

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
