package trackproc

// Effect is what a tracked process does to a VRRP instance (or sync
// group member) tracking it with weight and reverse, as keepalived's
// vrrp_track.c applies it:
//
//   - weight 0: the instance is in FAULT while the tracker is down, or,
//     with reverse, while it is up (process_update_track_process_status's
//     down_instance/try_up_instance, and the initial "entering FAULT
//     state (tracked process %s quorum not achieved)").
//   - otherwise the tracker adds delta to the instance's total priority:
//     a positive weight counts while up, a negative one while down, and
//     reverse negates it (weight*multiplier with multiplier -1). The
//     effective priority is the total clamped to 1..254, and an address
//     owner (priority 255) is never changed.
//
// keepalived applies the difference on each change
// (total_priority += or -= weight*multiplier); summing Effect over the
// trackers of an instance gives the same total at every moment.
func Effect(up bool, weight int, reverse bool) (delta int, fault bool) {
	if weight == 0 {
		return 0, up == reverse
	}
	mult := 1
	if reverse {
		mult = -1
	}
	if up && weight > 0 || !up && weight < 0 {
		return weight * mult, false
	}
	return 0, false
}
