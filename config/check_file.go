package config

import "keepalived-go/parser"

// FILE_CHECK: check/check_file.c's configuration (add_rs_to_track_files'
// keywords: track_file, weight; file_end_handler). A FILE_CHECK is kept on
// the real server, not queued; the model gets one Checker per FILE_CHECK
// (rsState.model).

// FileCheck is the FILE_CHECK block.
const FileCheck CheckerKind = "FILE_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: FileCheck, order: 9, keywords: (*checkState).fileKeywords,
		start: (*checkState).fileStart, end: (*checkState).fileEnd, retry: 1, dbr: timerHz})
}

// FileOptions holds FILE_CHECK settings.
type FileOptions struct {
	TrackFile     string
	Weight        int
	WeightReverse bool
}

func (*FileOptions) isCheckerOptions() {}

// FileOpts are a FILE_CHECK's settings (nil for another kind).
func (c *Checker) FileOpts() *FileOptions {
	o, _ := c.Options.(*FileOptions)
	return o
}

func (s *checkState) fileStart(parser.Strvec) {
	if _, rs := s.curRS(); rs != nil {
		rs.ext().trackFiles = append(rs.ext().trackFiles, &fileMonitor{pos: s.l.pos(), weight: ipvsWeightFault})
	}
}

// curFile is the last FILE_CHECK of the current real server.
func (s *checkState) curFile() *fileMonitor {
	if _, rs := s.curRS(); rs != nil && rs.extra != nil && len(rs.extra.trackFiles) > 0 {
		return rs.extra.trackFiles[len(rs.extra.trackFiles)-1]
	}
	return nil
}

func (s *checkState) fileKeywords() []*parser.Keyword {
	f := func(h func(*fileMonitor, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if t := s.curFile(); t != nil {
				h(t, v)
			}
		}
	}
	return []*parser.Keyword{
		kw("track_file", f(func(t *fileMonitor, v parser.Strvec) {
			tf := s.l.checkerTrackFile(v.Slot(1))
			if tf == nil {
				s.l.report(parser.SevGeneral, "track_file %s not found", v.Slot(1))
				return
			}
			t.file = tf
		})),
		kw("weight", f(s.fileWeight)),
	}
}

// fileWeight is check_file.c's track_file_weight_handler.
func (s *checkState) fileWeight(t *fileMonitor, v parser.Strvec) {
	if v.Len() < 2 {
		s.l.report(parser.SevGeneral, "track file weight missing")
		return
	}
	w, ok := s.l.readInt(v.Slot(1), -ipvsWeightLimit, ipvsWeightLimit, true)
	if !ok {
		s.l.report(parser.SevGeneral, "weight for track file must be in [%d..%d] inclusive. Ignoring...", -ipvsWeightLimit, ipvsWeightLimit)
		return
	}
	reverse := false
	if v.Len() >= 3 {
		switch v.Slot(2) {
		case "reverse":
			reverse = true
		case "noreverse":
		default:
			s.l.report(parser.SevGeneral, "unknown track file weight option %s - ignoring", v.Slot(2))
			return
		}
	}
	t.weight, t.reverse = int32(w), reverse
}

// fileEnd is check_file.c's file_end_handler.
func (s *checkState) fileEnd() {
	_, rs := s.curRS()
	t := s.curFile()
	if t == nil {
		return
	}
	if t.file == nil {
		s.l.report(parser.SevGeneral, "FILE_CHECK has no track_file specified - ignoring")
		rs.extra.trackFiles = rs.extra.trackFiles[:len(rs.extra.trackFiles)-1]
		return
	}
	if t.weight == ipvsWeightFault {
		t.weight, t.reverse = int32(t.file.Weight), t.file.WeightReverse
	}
}

// checkerTrackFile finds a track_file block the checker's read has seen so
// far (keepalived's find_tracked_file_by_name on check_data->track_files):
// one defined after the virtual server is not found.
func (l *loader) checkerTrackFile(name string) *TrackFile {
	for _, tf := range l.checkTrackFiles {
		if tf.Name == name {
			return tf
		}
	}
	return nil
}
