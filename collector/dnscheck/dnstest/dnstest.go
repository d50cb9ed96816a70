// Package dnstest makes the real DNS test harness (knot serving zones,
// unbound validating in front of it, dnscheck/internal/dnspeers) usable from
// tests outside collector/dnscheck.
package dnstest

import "github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/dnspeers"

type (
	Zone  = dnspeers.Zone
	Peers = dnspeers.Peers
)

var (
	Start   = dnspeers.Start
	Require = dnspeers.Require
)
