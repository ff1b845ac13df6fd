package config

import (
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
	ck := &Checker{Pos: toPos(st.Pos), Kind: CheckerKind(st.Name())}
	switch ck.Kind {
	case HTTPGet, SSLGet:
		ck.HTTPProtocol = "1.0"
	case DNSCheck:
		ck.DNSType = "SOA"
	case FileCheck:
		ck.Weight = 1
	}
	in := ckInherit{ck: ck}
	for _, c := range st.Children() {
		switch c.Name() {
		case "connect_ip":
			if a, ok := b.addrArg(c, 0); ok {
				ck.ConnectIP = a
			}
		case "connect_port":
			if p, ok := b.portArg(c, 0); ok {
				ck.ConnectPort = p
			}
		case "bindto":
			if a, ok := b.addrArg(c, 0); ok {
				ck.BindTo = a
			}
		case "bind_port":
			if p, ok := b.portArg(c, 0); ok {
				ck.BindPort = p
			}
		case "bind_if":
			if v, ok := b.arg(c, 0); ok {
				ck.BindIf = v
			}
		case "fwmark":
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				ck.FWMark = uint32(n)
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
			ck.URLs = append(ck.URLs, b.url(c))
		case "virtualhost":
			if v, ok := b.arg(c, 0); ok {
				ck.VirtualHost = v
			}
		case "http_protocol":
			v, _ := b.arg(c, 0)
			switch v {
			case "1.0", "1.1", "1.0C", "1.0c", "0.9":
				ck.HTTPProtocol = strings.ToUpper(v)
			default:
				b.report(c, parser.SevGeneral, "Invalid http_protocol %s specified", v)
			}
		case "enable_sni":
			ck.EnableSNI = b.boolOpt(c)
		case "fast_recovery":
			ck.FastRecovery = b.boolOpt(c)
		case "misc_path":
			ck.MiscPath = b.script(c)
		case "misc_timeout":
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				ck.MiscTimeout = time.Duration(n) * time.Second
			}
		case "misc_dynamic":
			ck.MiscDynamic = true
		case "user":
			if ck.MiscPath != nil {
				ck.MiscPath.User = firstArg(c)
				if len(c.Args) > 1 {
					ck.MiscPath.Group = c.Args[1].Value()
				}
			}
		case "helo_name":
			if v, ok := b.arg(c, 0); ok {
				ck.HeloName = v
			}
		case "type":
			if v, ok := b.arg(c, 0); ok {
				ck.DNSType = strings.ToUpper(v)
			}
		case "name":
			if v, ok := b.arg(c, 0); ok {
				if ck.Kind == BFDCheck {
					ck.BFDName = v
				} else {
					ck.DNSName = v
				}
			}
		case "payload":
			if v, ok := b.arg(c, 0); ok {
				p, err := hex.DecodeString(v)
				if err != nil {
					b.report(c, parser.SevGeneral, "Invalid hex payload %s", v)
					continue
				}
				ck.Payload = p
			}
		case "require_reply":
			ck.RequireReply = true
			if len(c.Args) > 0 {
				if p, err := hex.DecodeString(c.Args[0].Value()); err == nil {
					ck.ReplyPattern = p
				}
			}
		case "min_reply_length":
			if n, ok := b.intArg(c, 0, 0, 65535); ok {
				ck.MinReplyLength = n
			}
		case "max_reply_length":
			if n, ok := b.intArg(c, 0, 0, 65535); ok {
				ck.MaxReplyLength = n
			}
		case "track_file":
			if v, ok := b.arg(c, 0); ok {
				ck.TrackFile = v
			}
		case "weight":
			if n, ok := b.intArg(c, 0, -254, 254); ok {
				ck.Weight = n
			}
			if len(c.Args) > 1 && c.Args[1].Value() == "reverse" {
				ck.WeightReverse = true
			}
		default:
			b.keepTree(c, string(ck.Kind), &ck.Other)
		}
	}
	switch ck.Kind {
	case MiscCheck:
		if ck.MiscPath == nil {
			b.report(st, parser.SevGeneral, "No script path has been specified for MISC_CHECK - skipping")
			return nil
		}
	case FileCheck:
		if ck.TrackFile == "" {
			b.report(st, parser.SevGeneral, "FILE_CHECK has no track_file specified - skipping")
			return nil
		}
	case HTTPGet, SSLGet:
		if len(ck.URLs) == 0 {
			b.report(st, parser.SevGeneral, "%s has no url specified - skipping", ck.Kind)
			return nil
		}
	}
	b.ckPending = append(b.ckPending, in)
	return ck
}

func (b *builder) url(st *parser.Stmt) URL {
	u := URL{Pos: toPos(st.Pos)}
	for _, c := range st.Children() {
		switch c.Name() {
		case "path":
			u.Path, _ = b.arg(c, 0)
		case "digest":
			v, _ := b.arg(c, 0)
			if _, err := hex.DecodeString(v); err != nil || len(v) != 32 {
				b.report(c, parser.SevGeneral, "digest '%s' is not a valid MD5 hex string", v)
				continue
			}
			u.Digest = strings.ToLower(v)
		case "status_code":
			u.StatusCodes = append(u.StatusCodes, b.statusCodes(c)...)
		case "virtualhost":
			u.VirtualHost, _ = b.arg(c, 0)
		case "regex":
			u.Regex, _ = b.arg(c, 0)
		case "regex_no_match":
			u.RegexNoMatch = true
		default:
			b.keepTree(c, "url", &u.Other)
		}
	}
	if u.Path == "" {
		b.report(st, parser.SevGeneral, "Url has no path - defaulting to /")
		u.Path = "/"
	}
	if len(u.StatusCodes) == 0 {
		u.StatusCodes = []StatusRange{{200, 299}}
	}
	return u
}

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
