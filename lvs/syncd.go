package lvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Generic netlink names and numbers from linux/ip_vs.h for what
// cloudflare/ipvs does not send.
const (
	genlName    = "IPVS"
	genlVersion = 1

	cmdNewDaemon = 9
	cmdDelDaemon = 10
	cmdGetDaemon = 11
	cmdFlush     = 17

	cmdAttrDaemon = 3

	daemonAttrState      = 1
	daemonAttrMcastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxlen = 4
	daemonAttrMcastGroup = 5
	daemonAttrMcastGrp6  = 6
	daemonAttrMcastPort  = 7
	daemonAttrMcastTTL   = 8

	ifNameMax = 16 // IP_VS_IFNAME_MAXLEN, with the NUL
)

// SyncState is the role of an IPVS connection-sync daemon.
type SyncState uint32

// Sync daemon roles (IP_VS_STATE_*).
const (
	SyncMaster SyncState = 1
	SyncBackup SyncState = 2
)

func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// SyncDaemon is the configuration of one sync daemon (lvs_sync_daemon
// <ifname> <vrrp instance> id <syncid> maxlen port ttl group).
// Zero optional fields are left to the kernel's defaults.
type SyncDaemon struct {
	State     SyncState
	Interface string
	SyncID    uint8
	MaxLen    uint16     // optional
	Group     netip.Addr // optional multicast group, IPv4 or IPv6
	Port      uint16     // optional
	TTL       uint8      // optional
}

func (d SyncDaemon) String() string {
	return fmt.Sprintf("%s daemon on %s syncid %d", d.State, d.Interface, d.SyncID)
}

// StartDaemon starts a sync daemon (IPVS_CMD_NEW_DAEMON). Starting a role
// that already runs fails with EEXIST.
func (b *IPVS) StartDaemon(ctx context.Context, d SyncDaemon) error {
	if d.State != SyncMaster && d.State != SyncBackup {
		return fmt.Errorf("start sync daemon: invalid state %d", d.State)
	}
	if d.Interface == "" || len(d.Interface) >= ifNameMax {
		return fmt.Errorf("start sync daemon: invalid interface name %q", d.Interface)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(daemonAttrState, uint32(d.State))
		nae.String(daemonAttrMcastIfn, d.Interface)
		nae.Uint32(daemonAttrSyncID, uint32(d.SyncID))
		if d.MaxLen != 0 {
			nae.Uint16(daemonAttrSyncMaxlen, d.MaxLen)
		}
		if d.Port != 0 {
			nae.Uint16(daemonAttrMcastPort, d.Port)
		}
		if d.TTL != 0 {
			nae.Uint8(daemonAttrMcastTTL, d.TTL)
		}
		switch {
		case d.Group.Is4():
			a := d.Group.As4()
			nae.Bytes(daemonAttrMcastGroup, a[:])
		case d.Group.Is6():
			a := d.Group.As16()
			nae.Bytes(daemonAttrMcastGrp6, a[:])
		}
		return nil
	})
	if err := b.send(ctx, cmdNewDaemon, ae); err != nil {
		return fmt.Errorf("start sync %s: %w", d, err)
	}
	return nil
}

// StopDaemon stops the daemon of the given role (IPVS_CMD_DEL_DAEMON).
// Stopping a role that does not run fails with ESRCH.
func (b *IPVS) StopDaemon(ctx context.Context, state SyncState, syncID uint8) error {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(daemonAttrState, uint32(state))
		nae.Uint32(daemonAttrSyncID, uint32(syncID))
		return nil
	})
	if err := b.send(ctx, cmdDelDaemon, ae); err != nil {
		return fmt.Errorf("stop sync %s daemon syncid %d: %w", state, syncID, err)
	}
	return nil
}

// SetSyncState makes d.State the running role for d: it stops the other
// role (absent is fine) and starts this one, as keepalived does on each
// VRRP transition of the instance the daemon follows. An already running
// daemon in the right role is left alone.
func (b *IPVS) SetSyncState(ctx context.Context, d SyncDaemon) error {
	other := SyncBackup
	if d.State == SyncBackup {
		other = SyncMaster
	}
	if err := b.StopDaemon(ctx, other, d.SyncID); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	if err := b.StartDaemon(ctx, d); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

// StopSync stops both roles; a role that is not running is not an error.
func (b *IPVS) StopSync(ctx context.Context, syncID uint8) error {
	var errs []error
	for _, s := range []SyncState{SyncMaster, SyncBackup} {
		if err := b.StopDaemon(ctx, s, syncID); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Daemons lists the running sync daemons (IPVS_CMD_GET_DAEMON).
func (b *IPVS) Daemons(ctx context.Context) ([]SyncDaemon, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.reads.Add(1)
	msgs, err := b.genl.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmdGetDaemon, Version: genlVersion},
	}, b.family.ID, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, fmt.Errorf("list sync daemons: %w", err)
	}
	var out []SyncDaemon
	for _, m := range msgs {
		d, ok, err := decodeDaemon(m.Data)
		if err != nil {
			return nil, fmt.Errorf("list sync daemons: %w", err)
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// decodeDaemon decodes one IPVS_CMD_ATTR_DAEMON reply; ok is false when
// the message carries none.
func decodeDaemon(b []byte) (d SyncDaemon, ok bool, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return d, false, err
	}
	for ad.Next() {
		if ad.Type() != cmdAttrDaemon {
			continue
		}
		ok = true
		ad.Nested(func(nad *netlink.AttributeDecoder) error {
			for nad.Next() {
				switch nad.Type() {
				case daemonAttrState:
					d.State = SyncState(nad.Uint32())
				case daemonAttrMcastIfn:
					d.Interface = nad.String()
				case daemonAttrSyncID:
					d.SyncID = uint8(nad.Uint32())
				case daemonAttrSyncMaxlen:
					d.MaxLen = nad.Uint16()
				case daemonAttrMcastPort:
					d.Port = nad.Uint16()
				case daemonAttrMcastTTL:
					d.TTL = nad.Uint8()
				case daemonAttrMcastGroup, daemonAttrMcastGrp6:
					a, aok := netip.AddrFromSlice(nad.Bytes())
					if !aok {
						return fmt.Errorf("bad multicast group attribute")
					}
					d.Group = a
				}
			}
			return nil
		})
	}
	return d, ok, ad.Err()
}

// Flush removes every service from the kernel in one request
// (IPVS_CMD_FLUSH). It implements Flusher.
func (b *IPVS) Flush(ctx context.Context) error {
	if err := b.send(ctx, cmdFlush, nil); err != nil {
		return fmt.Errorf("flush ipvs: %w", err)
	}
	return nil
}

// send executes one acknowledged write request.
func (b *IPVS) send(ctx context.Context, cmd uint8, ae *netlink.AttributeEncoder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var data []byte
	if ae != nil {
		var err error
		if data, err = ae.Encode(); err != nil {
			return err
		}
	}
	b.writes.Add(1)
	_, err := b.genl.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: genlVersion},
		Data:   data,
	}, b.family.ID, netlink.Request|netlink.Acknowledge)
	return err
}
