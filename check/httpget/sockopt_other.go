//go:build !linux

package httpget

import (
	"errors"
	"syscall"
)

func control(t Target) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		if t.FWMark != 0 || t.BindInterface != "" {
			return &sockoptError{errors.New("fwmark and bind_if need Linux")}
		}
		return nil
	}
}
