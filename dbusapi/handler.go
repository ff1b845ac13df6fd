package dbusapi

import (
	"github.com/godbus/dbus/v5"
)

// godbus answers org.freedesktop.DBus.Peer itself, before any handler, and
// its GetMachineId returns the bus GUID where GDBus returns the machine ID.
// The incoming interceptor renames the interface of Peer calls to a name no
// message can carry on the wire (the '!' is invalid there), so they reach
// our handler, which restores it.
const peerMarker = ifacePeer + "!"

func markPeerCalls(msg *dbus.Message) {
	if msg.Type != dbus.TypeMethodCall {
		return
	}
	if v, ok := msg.Headers[dbus.FieldInterface]; ok {
		if name, _ := v.Value().(string); name == ifacePeer {
			msg.Headers[dbus.FieldInterface] = dbus.MakeVariant(peerMarker)
		}
	}
}

// gdbusReplies makes replies look like GDBus's: NO_REPLY_EXPECTED set on
// returns and errors, and an orderedDict typed a{sv}.
func gdbusReplies(msg *dbus.Message) {
	if msg.Type != dbus.TypeMethodReply && msg.Type != dbus.TypeError {
		return
	}
	msg.Flags |= dbus.FlagNoReplyExpected
	if len(msg.Body) == 1 {
		if _, ok := msg.Body[0].(orderedDict); ok {
			msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.ParseSignatureMust("a{sv}"))
		}
	}
}

// handler routes every call, whatever its path, interface and member, to
// Service.dispatch: GDBus's answers for unknown objects, interfaces and
// methods differ from godbus's, so none of godbus's lookups may fail.
type handler struct{ s *Service }

func (h handler) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) { return h, true }

func (h handler) LookupInterface(string) (dbus.Interface, bool) { return h, true }

func (h handler) LookupMethod(string) (dbus.Method, bool) { return methodCall{s: h.s}, true }

// methodCall is one method call; DecodeArguments hands it the whole message.
type methodCall struct{ s *Service }

func (c methodCall) DecodeArguments(_ *dbus.Conn, _ string, msg *dbus.Message, _ []any) ([]any, error) {
	return []any{msg}, nil
}

func (c methodCall) Call(args ...any) ([]any, error) {
	msg := args[0].(*dbus.Message)
	req := request{Body: msg.Body}
	if v, ok := msg.Headers[dbus.FieldPath]; ok {
		p, _ := v.Value().(dbus.ObjectPath)
		req.Path = string(p)
	}
	if v, ok := msg.Headers[dbus.FieldInterface]; ok {
		req.Interface, _ = v.Value().(string)
		req.HasIface = true
		if req.Interface == peerMarker {
			req.Interface = ifacePeer
		}
	}
	if v, ok := msg.Headers[dbus.FieldMember]; ok {
		req.Member, _ = v.Value().(string)
	}
	if v, ok := msg.Headers[dbus.FieldSignature]; ok {
		sig, _ := v.Value().(dbus.Signature)
		req.Signature = sig.String()
	}
	r := c.s.dispatch(req)
	if r.Err != nil {
		return nil, r.Err
	}
	return r.Body, nil
}

func (c methodCall) NumArguments() int     { return 1 }
func (c methodCall) NumReturns() int       { return 0 }
func (c methodCall) ArgumentValue(int) any { return nil }
func (c methodCall) ReturnValue(int) any   { return nil }
