// Command checkbench measures the check engine: 10,000 real servers with
// HTTP_GET (the seed's checker: digest, delay_loop 1) against a local HTTP
// farm on 127.0.0.0/8. Run by bench/check.sh: one process serves the farm,
// another (GOMAXPROCS=1) runs the checks, so the numbers are the checker's.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"keepalived-go/check"
	"keepalived-go/config"
)

const page = "<html><body><h1>It works!</h1></body></html>"

var response = []byte(fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(page), page))

func main() {
	mode := flag.String("mode", "check", "farm | check")
	addrs := flag.Int("addrs", 8, "farm addresses 127.0.0.2...")
	ports := flag.Int("ports", 16, "farm ports per address")
	base := flag.Int("port", 20080, "first farm port")
	servers := flag.Int("rs", 10000, "real servers")
	dur := flag.Duration("d", 30*time.Second, "run time")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if *mode == "farm" {
		farm(*addrs, *ports, *base)
		return
	}
	run(*addrs, *ports, *base, *servers, *dur)
}

func farm(addrs, ports, base int) {
	for a := range addrs {
		for p := range ports {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", 2+a, base+p))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go serve(c)
				}
			}()
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 1024)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) <= 2 {
			break
		}
	}
	_, _ = c.Write(response)
}

func run(addrs, ports, base, servers int, dur time.Duration) {
	cfg := &config.Config{}
	perVS := addrs * ports
	for i := 0; i < servers; i += perVS {
		vs := &config.VirtualServer{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i/perVS%200)}), Port: 80 + i/perVS/200,
			Protocol: "TCP", VirtualHost: "keepalive.example.org"}
		for j := 0; j < perVS && i+j < servers; j++ {
			rs := &config.RealServer{Addr: netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + j%addrs)}), Port: base + j/addrs, Weight: 100}
			rs.Checkers = []*config.Checker{{
				Kind: config.HTTPGet, DelayLoop: time.Second, Warmup: time.Second, ConnectTimeout: 3 * time.Second,
				Retry: 3, DelayBeforeRetry: 3 * time.Second,
				Options: &config.HTTPOptions{Protocol: "1.0", URLs: []config.URL{{Path: "/apache2-default/",
					Digest: "c7b4690c8c46625ef0f328cd7a24a0a3", StatusCodes: []config.StatusRange{{Min: 200, Max: 299}}}}},
			}}
			vs.RealServers = append(vs.RealServers, rs)
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	var (
		mu        sync.Mutex
		lat       []time.Duration
		counting  atomic.Bool
		total     atomic.Int64
		fails     atomic.Int64
		falseDown atomic.Int64
	)
	lat = make([]time.Duration, 0, 400000)
	classes := map[string]int{}
	eng, err := check.New(cfg, check.Options{
		OnEvent: func(ev check.RealServerEvent) {
			if !ev.Initial && !ev.Up {
				falseDown.Add(1)
			}
		},
		OnCheck: func(s check.CheckStat) {
			if !counting.Load() {
				return
			}
			total.Add(1)
			mu.Lock()
			if s.Result != check.ResultOK {
				fails.Add(1)
				classes[s.Result]++
			}
			lat = append(lat, s.Duration)
			mu.Unlock()
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	// The first checks start after the 1 s bootstrap delay, spread over
	// the 1 s warmup: measure from 3 s on.
	settle := 3 * time.Second
	var cpu0 time.Duration
	var t0 time.Time
	time.AfterFunc(settle, func() { cpu0 = cpuTime(); t0 = time.Now(); counting.Store(true) })
	// Stop measuring before the end: probes canceled by the shutdown
	// are not check results.
	var elapsed, cpu time.Duration
	time.AfterFunc(dur-500*time.Millisecond, func() {
		counting.Store(false)
		elapsed, cpu = time.Since(t0), cpuTime()-cpu0
	})
	_ = eng.Run(ctx)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(int(float64(len(lat))*q), len(lat)-1)]
	}
	n := total.Load()
	fmt.Printf("real servers        %d (HTTP_GET, digest, delay_loop 1 s) against %d listeners\n", servers, addrs*ports)
	fmt.Printf("measured            %.1f s (after %s settle)\n", elapsed.Seconds(), settle)
	fmt.Printf("checks              %d (%d failed: %v)\n", n, fails.Load(), classes)
	fmt.Printf("sustained checks/s  %.0f\n", float64(n)/elapsed.Seconds())
	fmt.Printf("CPU s / 1000 checks %.4f (%.2f CPU s total, GOMAXPROCS=1)\n", cpu.Seconds()/float64(n)*1000, cpu.Seconds())
	fmt.Printf("peak RSS            %.1f MB\n", float64(ru.Maxrss)/1024)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	mean := time.Duration(0)
	if len(lat) > 0 {
		mean = sum / time.Duration(len(lat))
	}
	fmt.Printf("latency p50/p99/max %s / %s / %s (mean %s)\n", p(0.5).Round(time.Microsecond), p(0.99).Round(time.Microsecond), p(1).Round(time.Microsecond), mean.Round(time.Microsecond))
	fmt.Printf("false downs         %d\n", falseDown.Load())
	ok := float64(n)/elapsed.Seconds() >= 9500 && float64(ru.Maxrss)/1024 < 150 && falseDown.Load() == 0
	if !ok {
		fmt.Println("TARGETS MISSED (>= 9500 checks/s, RSS < 150 MB, 0 false downs)")
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	fmt.Println("targets met (>= 9500 checks/s, RSS < 150 MB, 0 false downs)")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
