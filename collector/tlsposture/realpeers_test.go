package tlsposture

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// The real-peer tests configure Dovecot and Postfix (and haproxy for OCSP),
// run the posture check against every TLS endpoint, run `openssl s_client`
// against the same port for the same question, and require the two
// verdicts to agree. Each comparison is logged as a table row
// (| finding | server setting | endpoint | ours | openssl |); run with -v.

// tlsEndpoints are the Mail's TLS endpoints as the exporter configures them.
func tlsEndpoints(m *peers.Mail) []*config.Endpoint {
	mk := func(name string, p config.Protocol, mode config.TLSMode) *config.Endpoint {
		return &config.Endpoint{Name: name, Protocol: p, Port: m.Ports[name], TLS: mode, Timeout: 10 * time.Second}
	}
	return []*config.Endpoint{
		mk("smtp", config.SMTP, config.TLSStartTLS), mk("submission", config.SMTP, config.TLSStartTLS),
		mk("submissions", config.SMTP, config.TLSImplicit), mk("imap", config.IMAP, config.TLSStartTLS),
		mk("imaps", config.IMAP, config.TLSImplicit), mk("pop3", config.POP3, config.TLSStartTLS),
		mk("pop3s", config.POP3, config.TLSImplicit),
	}
}

func realTarget(m *peers.Mail, ep *config.Endpoint, roots, inter *x509.CertPool) probe.Target {
	return probe.Target{Server: "peer", Host: m.Host, ServerName: peers.ServerName, Endpoint: ep,
		RootCAs: roots, Intermediates: inter, EHLOName: "probe.example.test"}
}

func addrOf(m *peers.Mail, ep *config.Endpoint) string {
	return net.JoinHostPort(m.Host, strconv.Itoa(ep.Port))
}

// agree logs one row of the verdict table and fails when the two differ.
func agree(t *testing.T, finding, setting, ep, ours, theirs string) {
	t.Helper()
	t.Logf("| %s | %s | %s | %s | %s |", finding, setting, ep, ours, theirs)
	if ours != theirs {
		t.Errorf("%s on %s (%s): ours %q, openssl %q", finding, ep, setting, ours, theirs)
	}
}

func yn(b bool) string {
	if b {
		return "accepted"
	}
	return "refused"
}

// compareProtocolsAndSuites runs the posture check on every TLS endpoint
// of m and compares protocols and weak suites with s_client.
func compareProtocolsAndSuites(t *testing.T, m *peers.Mail, setting string) map[string]*Result {
	out := map[string]*Result{}
	for _, ep := range tlsEndpoints(m) {
		r := Run(context.Background(), Options{Target: realTarget(m, ep, m.CAPool, nil)})
		if r.Error != "" {
			t.Fatalf("%s: posture check could not reach the server: %s\n%s", ep.Name, r.Error, m.Logs(20))
		}
		out[ep.Name] = r
		t.Logf("%s: posture took %v", ep.Name, r.Duration.Round(time.Millisecond))
		for _, p := range r.Protocols {
			o := sClient(t, addrOf(m, ep), ep, opensslVersionFlag[p.Version], "-cipher", "DEFAULT:@SECLEVEL=0")
			_, _, ok := handshakeOK(o)
			agree(t, p.Version, setting, ep.Name, yn(p.Accepted), yn(ok))
		}
		for _, s := range WeakSuites {
			name := tls13Safe(s)
			ours := yn(contains(r.WeakCiphers, name))
			on := opensslSuite[name]
			if !opensslKnows(on) {
				// This OpenSSL cannot offer the suite, so neither can the
				// servers built on it: both must say refused.
				t.Logf("| weak suite %s | %s | %s | %s | refused (not in this OpenSSL build) |", name, setting, ep.Name, ours)
				if ours != "refused" {
					t.Errorf("%s on %s: accepted, yet no OpenSSL-based server here can offer it", name, ep.Name)
				}
				continue
			}
			o := sClient(t, addrOf(m, ep), ep, "-no_tls1_3", "-cipher", on+":@SECLEVEL=0")
			_, _, ok := handshakeOK(o)
			agree(t, "weak suite "+name, setting, ep.Name, ours, yn(ok))
		}
	}
	return out
}

func TestRealLegacyTLSEnabled(t *testing.T) {
	ca := peers.NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: []string{peers.ServerName}, KeyType: peers.KeyRSA2048})
	m := peers.StartMail(t, peers.WithCA(ca), peers.WithCert(certPEM, keyPEM), peers.WithLegacyTLS())
	rs := compareProtocolsAndSuites(t, m, "TLS 1.0+ and ALL:@SECLEVEL=0 (RSA 2048 leaf)")
	for name, r := range rs {
		if !r.Accepted("TLS 1.0") || !r.Accepted("TLS 1.1") || len(r.WeakCiphers) == 0 {
			t.Errorf("%s: the legacy server should accept TLS 1.0/1.1 and a weak suite: %+v", name, r)
		}
	}
}

func TestRealLegacyTLSDisabled(t *testing.T) {
	m := peers.StartMail(t, peers.WithModernTLS())
	rs := compareProtocolsAndSuites(t, m, "TLS 1.2+ and no RSA key exchange (ECDSA leaf)")
	for name, r := range rs {
		if r.Accepted("TLS 1.0") || r.Accepted("TLS 1.1") || !r.Accepted("TLS 1.2") || !r.Accepted("TLS 1.3") || len(r.WeakCiphers) != 0 {
			t.Errorf("%s: the modern server should accept only TLS 1.2/1.3 and no weak suite: %+v", name, r)
		}
	}
}

func TestRealIncompleteChain(t *testing.T) {
	root := peers.NewCA(t)
	inter := root.Intermediate(t, "mail_exporter test intermediate", "")
	aia := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(inter.Cert.Raw) }))
	t.Cleanup(aia.Close) // on 127.0.0.1: AIA fetches in tests stay on loopback
	leafPEM, keyPEM, _ := inter.Issue(t, peers.CertOptions{DNSNames: []string{peers.ServerName},
		IssuingCertificateURL: []string{aia.URL + "/intermediate.der"}})

	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	bundle := filepath.Join(dir, "bundle.pem")
	for f, data := range map[string][]byte{rootFile: root.PEM(), bundle: append(root.PEM(), inter.PEM()...)} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	roots, inters, err := probe.LoadCAFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	onlyRoot := root.Pool()

	for _, tc := range []struct {
		setting string
		chain   []byte
		want    bool
	}{
		{"leaf only, intermediate held back", leafPEM, false},
		{"leaf and intermediate sent", append(append([]byte{}, leafPEM...), inter.PEM()...), true},
	} {
		t.Run(strings.Fields(tc.setting)[0]+"-"+strconv.FormatBool(tc.want), func(t *testing.T) {
			m := peers.StartMail(t, peers.WithCA(root), peers.WithCert(tc.chain, keyPEM))
			for _, ep := range tlsEndpoints(m) {
				// Posture, with the ca_file bundle's intermediate and AIA on hand.
				r := Run(context.Background(), Options{Target: realTarget(m, ep, onlyRoot, inters), HTTPClient: aia.Client()})
				if r.Error != "" || r.Cert == nil {
					t.Fatalf("%s: %s", ep.Name, r.Error)
				}
				o := sClient(t, addrOf(m, ep), ep, "-showcerts", "-verify_return_error", "-CAfile", rootFile)
				code := submatch(verifyRE, o, 1)
				agree(t, "chain complete (verifies from what was sent, roots only)", tc.setting, ep.Name,
					map[bool]string{true: "complete", false: "incomplete"}[r.Cert.ChainComplete],
					map[string]string{"0": "complete", "20": "incomplete", "21": "incomplete"}[code])
				agree(t, "certificates sent", tc.setting, ep.Name, strconv.Itoa(len(r.Cert.Chain)),
					strconv.Itoa(len(certPEMRE.FindAllString(o, -1))))
				if tc.want != r.Cert.ChainComplete || !r.Cert.ChainVerifies {
					t.Errorf("%s: complete=%v verifies=%v (%s)", ep.Name, r.Cert.ChainComplete, r.Cert.ChainVerifies, r.Cert.ChainDetail)
				}
				// AIA alone (no bundle) completes it too.
				ra := Run(context.Background(), Options{Target: realTarget(m, ep, onlyRoot, nil), HTTPClient: aia.Client()})
				if ra.Cert == nil || !ra.Cert.ChainVerifies {
					t.Errorf("%s: AIA did not complete the chain: %+v", ep.Name, ra.Cert)
				}
				// The endpoint probe: strict verification, incomplete_chain.
				pr := probe.Run(context.Background(), realTarget(m, ep, roots, inters))
				wantErr := probe.VerifyError("")
				if !tc.want {
					wantErr = probe.VerifyIncompleteChain
				}
				if pr.TLS == nil || pr.TLS.VerifyError != wantErr {
					t.Errorf("%s: probe verify error %+v, want %q", ep.Name, pr.TLS, wantErr)
				}
				// s_client has no -untrusted: a CAfile holding the intermediate too
				// is how it gets one from elsewhere.
				ou := sClient(t, addrOf(m, ep), ep, "-verify_return_error", "-CAfile", bundle)
				ok := pr.TLS != nil && pr.TLS.Verified
				verdict := "verified"
				if !ok {
					verdict = string(pr.TLS.VerifyError)
				}
				theirs := "verify " + submatch(verifyRE, o, 2)
				if !tc.want {
					theirs += "; with the intermediate in -CAfile: " + submatch(verifyRE, ou, 2)
				}
				t.Logf("| probe verify error | %s | %s | %s | %s |", tc.setting, ep.Name, verdict, theirs)
				if submatch(verifyRE, ou, 1) != "0" {
					t.Errorf("%s: openssl with the intermediate given separately does not verify: %s", ep.Name, submatch(verifyRE, ou, 2))
				}
			}
		})
	}
}

func TestRealWeakKeySHA1(t *testing.T) {
	ca := peers.NewRSACA(t, "mail_exporter test RSA CA")
	certPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: []string{peers.ServerName},
		KeyType: peers.KeyRSA1024, SignatureAlgorithm: x509.SHA1WithRSA})
	m := peers.StartMail(t, peers.WithCA(ca), peers.WithCert(certPEM, keyPEM), peers.WithLegacyTLS())
	setting := "RSA 1024 leaf signed SHA1-RSA, SECLEVEL=0"
	for _, ep := range tlsEndpoints(m) {
		r := Run(context.Background(), Options{Target: realTarget(m, ep, m.CAPool, nil)})
		if r.Error != "" || r.Cert == nil {
			t.Fatalf("%s: %s", ep.Name, r.Error)
		}
		o := sClient(t, addrOf(m, ep), ep, "-showcerts", "-cipher", "DEFAULT:@SECLEVEL=0")
		txt := leafText(t, o)
		agree(t, "leaf key", setting, ep.Name, r.Cert.KeyType+" "+strconv.Itoa(r.Cert.KeyBits),
			"rsa "+submatch(keyBitsRE, txt, 1))
		agree(t, "leaf signature", setting, ep.Name, opensslSigName[r.Cert.SignatureAlgorithm], submatch(sigAlgRE, txt, 1))
		ov := sClient(t, addrOf(m, ep), ep, "-verify_return_error", "-CAfile", m.CAFile, "-cipher", "DEFAULT:@SECLEVEL=0")
		agree(t, "chain complete (SHA-1 leaf; OpenSSL at SECLEVEL=0)", setting, ep.Name,
			map[bool]string{true: "complete", false: "incomplete"}[r.Cert.ChainComplete],
			map[string]string{"0": "complete", "20": "incomplete", "21": "incomplete"}[submatch(verifyRE, ov, 1)])
		if r.Cert.KeyBits != 1024 || r.Cert.SignatureAlgorithm != "SHA1-RSA" {
			t.Errorf("%s: %+v", ep.Name, r.Cert)
		}
	}
}

func TestRealOCSPStapling(t *testing.T) {
	m := peers.StartMail(t)
	for _, tc := range []struct {
		name   string
		status peers.OCSPStatus
		want   string
	}{
		{"none", "", "no staple"},
		{"good", peers.OCSPGood, OCSPGood},
		{"revoked", peers.OCSPRevoked, OCSPRevoked},
	} {
		certPEM, keyPEM, leaf := m.CA.Issue(t, peers.CertOptions{DNSNames: []string{peers.ServerName}})
		var der []byte
		if tc.status != "" {
			der = m.CA.OCSPResponse(t, leaf, tc.status)
		}
		h := m.StartHAProxy(t, peers.HAProxyOptions{Name: tc.name, Backend: "imap", CertPEM: certPEM, KeyPEM: keyPEM, Issuer: m.CA, OCSPDER: der})
		ep := &config.Endpoint{Name: "imaps", Protocol: config.IMAP, Port: h.Port, TLS: config.TLSImplicit, Timeout: 10 * time.Second}
		r := Run(context.Background(), Options{Target: realTarget(m, ep, m.CAPool, nil)})
		if r.Error != "" || r.Cert == nil {
			t.Fatalf("%s: %s", tc.name, r.Error)
		}
		ours := "no staple"
		if r.Cert.OCSPStapled {
			ours = r.Cert.OCSPStatus
		}
		o := sClient(t, addrOf(m, ep), ep, "-status")
		theirs := "no staple"
		if strings.Contains(o, "OCSP Response Status: successful") {
			theirs = strings.TrimSpace(submatch(certStatusRE, o, 1))
		}
		agree(t, "OCSP staple", "haproxy "+tc.name+" staple", "imaps (haproxy)", ours, theirs)
		if ours != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, ours, r.Cert.OCSPDetail, tc.want)
		}
	}
}
