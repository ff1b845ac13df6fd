package trackproc

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestMsgRoundTrip(t *testing.T) {
	for _, m := range []Msg{
		{Idx: 1, Val: 1, Seq: 7, Ack: 1, What: EventNone, CPU: 1, Err: 0},
		{Idx: 1, Val: 1, Seq: 8, What: EventFork, ParentPID: 10, ParentTGID: 10, ChildPID: 11, ChildTGID: 11},
		{Idx: 1, Val: 1, Seq: 9, What: EventExec, PID: 11, TGID: 11},
		{Idx: 1, Val: 1, Seq: 10, What: EventComm, PID: 11, TGID: 11, Comm: "kgtp-worker"},
		{Idx: 1, Val: 1, Seq: 11, What: EventExit, PID: 11, TGID: 11},
		{Idx: 1, Val: 1, Seq: 12, What: EventUID, CPU: 1},
	} {
		b := m.Marshal()
		if len(b) != MsgLen || MsgLen != 76 {
			t.Fatalf("length %d, MsgLen %d", len(b), MsgLen)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		m.NlType = nlmsgDone
		if got != m {
			t.Fatalf("got %+v want %+v", got, m)
		}
	}
}

// The comm is the 16-byte field up to its NUL, 15 characters at most.
func TestCommField(t *testing.T) {
	b := Msg{Idx: 1, Val: 1, What: EventComm, PID: 1, TGID: 1, Comm: "0123456789abcdefgh"}.Marshal()
	m, err := Decode(b)
	if err != nil || m.Comm != "0123456789abcde" {
		t.Fatalf("%q %v", m.Comm, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Msg{Idx: 1, Val: 1, What: EventFork}.Marshal()
	le := binary.NativeEndian
	cases := map[string][]byte{
		"empty":     nil,
		"short hdr": good[:15],
		"len > buf": good[:40],
		"len < hdr": func() []byte { b := append([]byte(nil), good...); le.PutUint32(b, 8); return b }(),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrNotOK) {
			t.Errorf("%s: %v", name, err)
		}
	}
	b := append([]byte(nil), good...)
	le.PutUint32(b, 16+20+16+8) // a fork event needs 16 bytes of data
	if _, err := Decode(b); !errors.Is(err, ErrShort) {
		t.Errorf("short fork: %v", err)
	}
	// Error and noop messages carry no event.
	le.PutUint16(b[4:6], nlmsgError)
	if m, err := Decode(b); err != nil || m.NlType != nlmsgError {
		t.Errorf("error message: %+v %v", m, err)
	}
}

func TestListenRequest(t *testing.T) {
	b := listenRequest(true, 42)
	le := binary.NativeEndian
	if len(b) != 40 || le.Uint32(b) != 40 || le.Uint16(b[4:]) != nlmsgDone || le.Uint32(b[12:]) != 42 ||
		le.Uint32(b[16:]) != CnIdxProc || le.Uint32(b[20:]) != CnValProc || le.Uint16(b[32:]) != 4 || le.Uint32(b[36:]) != mcastListen {
		t.Fatalf("% x", b)
	}
	if b := listenRequest(false, 0); le.Uint32(b[36:]) != mcastIgnore {
		t.Fatalf("ignore: % x", b)
	}
}

// FuzzDecode: any input decodes or fails without panicking, and a decoded
// event encodes back to a message that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(Msg{Idx: 1, Val: 1, What: EventComm, PID: 3, TGID: 3, Comm: "x"}.Marshal())
	f.Add(Msg{Idx: 1, Val: 1, What: EventFork, ParentTGID: 1, ChildPID: 2, ChildTGID: 2}.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil || m.NlType == nlmsgError || m.NlType == nlmsgNoop {
			return
		}
		m2, err := Decode(m.Marshal())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		m.NlType, m2.NlType = 0, 0
		if m != m2 {
			t.Fatalf("%+v != %+v", m, m2)
		}
	})
}
