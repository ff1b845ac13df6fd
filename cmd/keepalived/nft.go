package main

import (
	"context"
	"net/netip"
	"sync"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/lvs/nft"
)

// nftPlane is the nftables data plane of this daemon, when it is the one in
// use: the LVS manager programs it, and VRRP states switch DR forwarding on
// only where this node holds the VIP.
type nftPlane struct {
	mu      sync.Mutex
	backend *nft.Backend
	// vips maps each VRRP instance to its VIPs, so a state change knows
	// which services to switch.
	vips map[string][]netip.Addr
}

// openNFT opens the nftables data plane (lvs/nft).
func (plane *nftPlane) open(log *logrus.Logger) (lvs.Backend, error) {
	b, err := nft.New(nft.Options{Log: logrus.NewEntry(log).WithField("lvs", "nftables")})
	if err != nil {
		return nil, err
	}
	plane.mu.Lock()
	plane.backend = b
	plane.mu.Unlock()
	go b.Run(context.Background(), 0)
	return b, nil
}

// configureVIPs records which VIPs each VRRP instance carries.
func (p *nftPlane) configureVIPs(cfg *config.Config) {
	m := map[string][]netip.Addr{}
	for _, in := range cfg.Instances {
		for _, v := range in.VIPs {
			m[in.Name] = append(m[in.Name], v.Prefix.Addr())
		}
	}
	p.mu.Lock()
	p.vips = m
	p.mu.Unlock()
}

// setMaster switches DR forwarding for an instance's VIPs.
func (p *nftPlane) setMaster(log *logrus.Logger, instance string, master bool) {
	p.mu.Lock()
	b, vips := p.backend, p.vips[instance]
	p.mu.Unlock()
	if b == nil {
		return
	}
	for _, vip := range vips {
		if err := b.SetActive(vip, master); err != nil {
			log.Errorf("nftables: %s forwarding for %s: %v", map[bool]string{true: "enable", false: "disable"}[master], vip, err)
		}
	}
}
