//go:build !linux

package config

func linkKinds() map[int]linkKind { return nil }
