package nft

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// A transaction is one netlink send: the kernel refuses it outright
// (EMSGSIZE) when it is larger than the socket's send buffer, and while
// it runs it queues one acknowledgement per message on the socket's
// receive buffer, where acks that do not fit are lost (ENOBUFS). The
// defaults (net.core.wmem_default, about 208 KiB) hold a table of a few
// thousand real servers. As nft does, each transaction's socket is sized
// to it: SO_SNDBUFFORCE and SO_RCVBUFFORCE (CAP_NET_ADMIN, which
// programming nftables needs anyway), else SO_SNDBUF/SO_RCVBUF up to the
// net.core.*mem_max limits.

// ackTruesize bounds the kernel's memory for one queued ack (nft uses the
// same figure).
const ackTruesize = 1024

// minSockBuf is the smallest buffer we ask for: the kernel's default.
const minSockBuf = 256 << 10

// sockSizes sizes the socket of one transaction.
type sockSizes struct {
	snd, rcv       int // wanted
	gotSnd, gotRcv int // effective (as the kernel reports: twice the request)
}

func (s *sockSizes) want(st batchStats) {
	s.snd = max(minSockBuf, st.Bytes+64<<10)
	s.rcv = max(minSockBuf, st.Messages*ackTruesize)
}

// option is the google/nftables SockOption that sizes the socket; it
// fails, naming the limit to raise, when the batch cannot fit.
func (s *sockSizes) option(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		s.gotSnd, serr = setBuf(int(fd), unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, s.snd)
		if serr != nil {
			return
		}
		s.gotRcv, serr = setBuf(int(fd), unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, s.rcv)
	})
	if err := errors.Join(cerr, serr); err != nil {
		return fmt.Errorf("size netlink socket: %w", err)
	}
	// The kernel refuses a message longer than the send buffer less a
	// little; the buffer it reports is twice what was asked for.
	if s.gotSnd < s.snd {
		return fmt.Errorf("transaction of up to %d bytes does not fit the netlink send buffer (%d bytes): "+
			"run with CAP_NET_ADMIN or raise net.core.wmem_max: %w", s.snd, s.gotSnd, unix.EMSGSIZE)
	}
	return nil
}

// setBuf asks for n bytes with the privileged option, falling back to
// the capped one, and returns what the kernel granted.
func setBuf(fd, force, capped, n int) (int, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, n); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, capped, n); err != nil {
			return 0, err
		}
	}
	return unix.GetsockoptInt(fd, unix.SOL_SOCKET, capped)
}

// Stats are the backend's transaction figures.
type Stats struct {
	Commits, Failures uint64
	// ReadBacks counts reads of our tables from the kernel: at the start,
	// and after a transaction of someone else's touched them (or could
	// have: when the ruleset's notifications are not followed).
	ReadBacks uint64
	// Last is the last transaction sent, Largest the largest one.
	Last, Largest Batch
	LastError     string
	LastErrorAt   time.Time
}

// Batch describes one transaction.
type Batch struct {
	Messages, Elements int
	// Bytes bounds the size of the messages (the socket is sized to it).
	Bytes int
	// SendBuffer and RecvBuffer are the socket buffers it had.
	SendBuffer, RecvBuffer int
	Duration               time.Duration
	Err                    error
}

type statRecorder struct {
	mu sync.Mutex
	s  Stats
}

func (r *statRecorder) record(st batchStats, sz sockSizes, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := Batch{Messages: st.Messages, Elements: st.Elements, Bytes: st.Bytes, SendBuffer: sz.gotSnd, RecvBuffer: sz.gotRcv, Duration: d, Err: err}
	r.s.Last = b
	if err != nil {
		r.s.Failures++
		r.s.LastError, r.s.LastErrorAt = err.Error(), time.Now()
		return
	}
	r.s.Commits++
	if b.Bytes > r.s.Largest.Bytes {
		r.s.Largest = b
	}
}

func (r *statRecorder) readBack() {
	r.mu.Lock()
	r.s.ReadBacks++
	r.mu.Unlock()
}

func (r *statRecorder) get() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}

var (
	_ lvs.StatusBackend = (*Backend)(nil)
	_ lvs.ActiveSetter  = (*Backend)(nil) // the Manager gates DR forwarding on VRRP through it
)
