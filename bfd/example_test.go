package bfd_test

import (
	"fmt"
	"time"

	"keepalived-go/bfd"
	"keepalived-go/bfd/packet"
)

// A session is driven by events carrying the time; its actions are what
// the shell sends, reports and logs.
func Example() {
	discr := uint32(0x10)
	s := bfd.New(bfd.Config{Name: "gw", MinRx: 50000, MinTx: 50000, IdleTx: 1000000, Multiplier: 3, TTL: 255},
		bfd.Env{Random: func() uint32 { return 0 }, NewDiscr: func() uint32 { discr++; return discr }})
	show := func(acts []bfd.Action) {
		for _, a := range acts {
			switch a := a.(type) {
			case bfd.Send:
				fmt.Printf("send %v discr %#x your %#x poll %v\n", a.Packet.State, a.Packet.MyDiscr, a.Packet.YourDiscr, a.Packet.Poll)
			case bfd.Notify:
				fmt.Printf("event up=%v\n", a.Up)
			case bfd.Log:
				fmt.Printf("log %q\n", a.Text)
			}
		}
	}
	show(s.Step(bfd.Start{Now: 0}))
	// The neighbour answers Init (still offering its 1 s idle interval):
	// Up at once, and the next packet polls for min_tx.
	show(s.Step(bfd.Received{Now: 10 * time.Millisecond, TTL: 255, Packet: &packet.Control{
		Version: 1, State: packet.Init, DetectMult: 3, MyDiscr: 0x99, YourDiscr: s.LocalDiscr(),
		DesiredMinTx: 1000000, RequiredMinRx: 50000}}))
	next, _ := s.Deadline()
	show(s.Step(bfd.Tick{Now: next}))
	// Output:
	// event up=false
	// send Down discr 0x11 your 0x0 poll false
	// log "     Detection time is 3000000 us (was 0 us)"
	// log "(gw) Entering Up state"
	// event up=true
	// send Up discr 0x11 your 0x99 poll true
}
