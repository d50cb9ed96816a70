package dnscheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/dnspeers"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// DANE is checked on every address of an MX host, both families: with the
// IPv6 listeners of a dual-stack MX stopped, DANE fails for that host and
// the problem names the address.
func TestDANEEveryAddress(t *testing.T) {
	m := peers.StartMail(t, peers.WithIPv6())
	spki := sha256.Sum256(m.Leaf.RawSubjectPublicKeyInfo)
	port := m.Ports["smtp"]
	p := dnspeers.Start(t, dnspeers.Zone{Name: "dane6.test", Signed: true, Records: fmt.Sprintf(
		"@ MX 10 mx\nmx A 127.0.0.2\nmx AAAA ::1\n_%d._tcp.mx TLSA 3 1 1 %s\n", port, hex.EncodeToString(spki[:]))})
	res, err := resolver.New(p.Resolver)
	if err != nil {
		t.Fatal(err)
	}
	run := func() *Result {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return Run(ctx, Domain{Name: "dane6.test", Checks: []string{CheckDANE}, SMTPPort: port},
			Options{Resolver: res, EHLOName: "probe.test"})
	}
	r := run()
	if !r.DANE["mx.dane6.test"] || !r.Checks[CheckDANE].Valid {
		t.Fatalf("both addresses serve the TLSA-matched key: DANE %v, check %+v", r.DANE, r.Checks[CheckDANE])
	}
	if err := m.StopListening(peers.IPv6); err != nil {
		t.Fatal(err)
	}
	r = run()
	cr := r.Checks[CheckDANE]
	if r.DANE["mx.dane6.test"] || cr.Valid {
		t.Errorf("IPv6 listeners stopped, DANE still valid: %v %+v", r.DANE, cr)
	}
	found := false
	for _, pr := range cr.Problems {
		found = found || strings.Contains(pr.Detail, "::1")
	}
	if !found {
		t.Errorf("no problem names the failing address ::1: %+v", cr.Problems)
	}
}
