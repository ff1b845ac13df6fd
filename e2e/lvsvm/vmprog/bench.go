package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"keepalived-go/lvs"
)

// benchConfig returns a keepalived.conf with n services of d destinations
// each, the same table as benchRules, and the same with one weight
// changed.
func benchConfig(n, d int, changed bool) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		port := 1000 + i
		fmt.Fprintf(&b, "virtual_server 198.51.100.10 %d {\n lb_algo rr\n lb_kind DR\n protocol TCP\n", port)
		for j := 1; j <= d; j++ {
			w := 1
			if changed && i == n/2 && j == 3 {
				w = 2
			}
			fmt.Fprintf(&b, " real_server 203.0.113.%d %d {\n  weight %d\n }\n", j, port, w)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// benchRules is the ipvsadm -R input for the same table.
func benchRules(n, d int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		port := 1000 + i
		fmt.Fprintf(&b, "-A -t 198.51.100.10:%d -s rr\n", port)
		for j := 1; j <= d; j++ {
			fmt.Fprintf(&b, "-a -t 198.51.100.10:%d -r 203.0.113.%d:%d -g -w 1\n", port, j, port)
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }

// bench compares programming the table cold with ipvsadm -R (what
// ipvsadm-restore runs) and with our Manager, then applies one change.
func bench(args []string) error {
	n, d, rounds := 1000, 10, 2
	if len(args) >= 2 {
		n, _ = strconv.Atoi(args[0])
		d, _ = strconv.Atoi(args[1])
	}
	if err := os.WriteFile("/tmp/bench.conf", []byte(benchConfig(n, d, false)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile("/tmp/bench2.conf", []byte(benchConfig(n, d, true)), 0o644); err != nil {
		return err
	}
	rules := benchRules(n, d)
	var out strings.Builder
	fmt.Fprintf(&out, "table: %d services x %d destinations\n", n, d)
	for r := 1; r <= rounds; r++ {
		exec.Command("ipvsadm", "-C").Run()
		cmd := exec.Command("ipvsadm", "-R")
		cmd.Stdin = strings.NewReader(rules)
		t0 := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ipvsadm -R: %v: %s", err, b)
		}
		restore := time.Since(t0)
		if got := services(ipvsadmOut("-Ln")); got != n {
			return fmt.Errorf("ipvsadm -R programmed %d services", got)
		}
		fmt.Fprintf(&out, "round %d ipvsadm-restore cold: %s, %d rules = netlink writes (ipvsadm sends one request per rule; not counted)\n", r, ms(restore), n*(d+1))
		exec.Command("ipvsadm", "-C").Run()

		t0 = time.Now()
		cfg, err := loadConfig("/tmp/bench.conf")
		if err != nil {
			return err
		}
		cfg2, err := loadConfig("/tmp/bench2.conf")
		if err != nil {
			return err
		}
		parse := time.Since(t0) / 2
		var ipvs *lvs.IPVS
		t0 = time.Now()
		m, stop, err := startManager(cfg, lvs.Options{Open: func(string) (lvs.Backend, error) {
			b, err := lvs.OpenIPVS()
			ipvs = b
			return b, err
		}})
		if err != nil {
			return err
		}
		cold := time.Since(t0)
		c := ipvs.Counters()
		if got := services(ipvsadmOut("-Ln")); got != n {
			return fmt.Errorf("manager programmed %d services", got)
		}
		fmt.Fprintf(&out, "round %d keepalived-go cold: %s, %d netlink writes, %d reads (config load %s not included); ratio to restore %.2f\n",
			r, ms(cold), c.Writes, c.Reads, ms(parse), float64(cold)/float64(restore))

		key := lvs.RSKey{VS: fmt.Sprintf("[198.51.100.10]:tcp:%d", 1000+n/2), RS: fmt.Sprintf("[203.0.113.3]:tcp:%d", 1000+n/2)}
		c0 := ipvs.Counters()
		t0 = time.Now()
		if err := m.SetHealth(key, false, -1); err != nil {
			return err
		}
		dt := time.Since(t0)
		c1 := ipvs.Counters()
		fmt.Fprintf(&out, "round %d one change (checker down): %s, %d netlink writes, %d reads\n", r, ms(dt), c1.Writes-c0.Writes, c1.Reads-c0.Reads)
		if err := m.SetHealth(key, true, -1); err != nil {
			return err
		}

		c0 = ipvs.Counters()
		t0 = time.Now()
		if err := m.Reload(cfg2); err != nil {
			return err
		}
		dt = time.Since(t0)
		c1 = ipvs.Counters()
		fmt.Fprintf(&out, "round %d one change (reload, weight): %s, %d netlink writes, %d reads (full table listed)\n", r, ms(dt), c1.Writes-c0.Writes, c1.Reads-c0.Reads)

		t0 = time.Now()
		if err := stop(); err != nil {
			return err
		}
		fmt.Fprintf(&out, "round %d release on stop: %s\n", r, ms(time.Since(t0)))
		if got := services(ipvsadmOut("-Ln")); got != 0 {
			return fmt.Errorf("%d services left", got)
		}
	}
	section("bench", out.String())
	return nil
}
