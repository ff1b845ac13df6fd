// Package rawsys makes the system calls of the daemons' event loops
// without telling the Go scheduler that the thread may block.
//
// Why: syscall.Syscall wakes the runtime's monitor thread when it sleeps,
// so that a call which blocks gets its processor handed to another thread.
// On an idle node, where an event is one advert or one step of a health
// check, that wake-up cost more CPU than the work itself. Every call here
// is on a non-blocking descriptor, or otherwise returns at once, so the
// monitor has nothing to watch. Never use this for a call that can sleep
// (a blocking socket, close with SO_LINGER, file I/O).
package rawsys

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Read reads from a non-blocking descriptor.
func Read(fd int, p []byte) (int, error) { return transfer(unix.SYS_READ, fd, p) }

// Write writes to a non-blocking descriptor.
func Write(fd int, p []byte) (int, error) { return transfer(unix.SYS_WRITE, fd, p) }

// transfer is read(2) or write(2) of p on fd.
func transfer(trap uintptr, fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Close closes a descriptor that cannot linger (no SO_LINGER, not a file
// with pending writes).
func Close(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errnoErr(e)
}

// Socket opens a socket; typ should carry SOCK_NONBLOCK.
func Socket(domain, typ, proto int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), uintptr(typ), uintptr(proto))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// SetsockoptInt sets an int socket option.
func SetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0)
	return errnoErr(e)
}

// GetsockoptInt reads an int socket option.
func GetsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	l := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	return int(v), errnoErr(e)
}

// Connected reports whether a stream socket has a peer (getpeername).
func Connected(fd int) bool {
	var sa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l)))
	return e == 0
}

// Sockaddr is a socket address in the kernel's layout.
type Sockaddr struct {
	raw unix.RawSockaddrInet6 // large enough for both families
	len uint32
}

// SockaddrOf lays out ap (zone: IPv6 scope id) for the kernel.
func SockaddrOf(ap netip.AddrPort, zone uint32) Sockaddr {
	var s Sockaddr
	a := ap.Addr().Unmap()
	port := ap.Port()
	if a.Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.raw))
		sa4.Family = unix.AF_INET
		sa4.Port = port<<8 | port>>8
		sa4.Addr = a.As4()
		s.len = unix.SizeofSockaddrInet4
		return s
	}
	s.raw.Family = unix.AF_INET6
	s.raw.Port = port<<8 | port>>8
	s.raw.Addr = a.As16()
	s.raw.Scope_id = zone
	s.len = unix.SizeofSockaddrInet6
	return s
}

// Connect starts connecting a non-blocking socket (EINPROGRESS is the
// usual answer).
func Connect(fd int, sa *Sockaddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw)), uintptr(sa.len))
	return errnoErr(e)
}

// Sendto sends one datagram on a non-blocking socket.
func Sendto(fd int, p []byte, flags int, to *Sockaddr) error {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags),
		uintptr(unsafe.Pointer(&to.raw)), uintptr(to.len))
	return errnoErr(e)
}

// Sendmsg sends one datagram with ancillary data on a non-blocking socket.
func Sendmsg(fd int, p, oob []byte, to *Sockaddr, flags int) error {
	var msg unix.Msghdr
	var iov unix.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = &iov
		msg.SetIovlen(1)
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	if to != nil {
		msg.Name = (*byte)(unsafe.Pointer(&to.raw))
		msg.Namelen = to.len
	}
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	return errnoErr(e)
}

// Recvmsg receives one datagram from a non-blocking socket. from is the
// sender's address when the socket reports one.
func Recvmsg(fd int, p, oob []byte, flags int) (n, oobn int, from netip.Addr, err error) {
	var msg unix.Msghdr
	var iov unix.Iovec
	var rsa unix.RawSockaddrAny
	msg.Name = (*byte)(unsafe.Pointer(&rsa))
	msg.Namelen = unix.SizeofSockaddrAny
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = &iov
		msg.SetIovlen(1)
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, netip.Addr{}, e
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		from = netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa)).Addr)
	case unix.AF_INET6:
		from = netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa)).Addr)
	}
	return int(r), int(msg.Controllen), from, nil
}

// EpollCtl changes an epoll set.
func EpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errnoErr(e)
}

// EpollPoll collects ready events without waiting.
func EpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// TimerfdSettime arms (or with a zero value disarms) a timerfd.
func TimerfdSettime(fd, flags int, spec *unix.ItimerSpec) error {
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(fd), uintptr(flags), uintptr(unsafe.Pointer(spec)), 0, 0, 0)
	return errnoErr(e)
}
