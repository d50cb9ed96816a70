package report

import (
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/tlsposture"
)

// TestPostureFindings: each posture finding becomes its code, status and a
// fix hint on the check line.
func TestPostureFindings(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ep := &config.Endpoint{Name: "imaps", Protocol: config.IMAP, Port: 993, TLS: config.TLSImplicit}
	protos := func(acc ...string) []tlsposture.Protocol {
		var ps []tlsposture.Protocol
		for _, v := range []string{"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"} {
			ps = append(ps, tlsposture.Protocol{Version: v, Accepted: strings.Contains(strings.Join(acc, ","), v)})
		}
		return ps
	}
	good := func() *tlsposture.CertFacts {
		return &tlsposture.CertFacts{ChainComplete: true, ChainVerifies: true, KeyType: "ecdsa", KeyBits: 256, SignatureAlgorithm: "ECDSA-SHA256",
			Chain: []tlsposture.ChainCert{{Depth: 0, Subject: "CN=mail.example.test", NotAfter: now.AddDate(0, 2, 0)}}}
	}
	with := func(change func(f *tlsposture.CertFacts)) *tlsposture.CertFacts { f := good(); change(f); return f }
	for _, c := range []struct {
		name   string
		r      *tlsposture.Result
		want   string // code/status, space separated
		status Status
	}{
		{"modern", &tlsposture.Result{Protocols: protos("TLS 1.2", "TLS 1.3"), Cert: good()}, "", OK},
		{"unreachable", &tlsposture.Result{Error: "connection refused"}, "posture_unreachable/unknown", Unknown},
		{"legacy protocols", &tlsposture.Result{Protocols: protos("TLS 1.0", "TLS 1.1", "TLS 1.2"), Cert: good()},
			"tls_legacy_protocol/warning", Warning},
		{"only legacy", &tlsposture.Result{Protocols: protos("TLS 1.0"), Cert: good()},
			"tls_legacy_protocol/warning tls_no_modern_protocol/warning", Warning},
		{"weak suite", &tlsposture.Result{Protocols: protos("TLS 1.2"), WeakCiphers: []string{"TLS_RSA_WITH_AES_128_CBC_SHA"}, Cert: good()},
			"tls_weak_cipher/warning", Warning},
		{"incomplete chain", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.ChainComplete, f.ChainDetail = false, "incomplete: the server did not send CN=R3 (fetched by AIA)"
		})}, "chain_incomplete/critical", Critical},
		{"untrusted chain", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.ChainComplete, f.ChainVerifies, f.ChainDetail = false, false, "does not reach a trusted root"
		})}, "chain_untrusted/warning", Warning},
		{"1024-bit RSA, SHA-1", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.KeyType, f.KeyBits, f.SignatureAlgorithm = "rsa", 1024, "SHA1-RSA"
		})}, "key_weak/warning signature_sha1/warning", Warning},
		{"512-bit RSA", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.KeyType, f.KeyBits, f.SignatureAlgorithm = "rsa", 512, "SHA256-RSA"
		})}, "key_weak/critical", Critical},
		{"OCSP good", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.OCSPStapled, f.OCSPStatus = true, tlsposture.OCSPGood
		})}, "", OK},
		{"OCSP revoked", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.OCSPStapled, f.OCSPStatus = true, tlsposture.OCSPRevoked
		})}, "ocsp_revoked/critical", Critical},
		{"OCSP invalid", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.OCSPStapled, f.OCSPStatus = true, tlsposture.OCSPInvalid
		})}, "ocsp_invalid/warning", Warning},
		{"intermediate expiring", &tlsposture.Result{Protocols: protos("TLS 1.2"), Cert: with(func(f *tlsposture.CertFacts) {
			f.Chain = append(f.Chain, tlsposture.ChainCert{Depth: 1, Subject: "CN=R3", NotAfter: now.Add(48 * time.Hour)},
				tlsposture.ChainCert{Depth: 2, Subject: "CN=Root", NotAfter: now.AddDate(0, 0, 10)})
		})}, "chain_cert_expiring/critical chain_cert_expiring/warning", Critical},
	} {
		t.Run(c.name, func(t *testing.T) {
			it := Posture("mail.example.test", ep, c.r, now)
			var got []string
			for _, f := range it.Findings {
				got = append(got, f.Code+"/"+string(f.Status))
				if f.Advice == "" || f.Message == "" {
					t.Errorf("%s: message %q, advice %q", f.Code, f.Message, f.Advice)
				}
			}
			if strings.Join(got, " ") != c.want || it.Status != c.status {
				t.Errorf("findings %v status %s, want %q %s", got, it.Status, c.want, c.status)
			}
		})
	}
	it := Posture("mail.example.test", ep, &tlsposture.Result{Protocols: protos("TLS 1.2", "TLS 1.3"), Cert: good()}, now)
	if want := "accepts TLS 1.2, TLS 1.3, ecdsa 256-bit key, ECDSA-SHA256, chain complete (1 sent), no OCSP staple"; it.Summary != want {
		t.Errorf("summary %q, want %q", it.Summary, want)
	}
}
