package httpget_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"keepalived-go/check/httpget"
)

func ExampleCheck() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body><h1>It works!</h1></body></html>")
	}))
	defer srv.Close()

	want, _ := httpget.ParseDigest("c7b4690c8c46625ef0f328cd7a24a0a3")
	t := httpget.Target{
		Addr:        netip.MustParseAddrPort(srv.Listener.Addr().String()),
		Path:        "/apache2-default/",
		VirtualHost: "keepalive.example.org",
		Timeout:     3 * time.Second,
		Digest:      &want,
	}
	res, err := httpget.Check(context.Background(), t)
	fmt.Println(res.StatusCode, res.Digest, err)

	t.Digest = &httpget.Digest{}
	_, err = httpget.Check(context.Background(), t)
	fmt.Println(errors.Is(err, httpget.ErrDigestMismatch), err)
	// Output:
	// 200 c7b4690c8c46625ef0f328cd7a24a0a3 <nil>
	// true MD5 digest error to
}
