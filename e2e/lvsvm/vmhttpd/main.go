// Command vmhttpd is the web server of the LVS VM tests: it serves the
// Apache default page of the seed scenario (whose MD5 is the seed's
// HTTP_GET digest) on every address:port given, until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

const page = "<html><body><h1>It works!</h1></body></html>"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmhttpd addr:port...")
		os.Exit(2)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	})
	errs := make(chan error)
	for _, a := range os.Args[1:] {
		l, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmhttpd:", err)
			os.Exit(1)
		}
		go func() { errs <- http.Serve(l, h) }()
	}
	fmt.Println("vmhttpd: listening on", os.Args[1:])
	fmt.Fprintln(os.Stderr, "vmhttpd:", <-errs)
	os.Exit(1)
}
