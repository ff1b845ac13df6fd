package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netns"
	"keepalived-go/config"
)

// netnsDir is where named network namespaces live (keepalived's netns_dir).
const netnsDir = "/run/netns/"

// enterNamespace gives config.Load the interfaces of the network namespace
// a configuration runs in (net_namespace or -s), as keepalived reads them
// after entering it; an error when the namespace cannot be opened.
func enterNamespace(name string) (config.InterfaceLister, error) {
	if os.Getenv(nsEnv) == name {
		return config.SystemInterfaces(), nil // already inside
	}
	target, err := netns.GetFromPath(netnsDir + name)
	if err != nil {
		return nil, fmt.Errorf("Failed to open %s%s", netnsDir, name)
	}
	defer target.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return nil, err
	}
	ifs := config.SystemInterfaces()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked and is discarded with this goroutine.
		return ifs, nil
	}
	return ifs, nil
}
