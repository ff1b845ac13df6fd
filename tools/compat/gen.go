package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The generator (-gen) writes testdata/compat/generated/: for every keyword
// of keepalived 2.2.7's keyword tree (parser/keywords_gen.go, made by
// tools/keywords from keepalived's install_keyword tables) a minimal config
// using it with a valid value and with edge values, and one config per
// validation rule of keepalived's source (rules.go). The files are
// committed; regenerate after the tree changes.

// genKeyword is one keyword of the tree.
type genKeyword struct {
	name       string
	minArgs    int
	valueBlock bool
	sub        []*genKeyword
}

// readKeywordTree reads the kwDef literal of parser/keywords_gen.go with
// go/parser (the variable is unexported; reading the source keeps the
// generator out of the parser package).
func readKeywordTree(path string) ([]*genKeyword, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var tree []*genKeyword
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "keepalivedKeywords" || len(vs.Values) != 1 {
			return true
		}
		if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
			tree = kwList(cl)
		}
		return false
	})
	if tree == nil {
		return nil, fmt.Errorf("%s: no keepalivedKeywords", path)
	}
	return tree, nil
}

func kwList(cl *ast.CompositeLit) []*genKeyword {
	var out []*genKeyword
	for _, e := range cl.Elts {
		item, ok := e.(*ast.CompositeLit)
		if !ok {
			continue
		}
		k := &genKeyword{}
		for _, f := range item.Elts {
			kv, ok := f.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch kv.Key.(*ast.Ident).Name {
			case "name":
				k.name, _ = strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
			case "minArgs":
				k.minArgs, _ = strconv.Atoi(kv.Value.(*ast.BasicLit).Value)
			case "valueBlock":
				k.valueBlock = kv.Value.(*ast.Ident).Name == "true"
			case "sub":
				k.sub = kwList(kv.Value.(*ast.CompositeLit))
			}
		}
		out = append(out, k)
	}
	return out
}

// docValues maps "parent/name" and "name" to the value and block body the
// man page documents (from the same extraction as the man5 corpus).
type docValue struct {
	line string
	body []string
}

func docValues() map[string]docValue {
	out := map[string]docValue{}
	man, err := readGzip(manPage)
	if err != nil {
		return out
	}
	for _, blk := range manBlocks(string(man)) {
		if isPreprocessorExample(blk) {
			continue
		}
		for _, kw := range syntaxKeywords(blk) {
			v := docValue{line: strings.TrimSpace(kw.line), body: kw.body}
			if len(kw.path) > 0 {
				k := kw.path[len(kw.path)-1] + "/" + kw.name
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
			if _, ok := out[kw.name]; !ok {
				out[kw.name] = v
			}
		}
	}
	return out
}

// Headers of the blocks the tree nests keywords in.
var genHeaders = map[string]string{
	"global_defs": "global_defs {", "track_group": "track_group TG1 {", "vrrp_sync_group": "vrrp_sync_group SG_1 {",
	"garp_group": "garp_group {", "vrrp_instance": "vrrp_instance VI_1 {", "authentication": "authentication {",
	"vrrp_script": "vrrp_script chk {", "vrrp_track_process": "vrrp_track_process tp {", "SSL": "SSL {",
	"virtual_server": "virtual_server 198.51.100.10 80 {", "real_server": "real_server 198.51.100.20 80 {",
	"bfd_instance": "bfd_instance bfd1 {", "track_file": "track_file tf {", "vrrp_track_file": "vrrp_track_file tf {",
	"url": "url {", "host": "host {",
}

// Values for keywords the man page shows no usable value for, by name
// pattern, first match wins.
var genFallback = []struct {
	re    *regexp.Regexp
	value string
}{
	{regexp.MustCompile(`email_from$`), "keepalived@example.com"},
	{regexp.MustCompile(`(script|notify|notify_\w+|misc_path|quorum_up|quorum_down)$`), `"/bin/true"`},
	{regexp.MustCompile(`(^file|_file|_dir|directory)$`), "/tmp/keepalived-compat-gen"},
	{regexp.MustCompile(`(ip|address|src|neighbor_ip|source_ip|bindto|connect_ip|smtp_server|mcast_src_ip|unicast_src_ip)$`), "198.51.100.1"},
	{regexp.MustCompile(`(interface|_if|bind_if)$`), "eth0"},
	{regexp.MustCompile(`port$`), "80"},
	{regexp.MustCompile(`(name|_id|router_id|path|helo_name|virtualhost|user|group|engine|process)$`), "test"},
	{regexp.MustCompile(`.`), "1"},
}

var numericRe = regexp.MustCompile(`^-?\d+(?:\.\d+)?$`)

// genValue is the valid value (and block body) of a keyword.
func genValue(docs map[string]docValue, parent string, k *genKeyword) (string, []string) {
	for _, key := range []string{parent + "/" + k.name, k.name} {
		if d, ok := docs[key]; ok {
			f := strings.Fields(d.line)
			if len(f) > 0 && f[0] == k.name {
				v := strings.TrimSpace(strings.TrimSuffix(strings.Join(f[1:], " "), "{"))
				if k.minArgs == 0 || v != "" {
					return v, d.body
				}
			}
		}
	}
	if k.minArgs == 0 {
		return "", nil
	}
	for _, fb := range genFallback {
		if fb.re.MatchString(k.name) {
			return fb.value, nil
		}
	}
	return "1", nil
}

// genVariant is one generated file.
type genVariant struct {
	name, text string
}

// genKeywordConfigs makes the configs of one keyword: valid, and when it
// takes a value, missing value, extra argument, bad type and out of range
// values for numbers.
func genKeywordConfigs(docs map[string]docValue, path []string, k *genKeyword) []genVariant {
	parent := ""
	if len(path) > 0 {
		parent = path[len(path)-1]
	}
	value, body := genValue(docs, parent, k)
	isBlock := len(k.sub) > 0 || k.valueBlock || body != nil
	mk := func(variant, line string, withBody bool) genVariant {
		dk := docKeyword{path: path, name: k.name, line: line}
		for _, p := range path {
			h := genHeaders[p]
			if h == "" {
				h = p + " {"
			}
			dk.headers = append(dk.headers, h)
		}
		if withBody {
			dk.body = body
			if dk.body == nil {
				dk.body = []string{}
			}
		}
		text := wrapKeyword(dk)
		hdr := "# generated by tools/compat -gen (" + variant + "): keyword"
		if variant != "valid" {
			hdr = "# compat-nodump: edge value\n" + hdr
		}
		text = strings.Replace(text, "# extracted at run time from keepalived.conf(5): keyword", hdr, 1)
		return genVariant{name: strings.Join(append(append([]string{}, path...), k.name), ".") + "." + variant, text: text}
	}
	line := strings.TrimSpace(k.name + " " + value)
	if isBlock && !strings.HasSuffix(line, "{") {
		line += " {"
	}
	out := []genVariant{mk("valid", line, isBlock)}
	if isBlock {
		return out
	}
	out = append(out, mk("extra", line+" extra_arg", false))
	if k.minArgs > 0 {
		out = append(out, mk("missing", k.name, false))
	}
	first := strings.Fields(value + " x")[0]
	if numericRe.MatchString(first) {
		rest := strings.TrimPrefix(value, first)
		out = append(out, mk("badtype", k.name+" notanumber"+rest, false))
		out = append(out, mk("range-high", k.name+" 4294967296"+rest, false))
		if !strings.HasPrefix(first, "-") {
			out = append(out, mk("range-negative", k.name+" -1"+rest, false))
		}
	}
	return out
}

// walkTree visits every keyword with its ancestors.
func walkTree(tree []*genKeyword, path []string, fn func([]string, *genKeyword)) {
	for _, k := range tree {
		fn(path, k)
		if len(k.sub) > 0 {
			walkTree(k.sub, append(append([]string{}, path...), k.name), fn)
		}
	}
}

// generate writes testdata/compat/generated/{keywords,rules}/.
func generate(root string) (int, error) {
	tree, err := readKeywordTree(filepath.Join(root, "parser", "keywords_gen.go"))
	if err != nil {
		return 0, err
	}
	docs := docValues()
	base := filepath.Join(root, "testdata", "compat", "generated")
	// The configs are rewritten; records stay unless their config is gone.
	for _, sub := range []string{"keywords", "rules"} {
		if err := os.MkdirAll(filepath.Join(base, sub), 0o755); err != nil {
			return 0, err
		}
		old, _ := filepath.Glob(filepath.Join(base, sub, "*.conf"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return 0, err
			}
		}
	}
	defer pruneRecords(base)
	n := 0
	seen := map[string]bool{}
	var werr error
	walkTree(tree, nil, func(path []string, k *genKeyword) {
		for _, v := range genKeywordConfigs(docs, path, k) {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(v.name)
			if seen[name] {
				continue
			}
			seen[name] = true
			if err := os.WriteFile(filepath.Join(base, "keywords", name+".conf"), []byte(v.text), 0o644); err != nil {
				werr = err
			}
			n++
		}
	})
	if werr != nil {
		return n, werr
	}
	names := make([]string, 0, len(validationRules))
	for name := range validationRules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		text := validationRules[name]
		if err := os.WriteFile(filepath.Join(base, "rules", name+".conf"), []byte(text), 0o644); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// pruneRecords removes the records of configs the generator no longer
// writes.
func pruneRecords(base string) {
	recs, _ := filepath.Glob(filepath.Join(base, "*", "*.keepalived"))
	for _, r := range recs {
		if _, err := os.Stat(strings.TrimSuffix(r, ".keepalived") + ".conf"); os.IsNotExist(err) {
			os.Remove(r)
		}
	}
}
