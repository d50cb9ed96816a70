package tlsposture

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// serve runs a loopback SMTP server that does STARTTLS with cfg (or
// implicit TLS) and returns its port.
func serve(t *testing.T, cfg *tls.Config, implicit bool) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if !implicit {
					r := bufio.NewReader(c)
					c.Write([]byte("220 fake ESMTP\r\n"))
					if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "EHLO") {
						return
					}
					c.Write([]byte("250-fake\r\n250 STARTTLS\r\n"))
					if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "STARTTLS") {
						return
					}
					c.Write([]byte("220 go ahead\r\n"))
				}
				tc := tls.Server(c, cfg)
				if tc.Handshake() != nil {
					return
				}
				tc.Write([]byte("220 fake ESMTP\r\n"))
				buf := make([]byte, 512)
				tc.Read(buf)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func target(port int, roots, inter *x509.CertPool, implicit bool) probe.Target {
	mode := config.TLSStartTLS
	if implicit {
		mode = config.TLSImplicit
	}
	return probe.Target{
		Server: "t", Host: "127.0.0.1", ServerName: "mail.example.test", EHLOName: "probe.test",
		RootCAs: roots, Intermediates: inter,
		Endpoint: &config.Endpoint{Name: "smtp", Protocol: config.SMTP, Port: port, TLS: mode, Timeout: 5 * time.Second},
	}
}

func keyPair(t *testing.T, certPEM, keyPEM []byte) tls.Certificate {
	t.Helper()
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func accepted(r *Result) []string {
	var v []string
	for _, p := range r.Protocols {
		if p.Accepted {
			v = append(v, p.Version)
		}
	}
	return v
}

func TestModernServer(t *testing.T) {
	ca := peers.NewCA(t)
	inter := ca.Intermediate(t, "test intermediate", "")
	leafPEM, keyPEM, _ := inter.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"}})
	kp := keyPair(t, append(leafPEM, inter.PEM()...), keyPEM)
	for _, implicit := range []bool{false, true} {
		port := serve(t, &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}, implicit)
		r := Run(context.Background(), Options{Target: target(port, ca.Pool(), nil, implicit)})
		if r.Error != "" {
			t.Fatalf("error: %s", r.Error)
		}
		if got, want := accepted(r), []string{"TLS 1.2", "TLS 1.3"}; !slices.Equal(got, want) {
			t.Errorf("implicit=%v accepted %v, want %v", implicit, got, want)
		}
		if len(r.WeakCiphers) != 0 {
			t.Errorf("weak %v", r.WeakCiphers)
		}
		f := r.Cert
		if !f.ChainComplete || !f.ChainVerifies || f.KeyType != "ecdsa" || f.KeyBits != 256 ||
			f.SignatureAlgorithm != "ECDSA-SHA256" || f.OCSPStapled || len(f.Chain) != 2 || f.Chain[1].Subject != inter.Cert.Subject.String() {
			t.Errorf("cert facts %+v", f)
		}
	}
}

func TestLegacyServerWeakSuites(t *testing.T) {
	ca := peers.NewCA(t)
	leafPEM, keyPEM, _ := ca.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"}, KeyType: peers.KeyRSA1024})
	kp := keyPair(t, leafPEM, keyPEM)
	suites := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}
	port := serve(t, &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: suites}, false)
	r := Run(context.Background(), Options{Target: target(port, ca.Pool(), nil, false)})
	if r.Error != "" {
		t.Fatalf("error: %s", r.Error)
	}
	if got, want := accepted(r), []string{"TLS 1.0", "TLS 1.1", "TLS 1.2"}; !slices.Equal(got, want) {
		t.Errorf("accepted %v, want %v", got, want)
	}
	slices.Sort(r.WeakCiphers)
	if want := []string{"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}; !slices.Equal(r.WeakCiphers, want) {
		t.Errorf("weak %v, want %v", r.WeakCiphers, want)
	}
	if f := r.Cert; f.KeyType != "rsa" || f.KeyBits != 1024 || !f.ChainComplete {
		t.Errorf("cert facts %+v", f)
	}
}

func TestIncompleteChain(t *testing.T) {
	ca := peers.NewCA(t)
	inter := ca.Intermediate(t, "held-back intermediate", "")
	aia := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(inter.Cert.Raw) }))
	t.Cleanup(aia.Close)
	leafPEM, keyPEM, _ := inter.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"},
		IssuingCertificateURL: []string{aia.URL + "/inter.der"}})
	port := serve(t, &tls.Config{Certificates: []tls.Certificate{keyPair(t, leafPEM, keyPEM)}}, false)

	cases := []struct {
		name     string
		inter    *x509.CertPool
		hc       *http.Client
		verifies bool
		detail   string
	}{
		{"alone", nil, nil, false, "does not reach a trusted root"},
		{"ca_file", inter.Pool(), nil, true, "(found in the ca_file)"},
		{"aia", nil, aia.Client(), true, "(fetched by AIA)"},
	}
	for _, tc := range cases {
		r := Run(context.Background(), Options{Target: target(port, ca.Pool(), tc.inter, false), HTTPClient: tc.hc})
		if r.Error != "" {
			t.Fatalf("%s: %s", tc.name, r.Error)
		}
		f := r.Cert
		if f.ChainComplete || f.ChainVerifies != tc.verifies || !strings.Contains(f.ChainDetail, tc.detail) {
			t.Errorf("%s: complete=%v verifies=%v detail %q", tc.name, f.ChainComplete, f.ChainVerifies, f.ChainDetail)
		}
	}
}

func TestOCSPStaple(t *testing.T) {
	ca := peers.NewCA(t)
	leafPEM, keyPEM, leaf := ca.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"}})
	now := time.Now()
	for _, tc := range []struct {
		name   string
		status int
		next   time.Time
		want   string
	}{
		{"good", ocsp.Good, now.Add(time.Hour), OCSPGood},
		{"revoked", ocsp.Revoked, now.Add(time.Hour), OCSPRevoked},
		{"unknown", ocsp.Unknown, now.Add(time.Hour), OCSPUnknown},
		{"expired", ocsp.Good, now.Add(-time.Minute), OCSPInvalid},
		{"garbage", -1, time.Time{}, OCSPInvalid},
	} {
		kp := keyPair(t, leafPEM, keyPEM)
		if tc.status >= 0 {
			der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: tc.status, SerialNumber: leaf.SerialNumber,
				ThisUpdate: now.Add(-2 * time.Hour), NextUpdate: tc.next, RevokedAt: now.Add(-time.Hour)}, ca.Key)
			if err != nil {
				t.Fatal(err)
			}
			kp.OCSPStaple = der
		} else {
			kp.OCSPStaple = []byte("not DER")
		}
		port := serve(t, &tls.Config{Certificates: []tls.Certificate{kp}}, true)
		r := Run(context.Background(), Options{Target: target(port, ca.Pool(), nil, true)})
		if r.Error != "" {
			t.Fatalf("%s: %s", tc.name, r.Error)
		}
		if f := r.Cert; !f.OCSPStapled || f.OCSPStatus != tc.want {
			t.Errorf("%s: stapled=%v status=%q (%s), want %q", tc.name, f.OCSPStapled, f.OCSPStatus, f.OCSPDetail, tc.want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := Run(context.Background(), Options{Target: target(port, nil, nil, false)})
	if r.Error == "" || r.Protocols != nil || r.Cert != nil {
		t.Errorf("want an error and no verdicts, got %+v", r)
	}
}
