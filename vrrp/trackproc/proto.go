package trackproc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The kernel's process-events connector (drivers/connector/cn_proc.c,
// include/uapi/linux/cn_proc.h) sends one netlink message per event:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------------------------------------------------------+
//	|                 nlmsghdr (16 bytes, type NLMSG_DONE)          |
//	+---------------------------------------------------------------+
//	|  cn_msg: idx (CN_IDX_PROC=1) | val (CN_VAL_PROC=1) | seq | ack |
//	|          len (16 bits)       | flags (16 bits)                |
//	+---------------------------------------------------------------+
//	|  proc_event: what | cpu | timestamp_ns (64 bits)              |
//	|              event_data (union, up to 24 bytes)               |
//	+---------------------------------------------------------------+
//
// The nlmsghdr is 16 bytes and cn_msg 20, so proc_event starts at offset
// 36. All fields are in host byte order.

// Connector identifiers and sizes.
const (
	CnIdxProc = 1
	CnValProc = 1

	nlHdrLen      = 16
	cnMsgLen      = 20
	procEvHdrLen  = 16 // what, cpu, timestamp_ns
	procEvDataLen = 24 // the largest union member (exit)
	// MsgLen is the length of one event message as the kernel sends it.
	MsgLen = nlHdrLen + cnMsgLen + procEvHdrLen + procEvDataLen

	nlmsgNoop  = 1
	nlmsgError = 2
	nlmsgDone  = 3
)

// What is proc_event.what.
type What uint32

// The events of enum proc_cn_event that matter here, and the others by
// value so they decode and are ignored.
const (
	EventNone   What = 0x00000000 // the acknowledgement of LISTEN/IGNORE
	EventFork   What = 0x00000001
	EventExec   What = 0x00000002
	EventUID    What = 0x00000004
	EventGID    What = 0x00000040
	EventSID    What = 0x00000080
	EventPtrace What = 0x00000100
	EventComm   What = 0x00000200
	EventCore   What = 0x40000000
	EventExit   What = 0x80000000
)

// mcast ops of enum proc_cn_mcast_op.
const (
	mcastListen = 1
	mcastIgnore = 2
)

// Msg is one decoded process-events message: the netlink type, the
// connector header and the event. Only the fields keepalived reads are
// kept.
type Msg struct {
	NlType     uint16 // nlmsg_type
	Idx, Val   uint32 // cn_msg.id
	Seq, Ack   uint32 // cn_msg.seq, cn_msg.ack
	What       What
	CPU        uint32
	PID, TGID  int32 // exec, comm and exit: process_pid, process_tgid
	ParentPID  int32 // fork: parent_pid
	ParentTGID int32 // fork: parent_tgid
	ChildPID   int32 // fork: child_pid
	ChildTGID  int32 // fork: child_tgid
	Comm       string
	Err        uint32 // ack: err
}

// Decode errors. A message that fails is counted and dropped.
var (
	// ErrNotOK is keepalived's !NLMSG_OK: a header shorter than 16 bytes
	// or claiming more than was received.
	ErrNotOK = errors.New("proc_event !NLMSG_OK")
	// ErrShort is a process-events message too short for its event.
	ErrShort = errors.New("process event message too short")
)

// Decode reads the first netlink message of b, as keepalived's
// handle_proc_ev does (the kernel never chains process events). Error
// and noop messages decode with only NlType set.
func Decode(b []byte) (Msg, error) {
	var m Msg
	if len(b) < nlHdrLen {
		return m, ErrNotOK
	}
	le := binary.NativeEndian
	n := int(le.Uint32(b[0:4]))
	if n < nlHdrLen || n > len(b) {
		return m, ErrNotOK
	}
	m.NlType = le.Uint16(b[4:6])
	if m.NlType == nlmsgError || m.NlType == nlmsgNoop {
		return m, nil
	}
	b = b[:n]
	if len(b) < nlHdrLen+cnMsgLen+procEvHdrLen {
		return m, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	c := b[nlHdrLen:]
	m.Idx, m.Val = le.Uint32(c[0:4]), le.Uint32(c[4:8])
	m.Seq, m.Ack = le.Uint32(c[8:12]), le.Uint32(c[12:16])
	e := c[cnMsgLen:]
	m.What, m.CPU = What(le.Uint32(e[0:4])), le.Uint32(e[4:8])
	d := e[procEvHdrLen:]
	need := 0
	switch m.What {
	case EventNone:
		need = 4
	case EventFork:
		need = 16
	case EventExec, EventExit:
		need = 8
	case EventComm:
		need = 8 + 16
	}
	if len(d) < need {
		return m, fmt.Errorf("%w: %d bytes for event %#x", ErrShort, len(b), uint32(m.What))
	}
	i32 := func(off int) int32 { return int32(le.Uint32(d[off : off+4])) }
	switch m.What {
	case EventNone:
		m.Err = le.Uint32(d[0:4])
	case EventFork:
		m.ParentPID, m.ParentTGID, m.ChildPID, m.ChildTGID = i32(0), i32(4), i32(8), i32(12)
	case EventExec, EventExit:
		m.PID, m.TGID = i32(0), i32(4)
	case EventComm:
		m.PID, m.TGID = i32(0), i32(4)
		// The kernel NUL-terminates the 16 bytes; without a NUL the
		// 16th byte is not part of the name.
		comm := d[8:23]
		for i, c := range comm {
			if c == 0 {
				comm = comm[:i]
				break
			}
		}
		m.Comm = string(comm)
	}
	return m, nil
}

// Marshal encodes m as the kernel would send it (tests and fuzzing use
// it; the daemon only decodes). The comm is cut to 15 bytes.
func (m Msg) Marshal() []byte {
	b := make([]byte, MsgLen)
	le := binary.NativeEndian
	le.PutUint32(b[0:4], MsgLen)
	typ := m.NlType
	if typ == 0 {
		typ = nlmsgDone
	}
	le.PutUint16(b[4:6], typ)
	c := b[nlHdrLen:]
	le.PutUint32(c[0:4], m.Idx)
	le.PutUint32(c[4:8], m.Val)
	le.PutUint32(c[8:12], m.Seq)
	le.PutUint32(c[12:16], m.Ack)
	le.PutUint16(c[16:18], procEvHdrLen+procEvDataLen)
	e := c[cnMsgLen:]
	le.PutUint32(e[0:4], uint32(m.What))
	le.PutUint32(e[4:8], m.CPU)
	d := e[procEvHdrLen:]
	p32 := func(off int, v int32) { le.PutUint32(d[off:off+4], uint32(v)) }
	switch m.What {
	case EventNone:
		le.PutUint32(d[0:4], m.Err)
	case EventFork:
		p32(0, m.ParentPID)
		p32(4, m.ParentTGID)
		p32(8, m.ChildPID)
		p32(12, m.ChildTGID)
	case EventExec, EventExit:
		p32(0, m.PID)
		p32(4, m.TGID)
	case EventComm:
		p32(0, m.PID)
		p32(4, m.TGID)
		comm := m.Comm
		if len(comm) > 15 {
			comm = comm[:15]
		}
		copy(d[8:23], comm)
	}
	return b
}

// listenRequest is set_proc_ev_listen's message: a netlink header of type
// NLMSG_DONE, a cn_msg addressed to the process connector and the mcast
// op.
func listenRequest(enable bool, pid uint32) []byte {
	const n = nlHdrLen + cnMsgLen + 4
	b := make([]byte, n)
	le := binary.NativeEndian
	le.PutUint32(b[0:4], n)
	le.PutUint16(b[4:6], nlmsgDone)
	le.PutUint32(b[12:16], pid)
	c := b[nlHdrLen:]
	le.PutUint32(c[0:4], CnIdxProc)
	le.PutUint32(c[4:8], CnValProc)
	le.PutUint16(c[16:18], 4)
	op := uint32(mcastIgnore)
	if enable {
		op = mcastListen
	}
	le.PutUint32(c[cnMsgLen:], op)
	return b
}
