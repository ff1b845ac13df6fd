// Command keepalived is keepalived-go's daemon: a drop-in for keepalived 2.2.7
// that reads the same keepalived.conf and accepts the same command line.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
