// Command regexweb serves the pages of the HTTP_GET regex comparison
// (check/regex_vm_test.go): one TCP port per page, on the address given,
// with Go's net/http server. A page's mode says how its body goes out:
// "plain" (Content-Length, one write), "chunked" (several flushed writes:
// chunked transfer coding for HTTP/1.1 requests) or "slow" (Content-Length,
// several writes 20 ms apart, so the client reads it in pieces).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Page is one page of the spec file.
type Page struct {
	Port   int    `json:"port"`
	Status int    `json:"status"`
	Mode   string `json:"mode"`
	Body   string `json:"body"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: regexweb ADDR SPEC.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var pages []Page
	if err := json.Unmarshal(data, &pages); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, p := range pages {
		ln, err := net.Listen("tcp", net.JoinHostPort(os.Args[1], strconv.Itoa(p.Port)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go http.Serve(ln, handler(p))
	}
	fmt.Println("regexweb: serving", len(pages), "pages")
	select {}
}

func handler(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		status := p.Status
		if status == 0 {
			status = http.StatusOK
		}
		if p.Mode != "chunked" {
			w.Header().Set("Content-Length", strconv.Itoa(len(p.Body)))
		}
		w.WriteHeader(status)
		if p.Mode == "plain" {
			w.Write([]byte(p.Body))
			return
		}
		f, _ := w.(http.Flusher)
		for i := 0; i < len(p.Body); i += 1000 {
			w.Write([]byte(p.Body[i:min(i+1000, len(p.Body))]))
			if f != nil {
				f.Flush()
			}
			if p.Mode == "slow" {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
