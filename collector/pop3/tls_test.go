package pop3

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"
)

type tlsPair struct{ server, client tls.Config }

// testTLS makes a self-signed certificate for 127.0.0.1 and the configs of
// both ends: the client trusts exactly that certificate.
func testTLS(t *testing.T) *tlsPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pop3 test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	p := &tlsPair{}
	p.server.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	p.client.RootCAs = pool
	p.client.ServerName = "127.0.0.1"
	return p
}

func TestSTLS(t *testing.T) {
	pair := testTLS(t)
	d := &pop3d{tls: &pair.server, caps: []string{"USER"}, user: "probe", pass: "s3cret"}
	c, raw := serve(t, d.serve)
	c.Greeting()
	caps, err := c.Capa()
	if err != nil || !HasCapability(caps, "STLS") {
		t.Fatalf("Capa() = %q, %v", caps, err)
	}
	if err := c.StartTLS(); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(raw, &pair.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.Upgrade(tc)
	// RFC 2595 section 4: capabilities are asked again after TLS.
	if caps, err = c.Capa(); err != nil || !reflect.DeepEqual(caps, []string{"USER"}) {
		t.Fatalf("Capa() after TLS = %q, %v", caps, err)
	}
	if err := c.StartTLS(); err == nil {
		t.Error("second STLS accepted")
	}
	if err := c.User("probe"); err != nil {
		t.Fatal(err)
	}
	if err := c.Pass("s3cret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if !tc.ConnectionState().HandshakeComplete {
		t.Error("handshake not complete")
	}
}

func TestSTLSRefused(t *testing.T) {
	c, _ := serve(t, (&pop3d{}).serve)
	c.Greeting()
	wantPOP3Err(t, c.StartTLS(), "STLS", "")
}
