package soak

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/nettest"
)

// shaper is the link fault of one node: netem's loss and delay. This
// machine's kernel has neither sch_netem (CONFIG_NET_SCH_NETEM unset) nor
// NFQUEUE, so a relay of ours, between the node's interface and the LAN,
// applies them to every frame in both directions.
type shaper struct {
	loss  atomic.Int32 // percent of frames dropped
	delay atomic.Int64 // nanoseconds every frame is held
}

func (s *shaper) set(loss int, delay time.Duration) {
	s.loss.Store(int32(loss))
	s.delay.Store(int64(delay))
}

// relay copies Ethernet frames between two interfaces of its namespace
// (AF_PACKET), through a shaper.
type relay struct {
	fds   [2]int
	index [2]int
	sh    *shaper
	stop  atomic.Bool
	wg    sync.WaitGroup
}

// queueFrames bounds the frames held by a delay: beyond it they drop.
const queueFrames = 4096

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startRelay relays between interfaces a and b of namespace ns.
func startRelay(ns, a, b string, sh *shaper) (*relay, error) {
	r := &relay{sh: sh, fds: [2]int{-1, -1}}
	err := nettest.InNamespace(ns, func() error {
		for i, name := range []string{a, b} {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return err
			}
			fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
			if err != nil {
				return err
			}
			r.fds[i], r.index[i] = fd, ifi.Index
			if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
				return err
			}
			// Reads wake every 200 ms to see the stop flag.
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200000}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.close()
		return nil, err
	}
	for dir := 0; dir < 2; dir++ {
		r.wg.Add(1)
		go r.pump(r.fds[dir], r.fds[1-dir], r.index[1-dir])
	}
	return r, nil
}

type frame struct {
	at time.Time
	b  []byte
}

// pump reads frames arriving on in and sends them out on out, after the
// shaper's delay unless it drops them.
func (r *relay) pump(in, out, outIndex int) {
	defer r.wg.Done()
	q := make(chan frame, queueFrames)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		to := &unix.SockaddrLinklayer{Ifindex: outIndex}
		for f := range q {
			if d := time.Until(f.at); d > 0 {
				time.Sleep(d)
			}
			_ = unix.Sendto(out, f.b, 0, to)
		}
	}()
	buf := make([]byte, 1<<16)
	for !r.stop.Load() {
		n, from, err := unix.Recvfrom(in, buf, 0)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				time.Sleep(10 * time.Millisecond) // e.g. the link is down
			}
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // what we sent ourselves
		}
		if loss := r.sh.loss.Load(); loss > 0 && rand.IntN(100) < int(loss) {
			continue
		}
		select {
		case q <- frame{time.Now().Add(time.Duration(r.sh.delay.Load())), append([]byte(nil), buf[:n]...)}:
		default: // the delay line is full: dropped, as a full queue does
		}
	}
	close(q)
	<-sent
}

func (r *relay) close() {
	r.stop.Store(true)
	r.wg.Wait()
	for _, fd := range r.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}
