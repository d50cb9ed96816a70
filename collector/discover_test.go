package collector

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// TestDiscoveredEndpointsAreScheduled: a domain with discover: true turns
// its MX host and SRV records into scheduled endpoint probes (server = the
// advertised host), a configured server that is also advertised is probed
// once, and endpoints that disappear on reload are dropped.
func TestDiscoveredEndpointsAreScheduled(t *testing.T) {
	m := peers.StartMail(t)
	dns := dnstest.Start(t, dnstest.Zone{Name: "example.test", Signed: true, Records: fmt.Sprintf(`
@ MX 10 mail.example.test.
mail A 127.0.0.2
_imaps._tcp SRV 0 1 %d mail.example.test.
_submission._tcp SRV 0 1 %d mail.example.test.
`, m.Ports["imaps"], m.Ports["submission"])})
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.yaml")
	write := func(extra string) {
		os.WriteFile(path, []byte(fmt.Sprintf(`global: {resolver: "%s", interval: 300ms, timeout: 250ms, dns_interval: 400ms, ca_file: %s}
servers:
  - {name: configured, host: mail.example.test, endpoints: [{name: imaps, port: %d}]}
domains:
  - {domain: example.test, discover: true, smtp_port: %d, checks: [mx, srv]}
%s`, dns.Resolver, m.CAFile, m.Ports["imaps"], m.Ports["smtp"], extra)), 0o600)
	}
	write("")
	exp := New(Options{})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	defer exp.Stop()

	// Each endpoint, and the check of its host's one address.
	want := map[string]bool{}
	for _, id := range [][2]string{{"configured", "imaps"},
		{"mail.example.test", fmt.Sprintf("smtp-%d-starttls", m.Ports["smtp"])},
		{"mail.example.test", fmt.Sprintf("smtp-%d-starttls", m.Ports["submission"])}} {
		want[EndpointID(id[0], id[1])] = true
		want[AddressID(id[0], id[1], netip.MustParseAddr("127.0.0.2"))] = true
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := map[string]bool{}
		ok := true
		for _, c := range exp.snapshot() {
			if c.kind() == "endpoint" {
				got[c.id()] = true
				if row := c.status(); !row.Ran || !row.OK {
					ok = false
				}
			}
		}
		if ok && fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint checks %v, want %v (all passing)", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The advertised imaps is the configured one: probed once, under its
	// configured name.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exp)
	if n, err := testutil.GatherAndCount(reg, "mail_probe_success"); err != nil || n != 3 {
		t.Errorf("mail_probe_success series: %d (%v), want 3", n, err)
	}
	if v := seriesValue(t, exp, "mail_dns_record_valid", `check="srv"`); v != 1 {
		t.Errorf("srv check valid = %v", v)
	}

	// Without discovery, the discovered endpoints go.
	os.WriteFile(path, []byte(fmt.Sprintf(`global: {resolver: "%s", interval: 300ms, timeout: 250ms, dns_interval: 400ms, ca_file: %s}
servers:
  - {name: configured, host: mail.example.test, endpoints: [{name: imaps, port: %d}]}
domains:
  - {domain: example.test, checks: [mx]}
`, dns.Resolver, m.CAFile, m.Ports["imaps"])), 0o600)
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	for _, c := range exp.snapshot() {
		if c.kind() == "endpoint" && !strings.HasPrefix(c.id(), EndpointID("configured", "imaps")) {
			t.Errorf("discovered check %s survived turning discovery off", c.id())
		}
	}
}

// TestDiscoveredMXNameNotCovered: with discover: true the domain's mx check
// reads the MX host's certificate and reports a name it does not cover as
// mail_dns_problem_info{check="mx",code="mx_certificate_name"}; without
// discovery the mx check stays DNS only.
func TestDiscoveredMXNameNotCovered(t *testing.T) {
	m := peers.StartMail(t) // its certificate is for mail.example.test only
	dns := dnstest.Start(t, dnstest.Zone{Name: "other.test", Signed: true, Records: `
@ MX 10 mx.other.test.
mx A 127.0.0.2
`})
	path := filepath.Join(t.TempDir(), "targets.yaml")
	write := func(discover bool) {
		os.WriteFile(path, []byte(fmt.Sprintf(`global: {resolver: "%s", interval: 1h, timeout: 250ms, dns_interval: 400ms, ca_file: %s}
domains:
  - {domain: other.test, discover: %v, smtp_port: %d, checks: [mx]}
`, dns.Resolver, m.CAFile, discover, m.Ports["smtp"])), 0o600)
	}
	write(true)
	e := New(Options{})
	if err := e.Reload(path); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	has := func() bool {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(e)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "mail_dns_problem_info" {
				continue
			}
			for _, s := range mf.GetMetric() {
				ls := map[string]string{}
				for _, l := range s.GetLabel() {
					ls[l.GetName()] = l.GetValue()
				}
				if ls["check"] == "mx" && ls["code"] == "mx_certificate_name" && ls["severity"] == "warning" {
					return true
				}
			}
		}
		return false
	}
	deadline := time.Now().Add(10 * time.Second)
	for !has() {
		if time.Now().After(deadline) {
			t.Fatal(`no mail_dns_problem_info{check="mx",code="mx_certificate_name"} for mx.other.test`)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := seriesValue(t, e, "mail_dns_record_valid", `check="mx"`); v != 1 {
		t.Errorf("mx valid = %v: the name is a warning", v)
	}

	write(false)
	if err := e.Reload(path); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for has() {
		if time.Now().After(deadline) {
			t.Fatal("mx_certificate_name stayed after turning discovery off")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
