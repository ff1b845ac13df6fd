// Command vmsrv is the real servers of the checker-timing VM test: each
// flag serves one behaviour on one address until killed.
//
//	-slow ADDR   HTTP/1.0 200 whose body comes in -chunks pieces, -gap apart
//	-stall ADDR  HTTP/1.0 200 header, then nothing for -stallfor, then the body
//	-reset ADDR  accepts each connection and resets it at once (SO_LINGER 0)
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

const page = "<html><body><h1>It works!</h1></body></html>"

func main() {
	slow := flag.String("slow", "", "address of the slow-body server")
	stall := flag.String("stall", "", "address of the stalling server")
	reset := flag.String("reset", "", "address of the resetting server")
	chunks := flag.Int("chunks", 8, "body pieces of the slow server")
	gap := flag.Duration("gap", 700*time.Millisecond, "time between the slow server's pieces")
	stallFor := flag.Duration("stallfor", 3*time.Second, "the stalling server's pause")
	flag.Parse()
	serve := func(addr string, handle func(*net.TCPConn)) {
		if addr == "" {
			return
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmsrv:", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					fmt.Fprintln(os.Stderr, "vmsrv:", err)
					os.Exit(1)
				}
				go handle(c.(*net.TCPConn))
			}
		}()
	}
	serve(*slow, func(c *net.TCPConn) {
		defer c.Close()
		if !readRequest(c) {
			return
		}
		c.SetNoDelay(true)
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", len(page))
		for i := 0; i < *chunks; i++ {
			time.Sleep(*gap)
			if _, err := c.Write([]byte(page[i*len(page)/(*chunks) : (i+1)*len(page)/(*chunks)])); err != nil {
				return
			}
		}
	})
	serve(*stall, func(c *net.TCPConn) {
		defer c.Close()
		if !readRequest(c) {
			return
		}
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", len(page))
		time.Sleep(*stallFor)
		c.Write([]byte(page))
	})
	serve(*reset, func(c *net.TCPConn) {
		c.SetLinger(0)
		c.Close()
	})
	fmt.Println("vmsrv: serving")
	select {}
}

// readRequest reads up to the end of an HTTP request's header.
func readRequest(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, 1024)
	for len(got) < 8192 {
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		got = append(got, buf[:n]...)
		for i := 0; i+3 < len(got); i++ {
			if string(got[i:i+4]) == "\r\n\r\n" {
				return true
			}
		}
	}
	return false
}
