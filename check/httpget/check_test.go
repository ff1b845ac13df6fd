package httpget

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

func apacheHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/apache2-default/":
		fmt.Fprint(w, apachePage)
	case "/host":
		fmt.Fprint(w, r.Host)
	default:
		http.NotFound(w, r)
	}
}

func serverTarget(t *testing.T, url string) Target {
	t.Helper()
	hostport := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	return Target{Addr: netip.MustParseAddrPort(hostport), Path: "/apache2-default/", Timeout: 10 * time.Second}
}

func mustDigest(t *testing.T, s string) *Digest {
	d, err := ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantErr(t *testing.T, err error, kind error, msg string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.Msg != msg {
		t.Fatalf("error %v (%#v), want kind %v msg %q", err, e, kind, msg)
	}
	return e
}

func TestCheckApachePage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(apacheHandler))
	defer srv.Close()
	tg := serverTarget(t, srv.URL)
	tg.Digest = mustDigest(t, "c7b4690c8c46625ef0f328cd7a24a0a3")
	res, err := Check(testCtx(t), tg)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.ContentLength != 44 || res.BodyBytes != 44 || res.LengthMismatch ||
		res.Digest.String() != "c7b4690c8c46625ef0f328cd7a24a0a3" || !strings.HasPrefix(string(res.Header), "HTTP/1.0 200 OK\r\n") {
		t.Fatalf("result %+v", res)
	}

	tg.Digest = mustDigest(t, "00000000000000000000000000000000")
	_, err = Check(testCtx(t), tg)
	wantErr(t, err, ErrDigestMismatch, "MD5 digest error to")
}

func TestCheckStatusCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(apacheHandler))
	defer srv.Close()
	tg := serverTarget(t, srv.URL)
	tg.Path = "/missing"
	res, err := Check(testCtx(t), tg)
	wantErr(t, err, ErrStatus, "HTTP status code error to")
	if res.StatusCode != 404 {
		t.Fatalf("status %d", res.StatusCode)
	}
	tg.StatusCodes, _ = ParseStatusCodes([]string{"200", "400-404"})
	if _, err := Check(testCtx(t), tg); err != nil {
		t.Fatal(err)
	}
}

func TestCheckHostHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(apacheHandler))
	defer srv.Close()
	tg := serverTarget(t, srv.URL)
	tg.Path = "/host"
	for vhost, want := range map[string]string{"": tg.Addr.String(), "keepalive.example.org": "keepalive.example.org"} {
		tg.VirtualHost = vhost
		res, err := Check(testCtx(t), tg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != md5Of(want) {
			t.Errorf("vhost %q: server saw a different Host than %q", vhost, want)
		}
	}
}

func md5Of(s string) Digest {
	r := newRespReader(false)
	r.md5.Write([]byte(s))
	return r.finish(false)
}

func TestCheckRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	_, err = Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: 5 * time.Second})
	e := wantErr(t, err, ErrConnect, "Connection failed")
	if !errors.Is(err, syscall.ECONNREFUSED) || e.Phase != PhaseConnect {
		t.Fatalf("%v phase %v", err, e.Phase)
	}
}

// rawServer accepts one connection and hands it to fn.
func rawServer(t *testing.T, fn func(c net.Conn)) netip.AddrPort {
	t.Helper()
	ln := listen(t, "127.0.0.1")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fn(c)
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// hold keeps the connection open until the client goes away.
func hold(c net.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func TestCheckTimeouts(t *testing.T) {
	const to = 100 * time.Millisecond
	t.Run("first read", func(t *testing.T) {
		addr := rawServer(t, hold)
		_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: to})
		if e := wantErr(t, err, ErrTimeout, "Timeout WEB read"); e.Phase != PhaseFirstRead {
			t.Fatal(e.Phase)
		}
	})
	t.Run("later read", func(t *testing.T) {
		addr := rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n"))
			hold(c)
		})
		_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: to})
		wantErr(t, err, ErrTimeout, "Timeout HTTP read")
	})
	t.Run("tls handshake", func(t *testing.T) {
		addr := rawServer(t, hold)
		_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: to, TLS: true})
		if e := wantErr(t, err, ErrTimeout, "Timeout connecting"); e.Phase != PhaseHandshake {
			t.Fatal(e.Phase)
		}
	})
	t.Run("ctx deadline", func(t *testing.T) {
		addr := rawServer(t, hold)
		ctx, cancel := context.WithTimeout(context.Background(), to)
		defer cancel()
		_, err := Check(ctx, Target{Addr: addr, Path: "/"})
		wantErr(t, err, ErrTimeout, "Timeout WEB read")
	})
}

func TestCheckCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := rawServer(t, func(c net.Conn) {
		readRequest(c)
		cancel()
		hold(c)
	})
	_, err := Check(ctx, Target{Addr: addr, Path: "/"})
	wantErr(t, err, ErrCanceled, "check canceled")
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestCheckNoDataAndReset(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { readRequest(c) })
	_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: 5 * time.Second})
	wantErr(t, err, ErrNoData, "Read, no data received from ")

	addr = rawServer(t, func(c net.Conn) {
		readRequest(c)
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\npartial"))
		c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	_, err = Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: 5 * time.Second})
	// The RST may overtake the data; either way it is a read error.
	wantErr(t, err, ErrRead, "Read error with")
}

func TestCheckMaxBodySize(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		readRequest(c)
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("x", 10000)))
	})
	_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: 5 * time.Second, MaxBodySize: 100})
	wantErr(t, err, ErrBodyTooLarge, "Read error with")
}

func TestCheckTLS(t *testing.T) {
	sni := make(chan string, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(apacheHandler))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni <- h.ServerName
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	tg := serverTarget(t, srv.URL)
	tg.TLS = true
	tg.Digest = mustDigest(t, "c7b4690c8c46625ef0f328cd7a24a0a3")
	for _, name := range []string{"", "keepalive.example.org"} {
		tg.ServerName = name
		if _, err := Check(testCtx(t), tg); err != nil {
			t.Fatal(err)
		}
		if got := <-sni; got != name {
			t.Errorf("SNI %q, want %q", got, name)
		}
	}
}

func TestCheckTLSErrors(t *testing.T) {
	// A plain HTTP server answering a ClientHello.
	addr := rawServer(t, func(c net.Conn) {
		c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
	})
	_, err := Check(testCtx(t), Target{Addr: addr, Path: "/", Timeout: 5 * time.Second, TLS: true})
	wantErr(t, err, ErrTLS, "SSL handshake/communication error connecting to")

	// A clean TLS close before any header is "SSL read error from".
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	srv.StartTLS()
	defer srv.Close()
	tg := serverTarget(t, srv.URL)
	tg.TLS = true
	_, err = Check(testCtx(t), tg)
	wantErr(t, err, ErrNoData, "SSL read error from")
}

func TestCheckTimingsUseInjectedClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(apacheHandler))
	defer srv.Close()
	base := time.Unix(1000, 0)
	ticks := 0
	clock := func() time.Time { ticks++; return base.Add(time.Duration(ticks) * time.Millisecond) }
	res, err := Check(testCtx(t), serverTarget(t, srv.URL), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	// start=1, connect=2, sent=3, first byte=4, total=last tick.
	if res.Timings.Connect != time.Millisecond || res.Timings.FirstByte != time.Millisecond ||
		res.Timings.Total != time.Duration(ticks-1)*time.Millisecond {
		t.Fatalf("timings %+v after %d ticks", res.Timings, ticks)
	}
}

func TestPickers(t *testing.T) {
	if got := PickVirtualHost("", "chk", "rs", "vs"); got != "chk" {
		t.Error(got)
	}
	if got := PickVirtualHost("", "", "", ""); got != "" {
		t.Error(got)
	}
	if got := PickServerName(true, "", "", "vs"); got != "vs" {
		t.Error(got)
	}
	if got := PickServerName(false, "u", "", "vs"); got != "" {
		t.Error(got)
	}
}
