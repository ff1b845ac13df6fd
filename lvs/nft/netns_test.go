package nft

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The kernel tests build small topologies in fresh network namespaces,
// run Go HTTP servers inside them (this test binary, re-executed), and
// count which server answered each request sent through the VIP.

func TestMain(m *testing.M) {
	if name := os.Getenv("KGNFT_HTTPD"); name != "" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
		fmt.Fprintln(os.Stderr, http.ListenAndServe(os.Getenv("KGNFT_LISTEN"), nil))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func needKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kernel test: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("kernel test: %s not installed (Debian packages iproute2, nftables)", tool)
		}
	}
}

type ns struct {
	name string
	h    netns.NsHandle
}

var nsSeq, linkSeq int

// newNS creates a namespace removed at cleanup, after its processes are
// killed by PID.
func newNS(t *testing.T, role string) *ns {
	t.Helper()
	nsSeq++
	name := fmt.Sprintf("kgnft%d-%d-%s", os.Getpid()%100000, nsSeq, role)
	sh(t, "ip", "netns", "add", name)
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	n := &ns{name: name, h: h}
	t.Cleanup(func() {
		out, _ := exec.Command("ip", "netns", "pids", name).Output()
		for _, f := range strings.Fields(string(out)) {
			// Our own threads that entered the namespace to dial show up too.
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
					p.Wait()
				}
			}
		}
		h.Close()
		exec.Command("ip", "netns", "del", name).Run()
	})
	n.run(t, "ip", "link", "set", "lo", "up")
	return n
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (n *ns) run(t *testing.T, args ...string) string {
	t.Helper()
	return sh(t, append([]string{"ip", "netns", "exec", n.name}, args...)...)
}

// link connects a and b with a veth pair named ifa/ifb, with fixed MACs
// so golden files are stable.
func link(t *testing.T, a *ns, ifa, maca string, b *ns, ifb, macb string) {
	t.Helper()
	linkSeq++
	tmp := fmt.Sprintf("kgnft%d-%d", os.Getpid()%100000, linkSeq)
	sh(t, "ip", "link", "add", tmp+"a", "type", "veth", "peer", "name", tmp+"b")
	sh(t, "ip", "link", "set", tmp+"a", "netns", a.name)
	sh(t, "ip", "link", "set", tmp+"b", "netns", b.name)
	a.run(t, "ip", "link", "set", tmp+"a", "name", ifa, "address", maca, "up")
	b.run(t, "ip", "link", "set", tmp+"b", "name", ifb, "address", macb, "up")
}

// serve starts an HTTP server answering name on listen inside n.
func (n *ns) serve(t *testing.T, name, listen string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.name, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KGNFT_HTTPD="+name, "KGNFT_LISTEN="+listen)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// dial opens a TCP connection from inside n, from local when valid.
func (n *ns) dial(ctx context.Context, local netip.Addr, addr string) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		// The thread enters n and is never unlocked: the runtime drops
		// it rather than reuse it in the wrong namespace.
		runtime.LockOSThread()
		if err := netns.Set(n.h); err != nil {
			ch <- res{nil, err}
			return
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		if local.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// client returns an HTTP client in n; keepAlive false opens a new
// connection (a new scheduling decision) per request.
func (n *ns) client(local netip.Addr, keepAlive bool) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return n.dial(ctx, local, addr)
		},
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 1,
	}
	return &http.Client{Transport: tr, Timeout: 3 * time.Second}
}

// get fetches url and returns the body (the server's name) and whether
// the connection was reused.
func get(c *http.Client, url string) (string, bool, error) {
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), reused, err
}

// count sends n requests, each on a new connection, and counts answers.
func count(t *testing.T, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, _, err := get(c, url)
		if err != nil {
			got["error"]++
			continue
		}
		got[name]++
	}
	return got
}

// waitHTTP waits (bounded) until url answers from inside n.
func waitHTTP(t *testing.T, n *ns, url string) {
	t.Helper()
	c := n.client(netip.Addr{}, false)
	for range 100 {
		if _, _, err := get(c, url); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not answering from %s", url, n.name)
}

func (n *ns) runErr(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.name}, args...)...).CombinedOutput()
	return string(out), err
}
