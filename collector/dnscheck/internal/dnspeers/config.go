package dnspeers

import (
	"fmt"
	"strings"
)

// knotConf serves every zone from dir/zones; signed zones get an ECDSA P-256
// combined signing key (single-type-signing), and knot never rewrites the
// zone files (zonefile-sync: -1).
func knotConf(dir string, port int, zones []Zone) string {
	var b strings.Builder
	fmt.Fprintf(&b, `server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
database:
    storage: "%[1]s/db"
log:
  - target: stderr
    any: info
control:
    listen: "%[1]s/knot.sock"
policy:
  - id: test
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: "%[1]s/zones"
    file: "%%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
`, dir, port)
	for _, z := range zones {
		fmt.Fprintf(&b, "  - domain: %s\n", fqdn(z.Name))
		if z.Signed {
			b.WriteString("    dnssec-signing: on\n    dnssec-policy: test\n")
		}
	}
	return b.String()
}

// unboundConf makes unbound a validating resolver for the zones only: every
// other name is refused, each zone is a stub pointing at knot, and the signed
// zones' keys are trust anchors.
func unboundConf(dir string, port, authPort int, zones []Zone, anchors []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `server:
    interface: 127.0.0.1
    port: %[2]d
    do-ip6: no
    username: ""
    chroot: ""
    directory: "%[1]s"
    pidfile: "%[1]s/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    do-not-query-localhost: no
    module-config: "validator iterator"
    qname-minimisation: no
    num-threads: 1
    so-reuseport: no
    local-zone: "." refuse
`, dir, port)
	for _, z := range zones {
		kind := "transparent"
		if z.Refused {
			kind = "refuse"
		}
		fmt.Fprintf(&b, "    local-zone: %q %s\n", fqdn(z.Name), kind)
	}
	for _, a := range anchors {
		fmt.Fprintf(&b, "    trust-anchor: %q\n", a)
	}
	b.WriteString("remote-control:\n    control-enable: no\n")
	for _, z := range zones {
		if z.Refused {
			continue
		}
		fmt.Fprintf(&b, "stub-zone:\n    name: %q\n    stub-addr: 127.0.0.1@%d\n", fqdn(z.Name), authPort)
	}
	return b.String()
}
