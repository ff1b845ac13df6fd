// Command genhash computes the MD5 digest of a web page the way
// keepalived's HTTP_GET/SSL_GET checkers do, for their digest keyword.
// It is a drop-in for keepalived 2.2.7's genhash(1).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"keepalived-go/check/httpget"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return httpget.GenhashMain(ctx, args, stdout, stderr)
}
