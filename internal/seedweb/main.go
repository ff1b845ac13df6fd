// Command seedweb is the web server of the seed scenario's tests and demo:
// it serves the Apache default page (whose MD5 is the seed's HTTP_GET
// digest) on every path, and writes an access log line per request, so the
// split between nodes is counted from the logs as in the original write-up.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

const page = "<html><body><h1>It works!</h1></body></html>"

func main() {
	listen := flag.String("listen", ":80", "address to listen on")
	logPath := flag.String("log", "", "access log file (default: none)")
	flag.Parse()
	var mu sync.Mutex
	var w *bufio.Writer
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "seedweb:", err)
			os.Exit(1)
		}
		w = bufio.NewWriter(f)
		go func() {
			for range time.Tick(100 * time.Millisecond) {
				mu.Lock()
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprint(rw, page)
		if w != nil {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			mu.Lock()
			fmt.Fprintf(w, "%s - - [%s] \"%s %s %s\" 200 %d\n", host, time.Now().Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.URL.Path, r.Proto, len(page))
			mu.Unlock()
		}
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedweb:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "seedweb: listening on", l.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "seedweb:", srv.Serve(l))
	os.Exit(1)
}
