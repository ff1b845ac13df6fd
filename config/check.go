package config

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"keepalived-go/parser"
)

type ckInherit struct {
	ck                          *Checker
	retry                       *int
	dbr, warmup, delay, timeout *time.Duration
	alpha                       *bool
}

func (b *builder) checker(st *parser.Stmt) *Checker {
	kind, ok := checkerKinds[st.Name()]
	if !ok {
		kind = CheckerKind(strings.Clone(st.Name()))
	}
	ck := &Checker{Pos: toPos(st.Pos), Kind: kind}
	switch ck.Kind {
	case HTTPGet, SSLGet:
		// Read into scratch space: most checkers of a large file turn out
		// identical to one already read and share it (see shareHTTP).
		clear(b.httpScratch.URLs)
		b.httpScratch = HTTPOptions{Protocol: "1.0", URLs: b.httpScratch.URLs[:0]}
		ck.HTTP = &b.httpScratch
	case MiscCheck:
		ck.Misc = &MiscOptions{}
	case SMTPCheck:
		ck.SMTP = &SMTPOptions{}
	case DNSCheck:
		ck.DNS = &DNSOptions{Type: "SOA"}
	case UDPCheck:
		ck.UDP = &UDPOptions{}
	case FileCheck:
		ck.File = &FileOptions{Weight: 1}
	case BFDCheck:
		ck.BFD = &BFDOptions{}
	}
	in := ckInherit{ck: ck}
	for _, c := range st.Children() {
		switch c.Name() {
		case "connect_ip":
			if a, ok := b.addrArg(c, 0); ok {
				b.conn(ck).ConnectIP = a
			}
		case "connect_port":
			if p, ok := b.portArg(c, 0); ok {
				b.conn(ck).ConnectPort = p
			}
		case "bindto":
			if a, ok := b.addrArg(c, 0); ok {
				b.conn(ck).BindTo = a
			}
		case "bind_port":
			if p, ok := b.portArg(c, 0); ok {
				b.conn(ck).BindPort = p
			}
		case "bind_if":
			if v, ok := b.arg(c, 0); ok {
				b.conn(ck).BindIf = v
			}
		case "fwmark":
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				b.conn(ck).FWMark = uint32(n)
			}
		case "connect_timeout":
			if d, ok := b.timerArg(c, 0); ok {
				in.timeout = &d
			}
		case "retry", "nb_get_retry":
			if c.Name() == "nb_get_retry" {
				b.report(c, parser.SevGeneral, "nb_get_retry is deprecated - please use 'retry'")
			}
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				in.retry = &n
			}
		case "delay_before_retry":
			if d, ok := b.timerArg(c, 0); ok {
				in.dbr = &d
			}
		case "warmup":
			if d, ok := b.timerArg(c, 0); ok {
				in.warmup = &d
			}
		case "delay_loop":
			if d, ok := b.timerArg(c, 0); ok {
				in.delay = &d
			}
		case "alpha":
			in.alpha = boolp(b.boolOpt(c))
		case "log_all_failures":
			ck.LogAllFailures = b.boolOpt(c)
		case "url":
			ck.HTTP.URLs = append(ck.HTTP.URLs, b.url(c))
		case "virtualhost":
			if v, ok := b.arg(c, 0); ok {
				ck.HTTP.VirtualHost = b.intern(v)
			}
		case "http_protocol":
			v, _ := b.arg(c, 0)
			switch v {
			case "1.0", "1.1", "1.0C", "1.0c", "0.9":
				ck.HTTP.Protocol = strings.ToUpper(v)
			default:
				b.report(c, parser.SevGeneral, "Invalid http_protocol %s specified", v)
			}
		case "enable_sni":
			ck.HTTP.EnableSNI = b.boolOpt(c)
		case "fast_recovery":
			ck.HTTP.FastRecovery = b.boolOpt(c)
		case "misc_path":
			ck.Misc.Path = b.script(c)
		case "misc_timeout":
			b.setSeconds(c, 0, 1<<31-1, &ck.Misc.Timeout)
		case "misc_dynamic":
			ck.Misc.Dynamic = true
		case "user":
			if ck.Misc.Path != nil {
				ck.Misc.Path.User = firstArg(c)
				if len(c.Args) > 1 {
					ck.Misc.Path.Group = c.Args[1].Value()
				}
			}
		case "helo_name":
			if v, ok := b.arg(c, 0); ok {
				ck.SMTP.HeloName = v
			}
		case "type":
			if v, ok := b.arg(c, 0); ok {
				ck.DNS.Type = strings.ToUpper(v)
			}
		case "name":
			if v, ok := b.arg(c, 0); ok {
				if ck.Kind == BFDCheck {
					ck.BFD.Name = v
				} else {
					ck.DNS.Name = v
				}
			}
		case "payload":
			if v, ok := b.arg(c, 0); ok {
				p, err := hex.DecodeString(v)
				if err != nil {
					b.report(c, parser.SevGeneral, "Invalid hex payload %s", v)
					continue
				}
				ck.UDP.Payload = p
			}
		case "require_reply":
			ck.UDP.RequireReply = true
			if len(c.Args) > 0 {
				if p, err := hex.DecodeString(c.Args[0].Value()); err == nil {
					ck.UDP.ReplyPattern = p
				}
			}
		case "min_reply_length":
			b.setInt(c, 0, 65535, &ck.UDP.MinReplyLength)
		case "max_reply_length":
			b.setInt(c, 0, 65535, &ck.UDP.MaxReplyLength)
		case "track_file":
			if v, ok := b.arg(c, 0); ok {
				ck.File.TrackFile = v
			}
		case "weight":
			b.setInt(c, -254, 254, &ck.File.Weight)
			if len(c.Args) > 1 && c.Args[1].Value() == "reverse" {
				ck.File.WeightReverse = true
			}
		default:
			b.keepTree(c, string(ck.Kind), &ck.Other)
		}
	}
	switch ck.Kind {
	case MiscCheck:
		if ck.Misc.Path == nil {
			b.report(st, parser.SevGeneral, "No script path has been specified for MISC_CHECK - skipping")
			return nil
		}
	case FileCheck:
		if ck.File.TrackFile == "" {
			b.report(st, parser.SevGeneral, "FILE_CHECK has no track_file specified - skipping")
			return nil
		}
	case HTTPGet, SSLGet:
		if len(ck.HTTP.URLs) == 0 {
			b.report(st, parser.SevGeneral, "%s has no url specified - skipping", ck.Kind)
			return nil
		}
		ck.HTTP = b.shareHTTP(ck.HTTP)
	}
	b.ckPending = append(b.ckPending, in)
	return ck
}

var checkerKinds = map[string]CheckerKind{}

func init() {
	for _, k := range []CheckerKind{HTTPGet, SSLGet, TCPCheck, MiscCheck, SMTPCheck, DNSCheck, UDPCheck, PingCheck, FileCheck, BFDCheck} {
		checkerKinds[string(k)] = k
	}
}

// shareHTTP returns a read-only copy of h, the same one for every checker
// whose HTTP settings are equal: 40,000 real servers checking the same url
// then hold one HTTPOptions instead of 40,000. Urls carrying kept (unknown)
// keywords have positions of their own and are not shared.
func (b *builder) shareHTTP(h *HTTPOptions) *HTTPOptions {
	own := func() *HTTPOptions {
		o := *h
		o.URLs = append([]URL(nil), h.URLs...)
		return &o
	}
	key := b.keyBuf[:0]
	str := func(s string) {
		key = binary.AppendUvarint(key, uint64(len(s)))
		key = append(key, s...)
	}
	flag := func(v bool) {
		if v {
			key = append(key, 1)
		} else {
			key = append(key, 0)
		}
	}
	str(h.VirtualHost)
	str(h.Protocol)
	flag(h.EnableSNI)
	flag(h.FastRecovery)
	for _, u := range h.URLs {
		if u.Other != nil {
			return own()
		}
		str(u.Path)
		str(u.Digest)
		str(u.VirtualHost)
		u.URLRegex.appendKey(str, flag)
		key = binary.AppendUvarint(key, uint64(len(u.StatusCodes)))
		for _, r := range u.StatusCodes {
			key = binary.AppendUvarint(key, uint64(r.Min))
			key = binary.AppendUvarint(key, uint64(r.Max))
		}
	}
	b.keyBuf = key
	if o, ok := b.sharedHTTP[string(key)]; ok {
		return o
	}
	if b.sharedHTTP == nil {
		b.sharedHTTP = map[string]*HTTPOptions{}
	}
	o := own()
	b.sharedHTTP[string(key)] = o
	return o
}

func (b *builder) url(st *parser.Stmt) URL {
	var u URL
	for _, c := range st.Children() {
		switch c.Name() {
		case "path":
			v, _ := b.arg(c, 0)
			u.Path = b.intern(v)
		case "digest":
			v, _ := b.arg(c, 0)
			if _, err := hex.DecodeString(v); err != nil || len(v) != 32 {
				b.report(c, parser.SevGeneral, "digest '%s' is not a valid MD5 hex string", v)
				continue
			}
			u.Digest = b.intern(strings.ToLower(v))
		case "status_code":
			u.StatusCodes = append(u.StatusCodes, b.statusCodes(c)...)
		case "virtualhost":
			v, _ := b.arg(c, 0)
			u.VirtualHost = b.intern(v)
		case "regex", "regex_no_match", "regex_options", "regex_min_offset", "regex_max_offset", "regex_stack":
			b.urlRegexKeyword(c, &u.URLRegex)
		default:
			b.keepTree(c, "url", &u.Other)
		}
	}
	if u.Path == "" {
		b.report(st, parser.SevGeneral, "Url has no path - defaulting to /")
		u.Path = "/"
	}
	if len(u.StatusCodes) == 0 {
		u.StatusCodes = defaultStatusCodes
	}
	b.urlRegexEnd(st, &u.URLRegex)
	return u
}

// defaultStatusCodes is shared by every url without status_code; the
// model is read-only once built.
var defaultStatusCodes = []StatusRange{{200, 299}}

// statusCodes reads `status_code 200 301-303 ...`.
func (b *builder) statusCodes(st *parser.Stmt) []StatusRange {
	var out []StatusRange
	for _, v := range st.Values() {
		lo, hi, isRange := strings.Cut(v, "-")
		min, err1 := strconv.Atoi(lo)
		max := min
		var err2 error
		if isRange {
			max, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || min < 100 || max > 599 || max < min {
			b.report(st, parser.SevGeneral, "Invalid HTTP_GET status code range %s - ignoring", v)
			continue
		}
		out = append(out, StatusRange{min, max})
	}
	return out
}

func (b *builder) conn(ck *Checker) *Connection {
	if ck.Conn == nil {
		ck.Conn = &Connection{}
	}
	return ck.Conn
}
