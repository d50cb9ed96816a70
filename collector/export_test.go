package collector

// Test-only exports for the external tests in this folder.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// BenchExporter builds an Exporter with n STARTTLS submission endpoints
// (one per server, as the load test's farm has them), each holding the same
// real stored result of a successful probe with login on each address: the
// host's one address (127.0.0.1), or addrs when given, as if the host had
// resolved to them. No scheduler runs: the checks are built and stored
// directly, so nothing probes meanwhile.
func BenchExporter(b *testing.B, n int, addrs ...netip.Addr) *Exporter {
	b.Helper()
	pki := fakes.NewPKI(b, peers.CertOptions{})
	dir := b.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(caFile, pki.CA.PEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte(fakes.Password+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	port := fakes.SMTP(b, pki, false)

	var y strings.Builder
	fmt.Fprintf(&y, "global: {interval: 1m, timeout: 10s, ca_file: %s, ehlo_name: probe.example.test}\n", caFile)
	fmt.Fprintf(&y, "credentials:\n  monitor: {username: %s, password_file: %s}\nservers:\n", fakes.User, pwFile)
	for i := range n {
		fmt.Fprintf(&y, "  - {name: mx%05d, host: 127.0.0.1, tls_server_name: %s, credential: monitor, labels: {site: bench},"+
			" endpoints: [{name: submission, port: %d}]}\n", i, fakes.Name, 20000+i%40000)
	}
	cfg, err := config.Parse([]byte(y.String()), filepath.Join(dir, "targets.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{Hostname: "probe.example.test"})
	env, err := e.newCheckEnv(cfg)
	if err != nil {
		b.Fatal(err)
	}
	built := e.buildChecks(cfg, env)

	// One real result, shared: stored results are immutable.
	first := built[0].(*endpointCheck)
	tg := first.target
	ep := *tg.Endpoint
	ep.Port = port
	tg.Endpoint = &ep
	tg.Address = netip.MustParseAddr("127.0.0.1")
	r := probe.Run(context.Background(), tg)
	if !r.Success {
		b.Fatalf("probe of the fake server failed: %s: %s", r.Reason, r.Error)
	}
	e.checks = make(map[string]check, len(built)*(1+len(addrs)))
	all := built
	for _, c := range built {
		ec, ok := c.(*endpointCheck)
		if !ok {
			// A TLS posture check (a TLS endpoint has one beside it): it is
			// not run here, and a check that has not run exports nothing.
			continue
		}
		if len(addrs) > 0 {
			ec.setAddrs(addrs)
			ec.resolved.Store(true)
		}
		for _, k := range ec.children() {
			k.store(r)
			all = append(all, k)
		}
	}
	for _, c := range all {
		e.checks[c.id()] = c
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id() < all[j].id() })
	e.cfg, e.list = cfg, all
	return e
}
