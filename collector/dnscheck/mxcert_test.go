package dnscheck

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
)

// TestMXCertificateNames: with MXCertificates (discover: true) the mx check
// reports an MX name the certificate does not cover, naming both, whether
// or not an MTA-STS policy makes senders check it.
func TestMXCertificateNames(t *testing.T) {
	wrongLeaf := func(f *fixture) {
		f.leaf = f.ca.Leaf(t, time.Time{}, time.Time{}, "mail.ex.test", "other.ex.test")
		f.rrs["tlsa"] = "_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 " + testpki.SPKISHA256(f.leaf.Leaf)
	}
	for _, c := range []struct {
		name   string
		off    bool // MXCertificates false: today's checks only
		change func(f *fixture)
		want   []string
	}{
		{"covered", false, func(*fixture) {}, nil},
		{"wildcard covers", false, func(f *fixture) {
			f.leaf = f.ca.Leaf(t, time.Time{}, time.Time{}, "*.ex.test")
			f.rrs["tlsa"] = "_25._tcp.mx.ex.test. 300 IN TLSA 3 1 1 " + testpki.SPKISHA256(f.leaf.Leaf)
		}, nil},
		{"not covered, policy published", false, wrongLeaf,
			[]string{"mta_sts/mtasts_mx_certificate", "mx/mx_certificate_name"}},
		{"not covered, no policy", false, func(f *fixture) { wrongLeaf(f); delete(f.rrs, "sts") },
			[]string{"mta_sts/mtasts_missing", "mx/mx_certificate_name"}},
		{"not covered, without discover", true, func(f *fixture) { wrongLeaf(f); delete(f.rrs, "sts") },
			[]string{"mta_sts/mtasts_missing"}},
		{"no certificate to judge", false, func(f *fixture) { f.dialErr = errors.New("connection refused") },
			[]string{"dane/dane_starttls_failed", "mta_sts/mtasts_mx_starttls_failed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.change(f)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d := exDomain
			d.MXCertificates = !c.off
			r := Run(ctx, d, f.options())
			knownCodes(t, r)
			if got := codes(r); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("codes %v, want %v", got, c.want)
			}
			mxr := r.Checks[CheckMX]
			if !mxr.Valid || !mxr.LookupSuccess {
				t.Errorf("mx: %+v: a warning leaves the MX set valid", mxr)
			}
			for _, p := range mxr.Problems {
				want := "MX host certificate does not cover the MX name: mx.ex.test port 25 presents a certificate for mail.ex.test, other.ex.test"
				if p.Detail != want || p.Severity != SeverityWarning {
					t.Errorf("%s (%s): %q, want %q", p.Code, p.Severity, p.Detail, want)
				}
			}
		})
	}

	t.Run("port 25 never answers", func(t *testing.T) {
		f := newFixture(t)
		opt := f.options()
		opt.DialSTARTTLS = func(ctx context.Context, _ string, _ int) (*tls.ConnectionState, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d := exDomain
		d.MXCertificates = true
		r := Run(ctx, d, opt)
		if mxr := r.Checks[CheckMX]; mxr == nil || !mxr.LookupSuccess || !mxr.Valid || len(mxr.Problems) > 0 {
			t.Errorf("mx: %+v: the name check must give up before the run does, keeping the DNS verdict", mxr)
		}
		for _, name := range []string{CheckDANE, CheckMTASTS} {
			if cr := r.Checks[name]; cr == nil || cr.LookupSuccess {
				t.Errorf("%s: %+v: its handshake must not be cut short by the mx check giving up", name, cr)
			}
		}
	})

	t.Run("implicit MX is not dialled", func(t *testing.T) {
		f := newFixture(t)
		f.rrs["mx"] = "ex.test. 300 IN A 192.0.2.10"
		opt := f.options()
		var dials atomic.Int32
		opt.DialSTARTTLS = func(context.Context, string, int) (*tls.ConnectionState, error) {
			dials.Add(1)
			return nil, errors.New("dialled")
		}
		r := Run(context.Background(), Domain{Name: "ex.test", Checks: []string{CheckMX}, MXCertificates: true}, opt)
		if got := codes(r); strings.Join(got, " ") != "mx/mx_implicit" || dials.Load() != 0 {
			t.Errorf("codes %v, %d dials", got, dials.Load())
		}
	})
}
