package iproute

// How the VRRP engine drives this package, on keepalived 2.2.7's
// transitions (vrrp_daemon.c start_vrrp/stop_vrrp, vrrp.c
// vrrp_state_become_master/vrrp_restore_interface, clear_diff_vrrp):
//
//   - Start (not a reload), after the static addresses:
//     RuleList(staticRules, Del, true) to clear leftovers (ENOENT is not an
//     error), then RouteList(staticRoutes, Add, false) and
//     RuleList(staticRules, Add, false), whatever the instances' states.
//     If config.Config.Monitor asks for anything, OpenMonitor with it, and
//     give the Tracker the Handle's PID (OwnPID) and Index.
//   - An instance becomes MASTER: after its VIPs and eVIPs,
//     RouteList(routes, Add, false), then RuleList(rules, Add, false).
//   - It leaves MASTER (BACKUP, FAULT, or stopping): RuleList(rules, Del,
//     false), then RouteList(routes, Del, false), then its VIPs.
//   - Stop: the above for every MASTER, then RuleList(staticRules, Del,
//     false) and RouteList(staticRoutes, Del, false), then static
//     addresses.
//   - Reload: ReplaceRules/ReplaceRoutes(old static, new static), then the
//     start's Add of static ones; for each instance kept, ReplaceRules and
//     ReplaceRoutes(old, new), and if it is MASTER RouteList(routes, Add,
//     true) and RuleList(rules, Add, false); a removed MASTER instance
//     leaves MASTER as above.
//   - Each Monitor message goes through Tracker.Handle in the engine's own
//     loop: Verdict.Backup is keepalived's set_vrrp_backup (the instance,
//     and the MASTER members of its sync group, leave MASTER for BACKUP
//     with a master-down timer of only the skew time, so they soon take
//     over again and re-add everything); Verdict.ReinstateRoute/Rule is
//     Route/Rule(Add), Set = (err == nil), and the log line "Restoring
//     deleted static route|rule %s".
//   - An interface going down: Tracker.InterfaceDown returns the MASTER
//     instances keepalived puts in FAULT (down_instance) because a tracked
//     route of theirs was on it; an interface coming up:
//     Tracker.InterfaceUp returns the static routes to Route(Add) again.
//     The interfaces in VRRPInstance.RouteInterfaces and StaticInterfaces
//     are tracked without weight: down is FAULT, whatever a
//     track_interface weight says.
