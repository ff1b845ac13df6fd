//go:build race

package pcre

// raceEnabled: the race detector slows the translated interpreter about
// fifty-fold, and its single-goroutine matches have nothing to race.
const raceEnabled = true
