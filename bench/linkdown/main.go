// Command linkdown takes a VRRP master's link down at a fixed point of its
// advert interval, for bench/vrrp.sh.
//
// A backup takes over Master_Down_Interval after the last advert it got,
// so "link down -> takeover" also measures where in the advert interval
// the link went down. Downed at a random moment, that is noise as large
// as the difference between implementations (about 10 ms of spread over
// 20 rounds at advert_int 1). linkdown, run in the backup's namespace,
// waits for the next advert from -from and takes the link down -delay
// after it arrived, the same way for every implementation, so what stays
// is the implementations' own timing.
//
// It prints the moment it asked for the link to go down, in seconds since
// the epoch (the clock dumpcap stamps packets with), and exits.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func main() {
	from := flag.String("from", "", "source address of the master's adverts (IPv4)")
	nsName := flag.String("ns", "", "named network namespace of the master's link")
	ifName := flag.String("if", "eth0", "the master's interface in -ns")
	delay := flag.Duration("delay", time.Millisecond, "time from the advert's arrival to link down")
	timeout := flag.Duration("timeout", 10*time.Second, "give up when no advert comes within")
	flag.Parse()
	src, err := netip.ParseAddr(*from)
	if err != nil || !src.Is4() || *nsName == "" {
		fmt.Fprintln(os.Stderr, "usage: linkdown -from IPv4 -ns NAMESPACE [-if eth0] [-delay 1ms]")
		os.Exit(2)
	}
	if err := run(src, *nsName, *ifName, *delay, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "linkdown:", err)
		os.Exit(1)
	}
}

func run(src netip.Addr, nsName, ifName string, delay, timeout time.Duration) error {
	ns, err := netns.GetFromName(nsName)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", nsName, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsName, err)
	}
	defer h.Close()
	link, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", ifName, nsName, err)
	}
	// Protocol 112 as it arrives here: the kernel hands a raw socket
	// every such datagram, the IPv4 header first.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(timeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("no advert from %v: %w", src, err)
		}
		if n >= 20 && netip.AddrFrom4([4]byte(buf[12:16])) == src {
			break
		}
	}
	time.Sleep(delay)
	at := time.Now()
	if err := h.LinkSetDown(link); err != nil {
		return fmt.Errorf("set %s down: %w", ifName, err)
	}
	fmt.Printf("%d.%09d\n", at.Unix(), at.Nanosecond())
	return nil
}
