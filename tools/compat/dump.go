package main

import (
	"context"
	"fmt"
	"os"
)

func dumpMode(ctx context.Context, c config, items []item, tmp string) int {
	fmt.Fprintln(os.Stderr, "compat: dump mode: TODO")
	return 2
}
