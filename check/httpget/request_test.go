package httpget

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

var requestGolden = []struct {
	name     string
	path     string
	proto    Protocol
	vhost    string
	hasVhost bool
	dst      string
	want     string
}{
	{"1.0 ip", "/apache2-default/", HTTP10, "", false, "127.0.0.1:18081",
		"GET /apache2-default/ HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:18081\r\n\r\n"},
	{"1.0C ip", "/apache2-default/", HTTP10Close, "", false, "127.0.0.1:18081",
		"GET /apache2-default/ HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:18081\r\n\r\n"},
	{"1.1 ip", "/apache2-default/", HTTP11, "", false, "127.0.0.1:18081",
		"GET /apache2-default/ HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:18081\r\n\r\n"},
	{"1.0 vhost", "/apache2-default/", HTTP10, "keepalive.example.org", true, "127.0.0.1:18081",
		"GET /apache2-default/ HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: keepalive.example.org\r\n\r\n"},
	{"1.1 vhost", "/apache2-default/", HTTP11, "keepalive.example.org", true, "127.0.0.1:18081",
		"GET /apache2-default/ HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: keepalive.example.org\r\n\r\n"},
	{"empty vhost", "/", HTTP10, "", true, "127.0.0.1:80",
		"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: \r\n\r\n"},
	{"ipv6", "/x", HTTP10, "", false, "[::1]:8080",
		"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:8080\r\n\r\n"},
	{"ipv6 vhost", "/x", HTTP10, "www", true, "[2001:db8::1]:80",
		"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www\r\n\r\n"},
	{"ipv4-compatible", "/", HTTP10, "", false, "[::102:304]:80",
		"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1.2.3.4]:80\r\n\r\n"},
	{"unescaped path", "/a b?c=d", HTTP10, "", false, "127.0.0.1:1",
		"GET /a b?c=d HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:1\r\n\r\n"},
}

func TestBuildRequestGolden(t *testing.T) {
	for _, tc := range requestGolden {
		t.Run(tc.name, func(t *testing.T) {
			got := string(BuildRequest(tc.path, tc.proto, tc.vhost, tc.hasVhost, netip.MustParseAddrPort(tc.dst)))
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestBuildRequestTruncatesLikeSnprintf(t *testing.T) {
	path := "/" + strings.Repeat("a", 3000)
	got := BuildRequest(path, HTTP10, "", false, netip.MustParseAddrPort("127.0.0.1:80"))
	if len(got) != 2047 || !strings.HasPrefix(string(got), "GET /aaa") {
		t.Fatalf("len %d, want 2047", len(got))
	}
}

func TestFormatIP(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":        "127.0.0.1",
		"::1":              "::1",
		"::":               "::",
		"::102:304":        "::1.2.3.4",
		"::ffff:1.2.3.4":   "::ffff:1.2.3.4",
		"2001:db8::1":      "2001:db8::1",
		"fe80::1%eth0":     "fe80::1",
		"2001:db8:0:0:1::": "2001:db8:0:0:1::",
	} {
		if got := FormatIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatIP(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestRequestMatchesDebianGenhash captures what keepalived's own genhash
// sends for each variant and compares it with BuildRequest.
func TestRequestMatchesDebianGenhash(t *testing.T) {
	bin := debianGenhash(t)
	variants := []struct {
		args  []string
		proto Protocol
		vhost *string
	}{
		{nil, HTTP10, nil},
		{[]string{"-P", "1.0"}, HTTP10, nil},
		{[]string{"-P", "1.0c"}, HTTP10Close, nil},
		{[]string{"-P", "1.0C"}, HTTP10Close, nil},
		{[]string{"-P", "1.1"}, HTTP11, nil},
		{[]string{"-V", "keepalive.example.org"}, HTTP10, ptr("keepalive.example.org")},
		{[]string{"-V", "keepalive.example.org", "-P", "1.1"}, HTTP11, ptr("keepalive.example.org")},
		{[]string{"-V", "", "-P", "1.0c"}, HTTP10Close, ptr("")},
	}
	for _, network := range []string{"127.0.0.1", "::1"} {
		for _, v := range variants {
			name := network + " " + strings.Join(v.args, " ")
			t.Run(name, func(t *testing.T) {
				ln := listen(t, network)
				dst := netip.MustParseAddrPort(ln.Addr().String())
				got := make(chan string, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						got <- err.Error()
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					got <- readRequest(c)
					c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
				}()
				args := append([]string{"-s", network, "-p", strconv.Itoa(int(dst.Port())), "-u", "/apache2-default/", "-t", "10"}, v.args...)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
					t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
				}
				vh, has := "", v.vhost != nil
				if has {
					vh = *v.vhost
				}
				want := string(BuildRequest("/apache2-default/", v.proto, vh, has, dst))
				if g := <-got; g != want {
					t.Errorf("keepalived sent %q\nwe build      %q", g, want)
				}
			})
		}
	}
}

func ptr(s string) *string { return &s }

func debianGenhash(t *testing.T) string {
	t.Helper()
	const bin = "/usr/bin/genhash"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not installed (Debian package keepalived): %v", bin, err)
	}
	return bin
}

func listen(t *testing.T, host string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// readRequest reads up to the blank line that ends a request.
func readRequest(c net.Conn) string {
	r := bufio.NewReader(c)
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			return b.String()
		}
	}
}
