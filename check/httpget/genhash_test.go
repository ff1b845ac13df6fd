package httpget

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestKeepalivedGenhashUsage(t *testing.T) {
	var out, errb bytes.Buffer
	code := KeepalivedGenhashMain(context.Background(), []string{"keepalived", "-T"}, 2, &out, &errb)
	if code != 1 || !strings.HasPrefix(errb.String(), "Usage: keepalived --genhash COMMAND [OPTIONS]\n") || out.Len() != 0 {
		t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
	}
	// With -T the sanity check counts keepalived's whole command line, so
	// one bad option is reported (genhash alone would print usage only).
	errb.Reset()
	code = KeepalivedGenhashMain(context.Background(), []string{"keepalived", "-T", "-x"}, 2, &out, &errb)
	if code != 1 || !strings.HasPrefix(errb.String(), "Unknown option -x\nUsage: keepalived --genhash") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
}

func TestKeepalivedGenhashRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(apacheHandler))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var out, errb bytes.Buffer
	argv := []string{"keepalived", "-D", "-T", "-s", host, "-p", port, "-u", "/apache2-default/"}
	if code := KeepalivedGenhashMain(context.Background(), argv, 3, &out, &errb); code != 0 {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
	if out.String() != "c7b4690c8c46625ef0f328cd7a24a0a3\n" || errb.Len() != 0 {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
}

func TestGenhashCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := rawServer(t, func(c net.Conn) {
		readRequest(c)
		cancel()
		hold(c)
	})
	var out, errb bytes.Buffer
	code := GenhashMain(ctx, []string{"genhash", "-s", addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port())), "-u", "/x", "-v"}, &out, &errb)
	if code != 0 || !strings.HasPrefix(out.String(), "\nGlobal response time for [/x] = ") || errb.Len() != 0 {
		t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}

func TestGetoptPermutation(t *testing.T) {
	argv := []string{"genhash", "a", "-v", "b", "--url", "/u", "c", "--", "-s", "d"}
	g := newGetopt(argv, 1, genhashFlags("genhash"))
	var seen []string
	for {
		c := g.next()
		if c == getoptEnd {
			break
		}
		seen = append(seen, string(rune(c))+g.optarg)
	}
	if got := strings.Join(seen, ","); got != "v,u/u" {
		t.Errorf("options %q", got)
	}
	if got := strings.Join(argv[g.optind:], " "); got != "a b c -s d" {
		t.Errorf("non-options %q (optind %d, argv %q)", got, g.optind, argv)
	}
}

func TestGetoptLongAbbreviations(t *testing.T) {
	for arg, want := range map[string]int{
		"--serv=x": 's', "--use-v=x": 'V', "--use-s": getoptUnknown, "--p=1": getoptUnknown,
		"--verbose": 'v', "--verbose=1": getoptUnknown, "--nope": getoptUnknown, "--url": getoptMissing,
	} {
		g := newGetopt([]string{"genhash", arg}, 1, genhashFlags("genhash"))
		if got := g.next(); got != want {
			t.Errorf("%s: got %q want %q", arg, rune(got), rune(want))
		}
	}
}
