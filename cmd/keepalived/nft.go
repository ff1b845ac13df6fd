package main

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"keepalived-go/lvs"
)

// openNFT opens the nftables data plane (lvs/nft) once it is built in.
func openNFT(log *logrus.Logger) (lvs.Backend, error) {
	return nil, fmt.Errorf("%w: the nftables data plane is not built into this binary yet", lvs.ErrBackendUnavailable)
}
