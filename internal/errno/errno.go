// Package errno reads the system error inside a Go error the way
// keepalived prints one: its number, and glibc's wording (%m, strerror)
// with its first letter capitalised.
package errno

import (
	"errors"
	"syscall"
)

// Of is the errno inside err, 0 if none.
func Of(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

// Text is strerror's wording for the errno inside err ("Network is
// unreachable"), or err's own text when it holds no errno.
func Text(err error) string {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := e.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
