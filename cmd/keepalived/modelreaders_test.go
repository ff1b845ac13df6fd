package main

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"keepalived-go/parser"
)

// modelField is one field of a config struct reachable from config.Config,
// named Type.Field.
type modelField struct {
	name string
	obj  *types.Var
}

// modelFields walks the types reachable from config.Config and returns
// every exported field of a struct declared in package config.
func modelFields(cfgPkg *types.Package) []modelField {
	var out []modelField
	seen := map[*types.Named]bool{}
	var walk func(t types.Type)
	walk = func(t types.Type) {
		switch t := t.(type) {
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Named:
			if t.Obj().Pkg() != cfgPkg || seen[t] {
				return
			}
			seen[t] = true
			if it, ok := t.Underlying().(*types.Interface); ok {
				// Checker.Options: walk every config type that may be in it
				walkImplementers(cfgPkg, it, walk)
				return
			}
			st, ok := t.Underlying().(*types.Struct)
			if !ok {
				return
			}
			for i := 0; i < st.NumFields(); i++ {
				f := st.Field(i)
				if !f.Exported() {
					continue
				}
				out = append(out, modelField{t.Obj().Name() + "." + f.Name(), f})
				walk(f.Type())
			}
		}
	}
	walk(cfgPkg.Scope().Lookup("Config").Type())
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// walkImplementers walks each type of package config whose pointer or
// value implements interface it, in scope order.
func walkImplementers(cfgPkg *types.Package, it *types.Interface, walk func(types.Type)) {
	for _, n := range cfgPkg.Scope().Names() {
		tn, ok := cfgPkg.Scope().Lookup(n).(*types.TypeName)
		if !ok || types.IsInterface(tn.Type()) {
			continue
		}
		if types.Implements(tn.Type(), it) || types.Implements(types.NewPointer(tn.Type()), it) {
			walk(tn.Type())
		}
	}
}

// fieldReaders loads the module (tests left out) and returns, for every
// config field, the files outside package config that read it: a
// selector that is not the left side of an assignment. Composite
// literal keys write, not read.
func fieldReaders(t *testing.T) ([]modelField, map[*types.Var][]string) {
	t.Helper()
	mode := packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
		packages.NeedTypesInfo | packages.NeedImports | packages.NeedDeps
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: "../.."}, "keepalived-go/...")
	if err != nil {
		t.Fatal(err)
	}
	var cfgPkg *types.Package
	readers := map[*types.Var][]string{}
	for _, p := range pkgs {
		if p.PkgPath == "keepalived-go/config" {
			cfgPkg = p.Types
		}
	}
	if cfgPkg == nil {
		t.Fatal("package config not loaded")
	}
	for _, p := range pkgs {
		if strings.HasPrefix(p.PkgPath, "keepalived-go/tools") {
			continue
		}
		for _, f := range p.Syntax {
			file := p.Fset.Position(f.Pos()).Filename
			writes := assignedSelectors(f)
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || writes[sel] {
					return true
				}
				s := p.TypesInfo.Selections[sel]
				if s == nil || s.Kind() != types.FieldVal {
					return true
				}
				v := s.Obj().(*types.Var)
				if v.Pkg() == cfgPkg {
					rel := filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file)
					readers[v] = append(readers[v], rel)
				}
				return true
			})
		}
	}
	return modelFields(cfgPkg), readers
}

// assignedSelectors are the selectors written to (x.F = v, x.F++).
func assignedSelectors(f *ast.File) map[*ast.SelectorExpr]bool {
	w := map[*ast.SelectorExpr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if s, ok := l.(*ast.SelectorExpr); ok {
					w[s] = true
				}
			}
		case *ast.IncDecStmt:
			if s, ok := n.X.(*ast.SelectorExpr); ok {
				w[s] = true
			}
		}
		return true
	})
	return w
}

// consumedFields are model fields with no reader in the engines or the
// daemon that are nonetheless not ignored: metadata, or values the
// config package folds into other fields (which are read), as
// keepalived's own completion passes do. Each says where it goes.
var consumedFields = map[string]string{
	// Where a setting came from: for messages, never a behaviour.
	"BFDInstance.Pos": "position", "Checker.Pos": "position", "GarpGroup.Pos": "position", "RealServer.Pos": "position",
	"Route.Pos": "position", "Rule.Pos": "position", "StaticTrackGroup.Pos": "position", "SyncDaemon.Pos": "position",
	"SyncGroup.Pos": "position", "TrackFile.Pos": "position", "TrackProcess.Pos": "position", "TrackRef.Pos": "position",
	"UnicastPeer.Pos": "position", "VRRPInstance.Pos": "position", "VRRPScript.Pos": "position", "VSGEntry.Pos": "position",
	"VirtualAddress.Pos": "position", "VirtualServer.Pos": "position", "VirtualServerGroup.Pos": "position",
	"Pos.Col": "position", "Config.Files": "the files read", "Config.Recovered": "layout recovery, logged by config.Load",
	"Route.Words": "the route as written (dumps)", "Rule.Words": "the rule as written (dumps)",
	// How keepalived's completion passes left a value, which only its dump
	// shows (the settings themselves are in other, read fields).
	"Global.DefaultInterfaceResolved":   "dump: whether the default interface was looked up",
	"Global.NFTablesDefaulted":          "dump: nftables table name given or defaulted",
	"SyncDaemon.SyncIDDefaulted":        "dump: lvs_sync_daemon id given or defaulted",
	"VRRPInstance.TrackInterfacesAdded": "dump: track_interface entries the passes added",
	"VRRPInstance.UnicastConfigured":    "dump: a unicast_peer block was given (UnicastPeers is read)",
	"VRRPInstance.VMACMACUseVRID":       "dump: the VMAC's MAC from the VRID (VMAC settings are read)",
	"Setting.Args":                      "kept with cfg.Other, which the daemon reports",
	"Checker.Options":                   "read through each kind's accessor (HTTPOpts, MiscOpts...); its types' fields are checked here one by one",
	"Script.Raw":                        "the script as written", "Script.Flags": "the security pass's result, folded into Script.Cmd",
	"Script.UserSet": "folded into Script.Cmd", "Script.Args": "folded into Script.Cmd (argv)",
	"Script.User": "folded into Script.Cmd (uid)", "Script.Group": "folded into Script.Cmd (gid)",
	"Script.UID": "folded into Script.Cmd", "Script.GID": "folded into Script.Cmd",
	"VRRPScript.User": "folded into its Script.Cmd", "VRRPScript.Group": "folded into its Script.Cmd",
	"FIFO.UID": "folded into the FIFO script's Script.Cmd", "FIFO.GID": "folded into the FIFO script's Script.Cmd",
	"Config.ScriptUser":  "the default script user, folded into every Script.Cmd",
	"Config.VRRPFailed":  "config drops the instances when keepalived's VRRP process would stop (vrrp_complete.go)",
	"VSGEntry.Family":    "checked by config (mixed families in a group)",
	"VRRPInstance.Debug": "keepalived only prints it (vrrp_data.c dump_vrrp)",
	// Folded by config into fields that are read.
	"Global.DownTimerAdverts": "default of VRRPInstance.DownTimerAdverts", "Global.GarpLowerPrioDelay": "default of the instance's",
	"Global.GarpLowerPrioRepeat": "default of the instance's", "Global.GarpMasterDelay": "default of the instance's",
	"Global.GarpMasterRefresh": "default of the instance's", "Global.GarpMasterRefreshRep": "default of the instance's",
	"Global.GarpMasterRepeat": "default of the instance's", "Global.HigherPrioSendAdvert": "default of the instance's",
	"Global.LowerPrioNoAdvert": "default of the instance's", "Global.VRRPVersion": "default of VRRPInstance.Version",
	"Global.VRRPNotifyPriorityChanges": "default of VRRPInstance.NotifyPriorityChanges (vrrp.c vrrp_complete_instance)",
	"SyncGroup.NotifyPriorityChanges":  "default of its members' VRRPInstance.NotifyPriorityChanges (vrrp_complete_instance)",
	"SyncGroup.GlobalTracking":         "sets SyncGroup.TrackingWeight, folded into the members' tracking",
	"SyncGroup.TrackingWeight":         "folded into the members' tracking weights (vrrp_complete.go)",
	"Global.DynamicInterfaces":         "config accepts missing interfaces (ifaces.go); the engines follow links by name",
	"Global.SMTPAlert":                 "default of the instances' and checkers' smtp_alert", "Global.SMTPAlertVRRP": "default of VRRPInstance.SMTPAlert",
	"Global.SMTPAlertChecker": "default of the checkers' smtp_alert", "Global.EnableSNMPVRRP": "read by the SNMP agent's state",
	"Global.StrictKeywords":      "makes unknown keywords errors in config",
	"Global.GarpExtraIf":         "default of VRRPInstance.GarpExtraIf (unsupported there)",
	"Global.GarpExtraIfAll":      "default of VRRPInstance.GarpExtraIfAll (unsupported there)",
	"Config.GarpGroups":          "garp_group: folded into the interfaces' garp intervals (vrrp_track.go)",
	"GarpGroup.AggregationGroup": "folded into the interfaces' garp intervals", "GarpGroup.GarpInterval": "folded into the interfaces' garp intervals",
	"GarpGroup.GnaInterval": "folded into the interfaces' garp intervals", "GarpGroup.Interfaces": "folded into the interfaces' garp intervals",
	"Config.TrackGroups": "track_group: folded into the instances' StaticInterfaces", "StaticTrackGroup.Instances": "folded into the instances' StaticInterfaces",
	"StaticTrackGroup.Name":     "folded into the instances' StaticInterfaces",
	"VirtualAddress.TrackGroup": "folded into the instances' StaticInterfaces",
	"VirtualAddress.Scope":      "the scope word as written; the kernel gets ScopeID",
	"Route.TrackGroup":          "folded into the instances' StaticInterfaces", "Rule.TrackGroup": "folded into the instances' StaticInterfaces",
	"Route.VRF": "folded into Route.Table", "VRRPInstance.ConfigFaults": "read by the VRRP engine",
	"VRRPInstance.UnicastFaultNoPeer":       "folded into VRRPInstance.ConfigFaults",
	"Global.NoCheckerEmails":                "checker mails are only sent on a real server's change, which is what no_checker_emails asks",
	"Global.NamespaceWithIPSets":            "ipsets are only used with vrrp_iptables, which Debian's nftables build lacks (vrrp_ipset.c)",
	"CheckerSettings.SSLRequired":           "keepalived sets up its SSL context; Go's crypto/tls needs none",
	"CheckerSettings.RegexStackStart":       "the JIT stack grows up to RegexStackMax; its start size changes no result",
	"CheckerSettings.TrackBFDs":             "BFD_CHECK follows the bfd_instances by name",
	"VirtualServer.SorryServerIsRealServer": "config's warning when the sorry server is also a real server",
	"VirtualServer.ConnectTimeout":          "default of its checkers' (check_vs.go)", "VirtualServer.DelayBeforeRetry": "default of its checkers'",
	"VirtualServer.DelayLoop": "default of its checkers'", "VirtualServer.Retry": "default of its checkers'",
	"VirtualServer.Warmup": "default of its checkers'", "VirtualServer.Forwarding": "default of RealServer.Forwarding",
	"RealServer.ConnectTimeout": "default of its checkers'", "RealServer.DelayBeforeRetry": "default of its checkers'",
	"RealServer.DelayLoop": "default of its checkers'", "RealServer.Retry": "default of its checkers'",
	"RealServer.Warmup":    "default of its checkers'",
	"Config.VRRPTrackBFDs": "the VRRP process's list of bfd_instances (dumps); the engine follows VRRPInstance.TrackBFDs",
	// Read by the SNMP agent: its switches, and what it reports.
	"Global.EnableSNMPChecker": "switches the SNMP agent's MIBs (snmpstate.go snmpSwitches)",
	"Global.EnableSNMPRFCv2":   "switches the SNMP agent's MIBs (snmpstate.go snmpSwitches)",
	"Global.EnableSNMPRFCv3":   "switches the SNMP agent's MIBs (snmpstate.go snmpSwitches)",
	"Global.EnableTraps":       "switches the SNMP agent's traps (snmpstate.go snmpSwitches)",
	"Global.SMTPServerAddr":    "SNMP reports it; mail resolves Global.SMTPServer",
	"RealServer.SNMPName":      "SNMP reports it", "VirtualServer.SNMPName": "SNMP reports it",
	"VirtualServer.Tunnel": "default of RealServer.Tunnel; SNMP reports it",
	"VirtualServer.Weight": "SNMP reports it",
}

// reportOnly are files that show the model and act on nothing (the
// dumps, the SNMP agent's view of the configuration): a field only they
// read is not acted on.
func reportOnly(file string) bool {
	for _, p := range []string{"keepalived/dumps", "keepalived/snmpstate", "config/dump"} {
		if strings.HasPrefix(file, p) {
			return true
		}
	}
	return false
}

// Issue 16: nothing an operator's configuration asks for is lost
// silently. Every field of the model is read by an engine or the daemon,
// or is consumed by config (consumedFields), or its keywords are in the
// table the daemon reports as not supported (unsupported.go). A new
// keyword whose field nothing reads fails here until it is wired or
// listed.
func TestModelFieldsReadOrUnsupported(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and type-checks the whole module")
	}
	fields, readers := fieldReaders(t)
	unsup := map[string]bool{}
	for _, u := range unsupportedSettings {
		for _, f := range u.fields {
			unsup[f] = true
		}
	}
	known := map[string]bool{}
	var missing []string
	for _, f := range fields {
		known[f.name] = true
		read := false
		for _, x := range readers[f.obj] {
			if !reportOnly(x) && !strings.HasPrefix(x, "config/") {
				read = true
			}
		}
		_, consumed := consumedFields[f.name]
		switch {
		case read && unsup[f.name]:
			t.Errorf("%s is read (%v) but listed as not supported", f.name, readers[f.obj])
		case !read && !consumed && !unsup[f.name]:
			missing = append(missing, fmt.Sprintf("%s (read only by %v)", f.name, readers[f.obj]))
		}
	}
	for f := range unsup {
		if !known[f] {
			t.Errorf("unsupported.go names %s, not a model field", f)
		}
	}
	for f := range consumedFields {
		if !known[f] {
			t.Errorf("consumedFields names %s, not a model field", f)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d model fields are read by nothing that acts on them; wire them or add their keywords to unsupported.go:\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
}

// Every keyword in the table is one of keepalived 2.2.7's, by its path
// (a misspelt path would never match what the loader records).
func TestUnsupportedKeywordsExist(t *testing.T) {
	paths := map[string]bool{}
	for _, k := range parser.KeepalivedKeywords() {
		paths[strings.Join(append(k.Path, k.Name), " ")] = true
	}
	// Debian's build has OLD_CHKSUM_COMPAT (keepalived -v), which the
	// tree generator's #ifdef evaluation missed (config/keywords_test.go).
	paths["vrrp_instance old_unicast_checksum"] = true
	for _, u := range unsupportedSettings {
		if u.reason == "" {
			t.Errorf("%v: no reason", u.keywords)
		}
		for _, k := range u.keywords {
			if !paths[k] {
				t.Errorf("%q is no keyword path of keepalived 2.2.7", k)
			}
		}
	}
}
