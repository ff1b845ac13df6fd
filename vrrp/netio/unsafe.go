package netio

import "unsafe"

// ptr is the one place this package converts to unsafe.Pointer (cmsg
// building for IPV6_PKTINFO).
func ptr[T any](b *T) unsafe.Pointer { return unsafe.Pointer(b) }
