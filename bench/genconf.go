//go:build ignore

// genconf writes a keepalived.conf with N virtual servers of R real servers
// each, all HTTP_GET-checked, for the parser benchmark. Addresses come from
// 198.51.100.0/24 and 203.0.113.0/24 only; nothing is ever contacted.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("vs", 10000, "virtual servers")
	r := flag.Int("rs", 4, "real servers per virtual server")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "global_defs {\n    router_id BENCH\n}\n\n")
	for i := 0; i < *n; i++ {
		fmt.Fprintf(w, "virtual_server 198.51.100.%d %d {\n", 1+i%250, 1024+i)
		fmt.Fprintf(w, "    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\n")
		for j := 0; j < *r; j++ {
			fmt.Fprintf(w, "    real_server 203.0.113.%d %d {\n        weight 1\n        HTTP_GET {\n", 1+(i*(*r)+j)%250, 1024+i)
			fmt.Fprintf(w, "            url {\n                path /health\n                digest 9b3f4bd2d2e0ba2b8d5d5f3e1e5c3a7b\n            }\n")
			fmt.Fprintf(w, "            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n        }\n    }\n")
		}
		fmt.Fprintf(w, "}\n\n")
	}
}
