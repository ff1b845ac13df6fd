package config

import "keepalived-go/parser"

// trackFileKeywords is add_track_file_keywords (trackers/track_file.c):
// track_file and its deprecated synonym vrrp_track_file, known to the
// checker and VRRP processes.
func (l *loader) trackFileKeywords(active bool) []*parser.Keyword {
	return []*parser.Keyword{
		{Name: "track_file", Inactive: !active},
		{Name: "vrrp_track_file", Inactive: !active},
	}
}
