package main

import (
	"context"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
)

// linkInfo is what keepalived's interface_t learns of a link from
// netlink that the dumps print.
type linkInfo struct {
	link netlink.Link
	// base is the underlying interface of a macvlan or ipvlan in this
	// namespace (keepalived's base_ifp); "" for any other link.
	base string
}

// linkTable is the namespace's links by name, read once per dump.
type linkTable map[string]*linkInfo

// readLinks lists the links of the daemon's network namespace; nil when
// netlink cannot be read.
func readLinks() linkTable {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	byIndex := map[int]netlink.Link{}
	for _, l := range ls {
		byIndex[l.Attrs().Index] = l
	}
	t := linkTable{}
	for _, l := range ls {
		li := &linkInfo{link: l}
		switch l.Type() {
		case "macvlan", "macvtap", "ipvlan":
			if p, ok := byIndex[l.Attrs().ParentIndex]; ok && l.Attrs().NetNsID < 0 {
				li.base = p.Attrs().Name
			}
		}
		t[l.Attrs().Name] = li
	}
	return t
}

// base is the underlying interface of name when it is a macvlan or
// ipvlan, else "".
func (t linkTable) base(name string) string {
	if li := t[name]; li != nil {
		return li.base
	}
	return ""
}

// linkWatch follows the namespace's link messages the way keepalived's
// netlink reflector does for its interface list: a link's first message
// (from the initial list, or when it appears) fills its entry, and only a
// later RTM_NEWLINK makes keepalived record the interface's rp_filter
// (interface_t.rp_filter, shown in the dump once set). The value is the
// kernel's at the time of that message.
type linkWatch struct {
	mu       sync.Mutex
	known    map[int]bool
	rpFilter map[string]int
}

// startLinkWatch lists the links and follows their messages until ctx
// ends; nil when netlink cannot be read.
func startLinkWatch(ctx context.Context) *linkWatch {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{}); err != nil {
		return nil
	}
	w := &linkWatch{known: map[int]bool{}, rpFilter: map[string]int{}}
	if ls, err := netlink.LinkList(); err == nil {
		for _, l := range ls {
			w.known[l.Attrs().Index] = true
		}
	}
	go func() {
		<-ctx.Done()
		close(done)
	}()
	go func() {
		for u := range ch {
			w.update(u)
		}
	}()
	return w
}

func (w *linkWatch) update(u netlink.LinkUpdate) {
	idx, name := int(u.Index), u.Attrs().Name
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case u.Header.Type == syscall.RTM_DELLINK:
		delete(w.known, idx)
		delete(w.rpFilter, name)
	case !w.known[idx]:
		w.known[idx] = true
	default:
		if _, ok := w.rpFilter[name]; !ok {
			w.rpFilter[name] = readConf(name, "rp_filter")
		}
	}
}

// rpFilters is a copy of the recorded rp_filter values.
func (w *linkWatch) rpFilters() map[string]int {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.rpFilter)
}

// readConf reads net.ipv4.conf.IFACE.KEY in the daemon's namespace.
func readConf(iface, key string) int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + iface + "/" + key)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
