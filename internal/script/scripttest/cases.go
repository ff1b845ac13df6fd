// Package scripttest holds what the script tests share: the script string
// table used by the splitter's unit tests (package script) and by the
// interop test that runs each row through Debian's keepalived and through
// our daemon (package notify), and small helpers to write scripts and wait
// for their processes.
package scripttest

import "strings"

// SplitCase is one script keyword argument as written in keepalived.conf,
// with PROG standing for the script path, and the argv keepalived 2.2.7
// builds from it. The same table drives the interop test against Debian's
// keepalived, so every Rest must be a valid config line tail: no '#', '!',
// '{', '}' or '$' outside double quotes (the config reader owns those).
type SplitCase struct {
	Name  string
	Rest  string
	Argv  []string
	User  string
	Group string
}

// ProgToken stands for the script path in SplitCases.
const ProgToken = "PROG"

// SplitCases is the table.
var SplitCases = []SplitCase{
	{"seed redirect", `"PROG del 198.51.100.10"`, []string{"PROG", "del", "198.51.100.10"}, "", ""},
	{"bare word", `PROG`, []string{"PROG"}, "", ""},
	{"extra blanks", `"  PROG   add    198.51.100.10  "`, []string{"PROG", "add", "198.51.100.10"}, "", ""},
	{"inner single quotes", `"PROG 'a b' c"`, []string{"PROG", "a b", "c"}, "", ""},
	{"outer single inner double", `'PROG "a b" c'`, []string{"PROG", "a b", "c"}, "", ""},
	{"escaped space survives one pass", `"PROG a\\ b"`, []string{"PROG", "a b"}, "", ""},
	{"escaped space unquoted is split again", `PROG\ x`, []string{"PROG", "x"}, "", ""},
	{"escaped double quotes group", `"PROG \"quoted arg\" x"`, []string{"PROG", "quoted arg", "x"}, "", ""},
	{"literal double quotes", `"PROG \\\"q\\\""`, []string{"PROG", `"q"`}, "", ""},
	{"adjacent empty quotes vanish", `"PROG a''b c"`, []string{"PROG", "ab", "c"}, "", ""},
	{"empty argument", `"PROG '' x"`, []string{"PROG", "", "x"}, "", ""},
	{"hex escape second pass", `"PROG x=\\x41\\x42"`, []string{"PROG", "x=AB"}, "", ""},
	{"hex escape first pass", `"PROG \x41"`, []string{"PROG", "A"}, "", ""},
	{"tab escape kept", `"PROG a\\tb"`, []string{"PROG", "a\tb"}, "", ""},
	{"tab escape splits", `"PROG a\tb"`, []string{"PROG", "a", "b"}, "", ""},
	{"newline escape", `"PROG line1\\nline2"`, []string{"PROG", "line1\nline2"}, "", ""},
	{"octal escapes", `"PROG \\101\\060"`, []string{"PROG", "A0"}, "", ""},
	{"control escape", `"PROG \\cA-\\E"`, []string{"PROG", "\x01-\x1b"}, "", ""},
	{"NUL cuts the word", `"PROG ab\\x0gh ef"`, []string{"PROG", "ab", "ef"}, "", ""},
	{"user", `"PROG a" root`, []string{"PROG", "a"}, "root", ""},
	{"user and group, extra ignored", `"PROG a" root root extra`, []string{"PROG", "a"}, "root", "root"},
	{"abutting quotes", `"PROG pre'mid dle'post"`, []string{"PROG", "premid dlepost"}, "", ""},
	{"double quotes inside single", `"PROG 'say \"hi\"'"`, []string{"PROG", `say "hi"`}, "", ""},
	{"outer single quotes then user", `'PROG a b' root`, []string{"PROG", "a", "b"}, "root", ""},
	{"backslash literal", `"PROG x\\\\y"`, []string{"PROG", `x\y`}, "", ""},
	{"option with quoted value", `"PROG 198.51.100.10/24 --flag=\"v w\""`, []string{"PROG", "198.51.100.10/24", "--flag=v w"}, "", ""},
	{"no shell metacharacters", `"PROG a;b | c & * ~ >out"`, []string{"PROG", "a;b", "|", "c", "&", "*", "~", ">out"}, "", ""},
	{"utf8 bytes", `"PROG é ü"`, []string{"PROG", "é", "ü"}, "", ""},
	{"unknown escape is literal", `"PROG \\q\\z"`, []string{"PROG", "qz"}, "", ""},
}

// Subst replaces ProgToken with prog in every word.
func Subst(ss []string, prog string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, ProgToken, prog)
	}
	return out
}
