package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// sample is one request of the load generator.
type sample struct {
	start, end time.Time
	ok         bool
	err        string // why it failed
}

// load sends requests through the VIP from the client namespace, a new
// connection each (as ab does without -k), with conc workers until stop is
// closed or limit requests were made. Every request is timestamped, so
// failures can be placed in time.
func (s *seed) load(conc, limit int, stop <-chan struct{}) []sample {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.client.Dial(network, addr)
		},
	}}
	var mu sync.Mutex
	var out []sample
	var wg sync.WaitGroup
	count := 0
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				if count >= limit {
					mu.Unlock()
					return
				}
				count++
				mu.Unlock()
				st := time.Now()
				resp, err := client.Get("http://" + vip + "/")
				ok := err == nil
				if ok {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = err == nil && resp.StatusCode == 200
					if err == nil && !ok {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				why := ""
				if err != nil {
					why = err.Error()
				}
				mu.Lock()
				out = append(out, sample{st, time.Now(), ok, why})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// failures summarises failed requests: count, and the span from the first
// failed request's start to the last one's end.
func failures(samples []sample) (n int, first, last time.Time) {
	for _, x := range samples {
		if x.ok {
			continue
		}
		n++
		if first.IsZero() || x.start.Before(first) {
			first = x.start
		}
		if x.end.After(last) {
			last = x.end
		}
	}
	return n, first, last
}
