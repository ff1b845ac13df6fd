package main

import (
	"context"

	"github.com/sirupsen/logrus"

	"keepalived-go/lvs"
	"keepalived-go/lvs/nft"
)

// openNFT opens the nftables data plane (lvs/nft). The LVS engine gates
// its DR forwarding on VRRP through lvs.ActiveSetter.
func openNFT(log *logrus.Logger) (lvs.Backend, error) {
	b, err := nft.New(nft.Options{Log: logrus.NewEntry(log).WithField("lvs", "nftables")})
	if err != nil {
		return nil, err
	}
	go b.Run(context.Background(), 0)
	return b, nil
}
