package main

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	vrrpengine "keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/packet"
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

// jsonData is an instance's "data" object.
func jsonData(b *bytes.Buffer, env dumpEnv, is *vrrpengine.InstanceStatus) {
	in := is.Config
	o := jobj{b: b}
	o.str("iname", is.Name)
	o.flag("dont_track_primary", in.DontTrackPrimary)
	o.flag("skip_check_adv_addr", in.SkipCheckAdvAddr)
	o.flag("strict_mode", is.Strict)
	o.str("vmac_ifname", is.VMAC)
	o.str("ifp_ifname", is.Interface)
	o.uint("master_priority", uint64(is.MasterPriority))
	lt := 0.0
	if !is.LastTransition.IsZero() {
		lt = float64(is.LastTransition.Unix()) + float64(is.LastTransition.Nanosecond()/1000)/1e6
	}
	o.raw("last_transition", strconv.FormatFloat(lt, 'f', 6, 64))
	o.raw("garp_delay", cG(is.Config.GarpMasterDelay.Seconds()))
	o.uint("garp_refresh", uint64(secs(is.Config.GarpMasterRefresh)))
	o.uint("garp_rep", uint64(is.Config.GarpMasterRepeat))
	o.uint("garp_refresh_rep", uint64(is.Config.GarpMasterRefreshRepeat))
	o.uint("garp_lower_prio_delay", uint64(secs(is.Config.GarpLowerPrioDelay)))
	o.uint("garp_lower_prio_rep", uint64(is.Config.GarpLowerPrioRepeat))
	o.flag("lower_prio_no_advert", is.Config.LowerPrioNoAdvert)
	o.flag("higher_prio_send_advert", is.Config.HigherPrioSendAdvert)
	o.uint("vrid", uint64(is.VRID))
	o.uint("base_priority", uint64(is.BasePriority))
	o.uint("effective_priority", uint64(is.EffectivePriority))
	o.boolean("vipset", is.VIPSet)
	o.boolean("promote_secondaries", in.PromoteSecondaries)
	o.raw("adver_int", cG(is.AdvertInt.Seconds()))
	o.raw("master_adver_int", cG(is.MasterAdvertInt.Seconds()))
	o.flag("accept", is.Accept)
	o.boolean("nopreempt", is.NoPreempt)
	o.uint("preempt_delay", uint64(secs(is.PreemptDelay)))
	o.uint("state", uint64(stateNum(is.State)))
	o.uint("wantstate", uint64(stateNum(is.WantState)))
	o.uint("version", uint64(is.Version))
	o.boolean("smtp_alert", in.SMTPAlert)
	o.boolean("notify_deleted", in.NotifyDeletedSet)
	for _, sc := range []struct {
		k string
		s *config.Script
	}{{"script_backup", in.NotifyBackup}, {"script_master", in.NotifyMaster}, {"script_fault", in.NotifyFault},
		{"script_stop", in.NotifyStop}, {"script_deleted", in.NotifyDeleted}, {"script", in.Notify},
		{"script_master_rx_lower_pri", in.NotifyMasterRxLowerPri}} {
		if argv := scriptArgv(sc.s); argv != nil {
			o.str(sc.k, script.CmdString(argv))
		}
	}
	var vips, evips, routes, rules, tifs, tscripts []string
	for _, v := range in.VIPs {
		vips = append(vips, formatVIP(v, is.Interface, env.links, is.VIPSet))
	}
	for _, v := range in.ExcludedVIPs {
		evips = append(evips, formatVIP(v, is.Interface, env.links, is.VIPSet))
	}
	for _, r := range in.Routes {
		routes = append(routes, r.String())
	}
	for _, r := range in.Rules {
		rules = append(rules, r.String())
	}
	for _, r := range trackedIfaces(is) {
		tifs = append(tifs, r.Name)
	}
	for _, r := range in.TrackScripts {
		for _, s := range env.cfg.Scripts {
			if s.Name == r.Name {
				tscripts = append(tscripts, script.CmdString(scriptArgv(s.Script)))
			}
		}
	}
	o.strs("vips", vips)
	o.strs("evips", evips)
	o.strs("vroutes", routes)
	o.strs("vrules", rules)
	o.strs("track_ifp", tifs)
	o.strs("track_script", tscripts)
	o.uint("auth_type", uint64(is.AuthType))
	if is.AuthType != packet.AuthNone {
		pw := is.AuthPass
		if is.AuthType == packet.AuthAH {
			pw = ""
		}
		o.str("auth_data", pw)
	}
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
