package parser

import (
	"math/rand"
	"strconv"
	"strings"

	"keepalived-go/internal/cnum"
)

// Definitions ($NAME=value), their substitution, and ~SEQ / ~LST: ports of
// keepalived 2.2.7's find_definition, replace_param, check_definition,
// set_definition, add_seq, add_lst and the standard definitions.

// maxReplacements bounds substitutions on one line: keepalived loops forever
// on a definition that refers to itself without growing; we stop.
const maxReplacements = 4096

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func defaultRandom(lo, hi int64) int64 {
	if hi < lo {
		return lo
	}
	return lo + rand.Int63n(hi-lo+1)
}

func (r *Reader) setStdDefinitions() {
	r.defs = append(r.defs,
		&definition{name: "_PWD", fn: func(*definition) string { return r.cwd }},
		&definition{name: "_INSTANCE", fn: func(*definition) string { return r.opts.ConfigID }},
		&definition{name: "_RANDOM", maxParams: 2, fn: r.random},
		&definition{name: "_HASH", value: "#"},
		&definition{name: "_BANG", value: "!"},
	)
}

// random is keepalived's get_random: ${_RANDOM [min [max]]}.
func (r *Reader) random(d *definition) string {
	lo, hi := int64(0), int64(32767)
	if d.params != "" {
		f := strings.Fields(d.params)
		if len(f) >= 1 {
			v, _ := strconv.ParseUint(f[0], 10, 63)
			lo = int64(v)
		}
		if len(f) >= 2 {
			v, _ := strconv.ParseUint(f[1], 10, 63)
			hi = int64(v)
		}
	}
	return strconv.FormatInt(r.rand(lo, hi), 10)
}

// findDef is keepalived's find_definition. s starts at the name (after '$');
// n is the name's length when known. It returns the definition and, for
// "${NAME params}", the offsets in s of the first and last parameter byte.
func (r *Reader) findDef(s string, n int, definition bool) (d *definition, ps, pe int) {
	ps, pe = -1, -1
	braces := false
	name := s
	if !definition && at(name, 0) == '{' {
		braces = true
		name = name[1:]
	}
	if c := at(name, 0); !isAlpha(c) && c != '_' {
		return nil, -1, -1
	}
	if n == 0 {
		p := 1
		for p < len(name) && (isAlnum(name[p]) || name[p] == '_') {
			p++
		}
		n = p
		if braces {
			if !definition {
				for p < len(name) && (name[p] == ' ' || isDigit(name[p])) {
					if name[p] != ' ' {
						if ps < 0 {
							ps = p
						}
						pe = p
					}
					p++
				}
				if ps >= 0 && pe+1 != p {
					return nil, -1, -1
				}
			}
			if at(name, p) != '}' {
				return nil, -1, -1
			}
		} else if !definition {
			if c := at(name, p); c != ' ' && c != '\t' && c != ',' && c != ')' && c != 0 {
				return nil, -1, -1
			}
		}
	}
	allowML := definition || (!braces && n == len(name)) || (braces && n+1 == len(name))
	for _, d := range r.defs {
		if len(d.name) == n && (allowML || !d.multiline) && d.name == name[:n] {
			if ps >= 0 && d.maxParams == 0 {
				return nil, -1, -1
			}
			if ps >= 0 {
				d.params = name[ps : pe+1]
				if braces {
					ps, pe = ps+1, pe+1
				}
			} else {
				d.params = ""
			}
			return d, ps, pe
		}
	}
	return nil, -1, -1
}

// replaceParam is keepalived's replace_param: every $NAME / ${NAME} with a
// definition is replaced in place (the replacement is scanned again). A
// multi-line definition replaces the reference with its first line and leaves
// the rest in *ml for the following reads. changed reports whether anything
// was replaced and the line is within maxLen.
func (r *Reader) replaceParam(buf string, maxLen int, ml **string) (string, bool) {
	cur := 0
	found := false
	var next *string
	mlPtr := *ml
	for steps := 0; ; steps++ {
		i := strings.IndexByte(buf[cur:], '$')
		if i < 0 {
			break
		}
		cur += i
		if cur+1 >= len(buf) {
			break
		}
		d, _, pe := r.findDef(buf[cur+1:], 0, false)
		if d == nil {
			cur++
			continue
		}
		if steps >= maxReplacements {
			return buf, false
		}
		found = true
		extra := 0
		if buf[cur+1] == '{' {
			extra = 2
		}
		next = mlPtr
		if d.multiline && mlPtr != nil {
			r.mlStack = append(r.mlStack, mlEntry{ptr: mlPtr, depth: r.mlDepth})
		}
		if d.multiline {
			r.mlDepth = len(r.seqs)
		}
		if d.fn != nil {
			d.value = d.fn(d)
		}
		replaced := len(d.name)
		var repl string
		if d.multiline {
			k := strings.IndexByte(d.value, '\n')
			rest := ""
			if k < 0 {
				k = len(d.value)
			} else {
				rest = d.value[k+1:]
			}
			repl = d.value[:k]
			next = &rest
			mlPtr = next
		} else {
			if d.params != "" {
				replaced = pe
				if extra == 0 {
					replaced++
				}
			}
			repl = d.value
		}
		total := replaced + 1 + extra
		if len(buf)+len(repl)-total >= maxLen {
			// keepalived logs "Parameter substitution on line '%s' would
			// exceed maximum line length" and keeps the line as it is.
			return buf, false
		}
		buf = buf[:cur] + repl + buf[cur+total:]
		if v := strings.TrimLeft(d.value, " \t"); v != "" && v[0] == '~' {
			break
		}
	}
	if found {
		*ml = next
	}
	return buf, found
}

// checkDefinition is keepalived's check_definition: "$NAME=value".
func (r *Reader) checkDefinition(buf string) *definition {
	if len(buf) < 2 || buf[0] != '$' || (!isAlpha(buf[1]) && buf[1] != '_') {
		return nil
	}
	p := 2
	for ; p < len(buf); p++ {
		if buf[p] == '=' {
			break
		}
		if !isAlnum(buf[p]) && buf[p] != '_' {
			return nil
		}
	}
	if p >= len(buf) {
		return nil
	}
	name := buf[1:p]
	d, _, _ := r.findDef(name, len(name), true)
	if d != nil {
		d.fn = nil
	} else {
		d = &definition{name: name}
		r.defs = append(r.defs, d)
	}
	v := strings.TrimLeft(buf[p+1:], " \t")
	if n := len(v); n > 0 && v[n-1] == '\\' {
		for n >= 2 && isBlank(v[n-2]) {
			n--
		}
		if n < 2 {
			d.value = ""
		} else {
			d.value = v[:n-1] + "\n"
		}
		d.multiline = true
	} else {
		d.value = v
		d.multiline = false
	}
	return d
}

// setDefinition is keepalived's set_definition (the variable of ~SEQ/~LST).
func (r *Reader) setDefinition(name, value string) {
	d, _, _ := r.findDef(name, len(name), false)
	if d != nil {
		d.fn = nil
	} else {
		d = &definition{name: name}
		r.defs = append(r.defs, d)
	}
	d.value = value
}

// strtol is C's strtol(s, &end, base): the value and the offset where
// conversion stopped (0 when nothing was converted).
func strtol(s string, base int) (int64, int) {
	v, rest, _ := cnum.Strtol(s, base)
	if len(rest) == len(s) {
		return 0, 0
	}
	return v, len(s) - len(rest)
}

func spanBlank(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

// addSeq is keepalived's add_seq: "~SEQ(var, [start,] [step,] end) text".
func (r *Reader) addSeq(buf string) bool {
	p := 4
	hex := false
	if at(buf, p) == 'x' {
		p++
		hex = true
	}
	p = spanBlank(buf, p)
	if at(buf, p) != '(' {
		return false
	}
	p = spanBlank(buf, p+1)
	v := p
	for p < len(buf) && strings.IndexByte(" \t,)", buf[p]) < 0 {
		p++
	}
	variable := buf[v:p]
	p = spanBlank(buf, p)
	if p >= len(buf) || buf[p] == ')' || p == v {
		r.report(SevGeneral, "Invalid ~SEQ definition '%s'", buf)
		return false
	}
	p = spanBlank(buf, p+1)
	e := strings.IndexByte(buf[p:], ')')
	if e < 0 {
		r.report(SevGeneral, "Invalid ~SEQ definition '%s'", buf)
		return false
	}
	e += p
	if e+1-p+1 > 3*20+3+1 {
		r.report(SevGeneral, "~SEQ parameter strings too long '%s'", buf)
		return false
	}
	var ml *string
	params, _ := r.replaceParam(buf[p:e+1], 3*20+3+1, &ml)
	if ml != nil {
		r.report(SevGeneral, "~SEQ parameter is multiline definition '%s'", buf)
		return false
	}
	var start, step, end int64
	q := 0
	one, n := strtol(params[q:], 0)
	q = spanBlank(params, q+n)
	switch {
	case at(params, q) == ')':
		end = one
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
	case at(params, q) != ',':
		r.report(SevGeneral, "Invalid ~SEQ definition '%s'", buf)
		return false
	default:
		two, n := strtol(params[q+1:], 0)
		q = spanBlank(params, q+1+n)
		switch {
		case at(params, q) == ')':
			start, end = one, two
			step = 1
			if start > end {
				step = -1
			}
		case at(params, q) != ',':
			r.report(SevGeneral, "Invalid ~SEQ definition '%s'", buf)
			return false
		default:
			three, n := strtol(params[q+1:], 0)
			q = spanBlank(params, q+1+n)
			if at(params, q) != ')' {
				r.report(SevGeneral, "Invalid ~SEQ definition '%s'", buf)
				return false
			}
			start, step, end = one, two, three
			if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
				r.report(SevGeneral, "Invalid ~SEQ values '%s'", buf)
				return false
			}
		}
	}
	if hex && (start < 0 || end < 0) {
		r.report(SevGeneral, "~SEQx is only valid for positive numbers '%s'", buf)
		return false
	}
	text := buf[spanBlank(buf, e+1):]
	r.seqs = append(r.seqs, &seqEntry{variable: variable, next: start, step: step, last: end, hex: hex, text: text})
	return true
}

// addLst is keepalived's add_lst: "~LST(var, v1, v2, ...) text" or
// "~LST({a, b}, {1, 2}, {3, 4}) text".
func (r *Reader) addLst(buf string) bool {
	p := spanBlank(buf, 4)
	if at(buf, p) != '(' {
		return false
	}
	p = spanBlank(buf, p+1)
	end := byte(',')
	if at(buf, p) == '{' {
		end = '}'
		p = spanBlank(buf, p+1)
	}
	var params []string
	numVars := 0
	for {
		v := p
		for p < len(buf) && strings.IndexByte(" \t,}", buf[p]) < 0 {
			p++
		}
		params = append(params, buf[v:p])
		p = spanBlank(buf, p)
		if at(buf, p) == end {
			break
		}
		if at(buf, p) != ',' {
			return false
		}
		p = spanBlank(buf, p+1)
		numVars++
	}
	if at(buf, p) == '}' {
		p = spanBlank(buf, p+1)
	}
	if at(buf, p) != ',' {
		return false
	}
	p = spanBlank(buf, p+1)
	var sets [][]string
	for {
		end := byte(',')
		if at(buf, p) == '{' {
			end = '}'
			p = spanBlank(buf, p+1)
		}
		var vals []string
		numValues := 0
		for {
			v := p
			for p < len(buf) && strings.IndexByte(" \t,})", buf[p]) < 0 {
				p++
			}
			vals = append(vals, buf[v:p])
			p = spanBlank(buf, p)
			if c := at(buf, p); c == end || (c == ')' && end == ',') {
				break
			}
			if at(buf, p) != ',' {
				return false
			}
			p = spanBlank(buf, p+1)
			numValues++
			if numValues > numVars {
				r.report(SevGeneral, "~LST specification has too many values '%s'", buf)
				return false
			}
		}
		for ; numValues < numVars; numValues++ {
			vals = append(vals, "")
		}
		sets = append(sets, vals)
		if at(buf, p) == '}' && end == '}' {
			p = spanBlank(buf, p+1)
		}
		if at(buf, p) == ')' {
			break
		}
		if at(buf, p) != ',' {
			return false
		}
		p = spanBlank(buf, p+1)
	}
	if len(params) == 0 || len(sets) == 0 {
		return false
	}
	text := ""
	if p < len(buf) {
		text = buf[spanBlank(buf, p+1):]
	}
	r.seqs = append(r.seqs, &seqEntry{lstParams: params, lstValues: sets, text: text})
	return true
}

// nextSeqLine produces the next line of the innermost ~SEQ / ~LST.
func (r *Reader) nextSeqLine() string {
	seq := r.seqs[len(r.seqs)-1]
	if seq.lstParams == nil {
		var v string
		if seq.hex {
			v = strconv.FormatUint(uint64(seq.next), 16)
		} else {
			v = strconv.FormatInt(seq.next, 10)
		}
		r.setDefinition(seq.variable, v)
		seq.next += seq.step
		if (seq.step > 0 && seq.next > seq.last) || (seq.step < 0 && seq.next < seq.last) {
			r.seqs = r.seqs[:len(r.seqs)-1]
		}
		return seq.text
	}
	set := seq.lstValues[seq.lstNext]
	for i, name := range seq.lstParams {
		if i < len(set) {
			r.setDefinition(name, set[i])
		}
	}
	seq.lstNext++
	if seq.lstNext >= len(seq.lstValues) {
		r.seqs = r.seqs[:len(r.seqs)-1]
	}
	return seq.text
}
