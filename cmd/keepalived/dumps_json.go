package main

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	vrrpengine "keepalived-go/vrrp/engine"
)

// jobj writes one JSON object as keepalived's json_writer does: compact,
// '/' escaped, and its backslash quirk kept (a backslash comes out as
// "\n").
type jobj struct {
	b *bytes.Buffer
	n int
}

func (o *jobj) key(k string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	jputs(o.b, k)
	o.b.WriteByte(':')
}

func (o *jobj) raw(k, v string) { o.key(k); o.b.WriteString(v) }

func (o *jobj) uint(k string, v uint64) {
	o.raw(k, strconv.FormatUint(v, 10))
}

func (o *jobj) flag(k string, v bool) { o.uint(k, map[bool]uint64{true: 1}[v]) }

func (o *jobj) boolean(k string, v bool) {
	o.raw(k, map[bool]string{true: "true", false: "false"}[v])
}

func (o *jobj) str(k, v string) { o.key(k); jputs(o.b, v) }

func (o *jobj) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	o.b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			o.b.WriteByte(',')
		}
		jputs(o.b, v)
	}
	o.b.WriteByte(']')
}

func jputs(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '\b':
			b.WriteString(`\b`)
		case '\\':
			b.WriteString(`\n`)
		case '"':
			b.WriteString(`\"`)
		case '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
}

// cG is C's printf %g.
func cG(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	s := strconv.FormatFloat(v, 'g', 6, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		exp := s[i+2:]
		if len(exp) < 2 {
			exp = "0" + exp
		}
		s = s[:i+2] + exp
	}
	return s
}

// jsonDump is vrrp_print_json: one object per instance with its "data"
// and "stats", the file mehdy/keepalived-exporter reads.
func jsonDump(env dumpEnv, snap vrrpengine.Status) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range snap.Instances {
		is := &snap.Instances[i]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		top := jobj{b: &b}
		top.key("data")
		b.WriteByte('{')
		jsonData(&b, env, is)
		b.WriteByte('}')
		top.key("stats")
		b.WriteByte('{')
		jsonStats(&b, is.Counters)
		b.WriteByte('}')
		b.WriteByte('}')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// jsonStats is an instance's "stats" object.
func jsonStats(b *bytes.Buffer, s vrrpengine.Counters) {
	st := jobj{b: b}
	st.uint("advert_rcvd", s.AdvertRcvd)
	st.uint("advert_sent", uint64(uint32(s.AdvertSent)))
	st.uint("become_master", uint64(uint32(s.BecomeMaster)))
	st.uint("release_master", uint64(uint32(s.ReleaseMaster)))
	st.uint("packet_len_err", s.PacketLenErr)
	st.uint("advert_interval_err", s.AdvertIntervalErr)
	st.uint("ip_ttl_err", s.IPTTLErr)
	st.uint("invalid_type_rcvd", s.InvalidTypeRcvd)
	st.uint("addr_list_err", s.AddrListErr)
	st.uint("invalid_authtype", uint64(uint32(s.InvalidAuthType)))
	st.uint("authtype_mismatch", uint64(uint32(s.AuthTypeMismatch)))
	st.uint("auth_failure", uint64(uint32(s.AuthFailure)))
	st.uint("pri_zero_rcvd", s.PriZeroRcvd)
	st.uint("pri_zero_sent", s.PriZeroSent)
}
