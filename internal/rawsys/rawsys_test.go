package rawsys

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStreamConnectWriteRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4)
		if _, err := c.Read(buf); err == nil {
			c.Write(append([]byte("re:"), buf...))
		}
	}()
	fd, err := Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	sa := SockaddrOf(netip.MustParseAddrPort(ln.Addr().String()), 0)
	if err := Connect(fd, &sa); err != nil && err != unix.EINPROGRESS {
		t.Fatal(err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	if err := EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: int32(fd)}); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 4)
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 2 s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait("connection", func() bool { return Connected(fd) })
	if v, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || v != 0 {
		t.Fatalf("SO_ERROR %d %v", v, err)
	}
	if n, err := Write(fd, []byte("ping")); err != nil || n != 4 {
		t.Fatalf("write %d %v", n, err)
	}
	wait("readable event", func() bool {
		n, _ := EpollPoll(ep, events)
		for _, ev := range events[:n] {
			if ev.Events&unix.EPOLLIN != 0 {
				return true
			}
		}
		return false
	})
	buf := make([]byte, 16)
	n, err := Read(fd, buf)
	if err != nil || string(buf[:n]) != "re:ping" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

func TestConnectRefusedAndOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	fd, err := Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	if err := SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8192); err != nil {
		t.Fatal(err)
	}
	if v, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil || v < 8192 {
		t.Fatalf("SO_RCVBUF %d %v", v, err)
	}
	sa := SockaddrOf(ap, 0)
	err = Connect(fd, &sa)
	for i := 0; err == unix.EINPROGRESS && i < 2000; i++ {
		var v int
		v, _ = GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if v != 0 {
			err = unix.Errno(v)
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != unix.ECONNREFUSED {
		t.Fatalf("connect to a closed port: %v", err)
	}
}

func TestDatagramsBothFamilies(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			// Only where the family is missing (a kernel without IPv6).
			t.Logf("%s not available, family not tested: %v", addr, err)
			continue
		}
		dst := netip.MustParseAddrPort(pc.LocalAddr().String())
		fam := unix.AF_INET
		if dst.Addr().Is6() {
			fam = unix.AF_INET6
		}
		fd, err := Socket(fam, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		sa := SockaddrOf(dst, 0)
		if err := Sendto(fd, []byte("one"), 0, &sa); err != nil {
			t.Fatalf("%s sendto: %v", addr, err)
		}
		if err := Sendmsg(fd, []byte("two"), nil, &sa, 0); err != nil {
			t.Fatalf("%s sendmsg: %v", addr, err)
		}
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 8)
		var got []string
		var from net.Addr
		for range 2 {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			got, from = append(got, string(buf[:n])), a
		}
		if got[0] != "one" || got[1] != "two" {
			t.Fatalf("%s got %v", addr, got)
		}
		// And back, through Recvmsg.
		if _, err := pc.WriteTo([]byte("back"), from); err != nil {
			t.Fatal(err)
		}
		var n int
		var src netip.Addr
		for i := 0; i < 2000; i++ {
			n, _, src, err = Recvmsg(fd, buf, nil, 0)
			if err != unix.EAGAIN {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err != nil || string(buf[:n]) != "back" || src != dst.Addr() {
			t.Fatalf("%s recvmsg %q from %v: %v", addr, buf[:n], src, err)
		}
		Close(fd)
		pc.Close()
	}
}

func TestTimerfd(t *testing.T) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	if err := TimerfdSettime(fd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(5 * time.Millisecond))}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := Read(fd, buf); err != unix.EAGAIN {
		t.Fatalf("read before expiry: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := Read(fd, buf); err != nil || n != 8 || buf[0] != 1 {
		t.Fatalf("read after expiry: %d %v %v", n, err, buf)
	}
}
