package main

import (
	"fmt"
	"os"
)

// writeDump is filled in with keepalived's /tmp/keepalived.{data,stats,json}
// formats (issue 7); until then the signal is logged, not ignored.
func writeDump(d *daemon, s os.Signal) error {
	return fmt.Errorf("state dumps are not implemented yet")
}
