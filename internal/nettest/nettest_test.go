package nettest

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Block cuts the path between nodes without touching the node's link;
// unblocking restores it.
func TestBlock(t *testing.T) {
	lan := NewLAN(t)
	a := lan.AddNode("a", "198.51.100.1/24")
	b := lan.AddNode("b", "198.51.100.2/24")
	ln, err := b.Listen("tcp", "198.51.100.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	reach := func() bool {
		var c net.Conn
		err := a.inNS(func() (err error) {
			c, err = net.DialTimeout("tcp", "198.51.100.2:7", 300*time.Millisecond)
			return err
		})
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	WaitFor(t, 5*time.Second, "a path from a to b", reach)
	if err := a.Block(true); err != nil {
		t.Fatal(err)
	}
	if reach() {
		t.Fatal("a connection passed a blocked port")
	}
	if out := a.MustExec("ip", "link", "show", "eth0"); !strings.Contains(out, "LOWER_UP") || strings.Contains(out, "NO-CARRIER") {
		t.Errorf("Block touched the node's link: %s", out)
	}
	if err := a.Block(false); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 5*time.Second, "the path back after unblocking", reach)
}
