package probe

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

const (
	testUser = fakes.User
	testPass = fakes.Password
	testName = fakes.Name
)

type testPKI = fakes.PKI

var (
	newPKI    = fakes.NewPKI
	startSMTP = fakes.SMTP
	startIMAP = fakes.IMAP
	script    = fakes.Script
	expect    = fakes.Expect
)

func cred() *config.Credential {
	return &config.Credential{Name: "monitor", Username: testUser, Password: config.Secret(testPass)}
}

// target builds a Target for a server on 127.0.0.1:port.
func target(p *testPKI, proto config.Protocol, mode config.TLSMode, port int, c *config.Credential) Target {
	var roots *x509.CertPool
	if p != nil {
		roots = p.CA.Pool()
	}
	return Target{
		Server: "test", Host: "127.0.0.1", ServerName: testName, RootCAs: roots, EHLOName: "probe.example.test",
		Endpoint: &config.Endpoint{Name: "ep", Protocol: proto, Port: port, TLS: mode, Credential: c,
			VerifyCertificate: true, Timeout: 5 * time.Second, Interval: time.Minute},
	}
}

func run(t *testing.T, tg Target) *Result {
	t.Helper()
	r := Run(context.Background(), tg)
	t.Logf("result=%s success=%v err=%q duration=%v phases=%v", r.Reason, r.Success, r.Error, r.Duration, r.Phases)
	return r
}

func phases(r *Result) []Phase {
	var ps []Phase
	for _, p := range r.Phases {
		ps = append(ps, p.Phase)
	}
	return ps
}
