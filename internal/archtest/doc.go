// Package archtest holds the house's import rules as a test: data flows
// parser -> config -> engines (vrrp, lvs, check, notify, ...) -> cmd, no
// engine imports another, and leaves (internal/...) import no package of
// the house above them. See imports_test.go.
package archtest
