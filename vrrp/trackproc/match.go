package trackproc

import (
	"bytes"
	"math"
	"strings"
	"time"

	"keepalived-go/config"
)

// Match is a vrrp_track_process's param_match.
type Match uint8

// The param_match kinds, as keepalived's check_params applies them. Note
// that keepalived's code, not its enum comments, defines them: "partial"
// needs the configured parameters to be the first whole parameters of the
// command line, "initial" lets the last configured parameter be a prefix
// of the process's parameter.
const (
	MatchNone    Match = iota // comm or argv[0] only
	MatchExact                // the parameters are exactly these
	MatchInitial              // these, the last one possibly cut short
	MatchPartial              // these first, possibly followed by more
)

// Unlimited is quorum_max when none is set (keepalived's UINT_MAX).
const Unlimited = math.MaxUint32

// Spec is one vrrp_track_process as the monitor uses it.
type Spec struct {
	Name           string
	Process        string // comm (15 characters at most to ever match) or argv[0]
	Params         []byte // NUL-terminated parameters, nil if none
	Match          Match
	FullCommand    bool
	Quorum         uint32
	QuorumMax      uint32 // Unlimited if not set
	ForkDelay      time.Duration
	TerminateDelay time.Duration
}

// SpecOf converts the configuration's vrrp_track_process.
func SpecOf(p *config.TrackProcess) Spec {
	s := Spec{
		Name:           p.Name,
		Process:        p.Process,
		FullCommand:    p.FullCommand,
		Quorum:         uint32(max(p.Quorum, 0)),
		QuorumMax:      Unlimited,
		ForkDelay:      p.ForkDelay,
		TerminateDelay: p.TerminateDelay,
	}
	if p.QuorumMax >= 0 {
		s.QuorumMax = uint32(p.QuorumMax)
	}
	if len(p.Params) > 0 {
		s.Params = []byte(strings.Join(p.Params, "\x00") + "\x00")
	}
	switch p.ParamMatch {
	case "exact":
		s.Match = MatchExact
	case "initial":
		s.Match = MatchInitial
	case "partial":
		s.Match = MatchPartial
	}
	return s
}

// nameLen is what the process adds to keepalived's
// vrrp_max_process_name_len: the name and the parameters with their NULs.
func (s *Spec) nameLen() int {
	return len(s.Process) + 1 + len(s.Params)
}

// matches is the test of keepalived's read_procs and check_process: the
// comm (or, for full_command, argv[0] of the command line read) equals
// the process, and the parameters pass param_match. cmdline is the
// command line as read, possibly cut short.
func (s *Spec) matches(comm string, cmdline []byte) bool {
	if !s.FullCommand {
		return comm == s.Process
	}
	name, rest, terminated := cmdline, []byte(nil), false
	if i := bytes.IndexByte(cmdline, 0); i >= 0 {
		name, rest, terminated = cmdline[:i], cmdline[i+1:], true
	}
	if string(name) != s.Process {
		return false
	}
	if s.Match == MatchNone {
		return true
	}
	return s.checkParams(rest, terminated)
}

// checkParams is keepalived's check_params. When argv[0] was not followed
// by a NUL (a process that rewrote its command line), keepalived computes
// a parameter length of -1 as a size_t: nothing matches exactly, and a
// prefix comparison meets the zeroed rest of its buffer and fails unless
// there is nothing to compare.
func (s *Spec) checkParams(params []byte, terminated bool) bool {
	if !terminated {
		switch {
		case s.Match == MatchExact:
			return false
		case s.Params == nil:
			return true
		case s.Match == MatchInitial:
			return len(s.Params) == 1
		default:
			return false
		}
	}
	if s.Match == MatchExact && s.Params == nil && len(params) == 0 {
		return true
	}
	if len(params) < len(s.Params) {
		return false
	}
	if s.Match == MatchExact {
		return len(params) == len(s.Params) && (s.Params == nil || bytes.Equal(params, s.Params))
	}
	if s.Params == nil {
		return true
	}
	if s.Match == MatchPartial {
		return bytes.Equal(params[:len(s.Params)], s.Params)
	}
	return len(s.Params) == 1 || bytes.Equal(params[:len(s.Params)-1], s.Params[:len(s.Params)-1])
}
