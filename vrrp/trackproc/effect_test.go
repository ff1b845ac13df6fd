package trackproc

import "testing"

// TestEffectIncremental checks Effect against keepalived's incremental
// arithmetic: initialise_process_tracking_priorities, then
// process_update_track_process_status on every flip.
func TestEffectIncremental(t *testing.T) {
	for _, weight := range []int{-254, -10, 0, 7, 254} {
		for _, reverse := range []bool{false, true} {
			mult := 1
			if reverse {
				mult = -1
			}
			for _, start := range []bool{false, true} {
				// keepalived's initial total.
				total := 0
				if start && weight > 0 || !start && weight < 0 {
					total += weight * mult
				}
				faults := 0
				if weight == 0 && start != (mult == 1) {
					faults = 1
				}
				up := start
				for range 4 {
					d, f := Effect(up, weight, reverse)
					if weight != 0 && d != total || (faults == 1) != f {
						t.Fatalf("w %d rev %v up %v: Effect %d %v, keepalived %d faults %d", weight, reverse, up, d, f, total, faults)
					}
					up = !up
					if weight == 0 {
						if up == (mult == 1) {
							faults--
						} else {
							faults++
						}
					} else if (weight > 0) == up {
						total += weight * mult
					} else {
						total -= weight * mult
					}
				}
			}
		}
	}
}
