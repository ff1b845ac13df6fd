package parser

import "sync"

// kwDef describes one keyword keepalived accepts at some level.
type kwDef struct {
	name string
	// minArgs is how many arguments the keyword needs; layout recovery only
	// starts a new statement after them.
	minArgs int
	// valueBlock marks keywords whose { } block holds values (addresses,
	// names), not keywords: keepalived hands those lines to the handler.
	valueBlock bool
	sub        []kwDef
	index      map[string]*kwDef
}

// Keyword is a read-only view of a keyword definition for the model builder.
type Keyword struct{ def *kwDef }

// extensions are keywords of ours. keepalived ignores them with an "Unknown
// keyword" warning, so a file using them stays readable by both.
var extensions = map[string][]kwDef{
	"global_defs": {
		{name: "lvs_backend", minArgs: 1},     // ipvs | nftables | auto
		{name: "metrics_listen", minArgs: 1},  // host:port of the Prometheus endpoint
		{name: "strict_keywords", minArgs: 0}, // unknown keywords are errors
	},
}

var (
	schemaOnce sync.Once
	schemaRoot *kwDef
)

func rootSchema() *kwDef {
	schemaOnce.Do(func() {
		schemaRoot = &kwDef{name: "", sub: keepalivedKeywords}
		for parent, kws := range extensions {
			for i := range schemaRoot.sub {
				if schemaRoot.sub[i].name == parent {
					schemaRoot.sub[i].sub = append(schemaRoot.sub[i].sub, kws...)
				}
			}
		}
		index(schemaRoot)
	})
	return schemaRoot
}

func index(d *kwDef) {
	d.index = make(map[string]*kwDef, len(d.sub))
	for i := range d.sub {
		c := &d.sub[i]
		if _, dup := d.index[c.name]; !dup {
			d.index[c.name] = c
		}
		index(c)
	}
}

func (d *kwDef) child(name string) *kwDef {
	if d == nil {
		return nil
	}
	return d.index[name]
}

// Known reports whether keepalived knows keyword name inside the block whose
// keyword path is given (empty path: top level).
func Known(path []string, name string) bool {
	d := rootSchema()
	for _, p := range path {
		if d = d.child(p); d == nil {
			return false
		}
	}
	return d.child(name) != nil
}

// isExtension reports whether name is one of our keywords at that level.
func isExtension(parent, name string) bool {
	for _, k := range extensions[parent] {
		if k.name == name {
			return true
		}
	}
	return false
}
