package vrrp

import (
	"fmt"
	"net/netip"

	"keepalived-go/vrrp/packet"
)

// Action is an output of Instance.Step. The shell performs actions in the
// order they are returned. Slices in actions share memory with the
// instance's Config: read them, do not modify them.
type Action interface{ isAction() }

// SendAdvert asks for one advertisement to every address in Dsts (the
// multicast group, or each unicast peer). Encode builds the bytes.
type SendAdvert struct {
	Advert packet.Advert
	Src    netip.Addr
	Dsts   []netip.Addr
	// AH is set for auth_type AH: key, sequence number and unicast flag.
	AH *packet.AHConfig
}

// Encode builds what goes on the wire to dst: for IPv4 a whole datagram for
// an IP_HDRINCL socket (TTL 255, TOS 0xc0, the shell's IP ID), for IPv6 the
// VRRP message (the kernel adds the header and checksum).
func (s SendAdvert) Encode(dst netip.Addr, ipID uint16) ([]byte, error) {
	if s.Advert.IPv6 {
		return s.Advert.Marshal(s.Src, dst)
	}
	h := packet.IPv4Header{TOS: packet.IPv4TOS, ID: ipID, TTL: packet.TTL, Src: s.Src, Dst: dst}
	return packet.Encode4(h, &s.Advert, s.AH)
}

// AddVIPs installs the virtual addresses, then routes and rules (opaque
// config items from Config). All is set when the instance takes its whole
// set (becoming MASTER); a reload's new addresses come without it.
type AddVIPs struct {
	VIPs, Excluded []netip.Prefix
	Routes, Rules  []any
	All            bool
}

// DelVIPs removes them, rules and routes first. All is set when the
// instance releases everything it holds (leaving MASTER, stopping).
type DelVIPs struct {
	VIPs, Excluded []netip.Prefix
	Routes, Rules  []any
	All            bool
}

// SendGratuitous asks for Repeat rounds of gratuitous ARP (IPv4) or
// unsolicited neighbour advertisements (IPv6) for each address. The shell
// spaces them by the interface's garp_interval / gna_interval.
type SendGratuitous struct {
	Addrs  []netip.Addr
	Repeat int
}

// Notify reports a state transition (notify scripts, SMTP alert, FIFO).
type Notify struct {
	From, To State
	Reason   Reason
	Priority uint8 // effective priority after the transition
}

// NotifyMasterRxLowerPri is keepalived's notify_master_rx_lower_pri event:
// the master heard a lower-priority advert (presumably a split brain).
type NotifyMasterRxLowerPri struct{ From netip.Addr }

// NotifyPriority reports a new effective priority (keepalived's
// MASTER_PRIORITY / BACKUP_PRIORITY FIFO events), only with
// the model's NotifyPriorityChanges.
type NotifyPriority struct {
	State    State
	Priority uint8
}

// Log is one line keepalived 2.2.7 would log, text identical. Detail lines
// are logged by keepalived only with --log-detail (-D).
type Log struct {
	Text   string
	Detail bool
}

// Discarded reports an advert the instance dropped, with the sentinel of
// package packet saying why and the sender's address; only with
// Config.ReportDiscards. keepalived sends its RFC 2787 authentication
// failure and RFC 6527 protocol error notifications at this point.
type Discarded struct {
	Reason error
	Src    netip.Addr
}

func (SendAdvert) isAction()             {}
func (Discarded) isAction()              {}
func (AddVIPs) isAction()                {}
func (DelVIPs) isAction()                {}
func (SendGratuitous) isAction()         {}
func (Notify) isAction()                 {}
func (NotifyMasterRxLowerPri) isAction() {}
func (NotifyPriority) isAction()         {}
func (Log) isAction()                    {}

// Describe renders an action on one line, for tests and debug output.
func Describe(a Action) string {
	switch a := a.(type) {
	case SendAdvert:
		return fmt.Sprintf("send-advert prio=%d to=%v", a.Advert.Priority, a.Dsts)
	case AddVIPs:
		return fmt.Sprintf("add-vips %v", a.VIPs)
	case DelVIPs:
		return fmt.Sprintf("del-vips %v", a.VIPs)
	case SendGratuitous:
		return fmt.Sprintf("garp %v x%d", a.Addrs, a.Repeat)
	case Notify:
		return fmt.Sprintf("notify %v->%v (%v) prio=%d", a.From, a.To, a.Reason, a.Priority)
	case NotifyMasterRxLowerPri:
		return fmt.Sprintf("notify master-rx-lower-pri from %v", a.From)
	case NotifyPriority:
		return fmt.Sprintf("notify %v priority=%d", a.State, a.Priority)
	case Discarded:
		return fmt.Sprintf("discarded from %v: %v", a.Src, a.Reason)
	case Log:
		if a.Detail {
			return "log-detail " + a.Text
		}
		return "log " + a.Text
	}
	return fmt.Sprintf("%T", a)
}
