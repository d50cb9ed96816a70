package peers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"
)

// Intermediate issues a CA certificate for name signed by ca (a
// CA -> intermediate -> leaf chain for chain tests). Its key is ECDSA
// P-256, or RSA 2048 with KeyRSA2048 (to sign SHA1-RSA leaves).
func (ca *CA) Intermediate(t testing.TB, name string, kt KeyType) *CA {
	t.Helper()
	c, err := ca.subCA(name, kt)
	if err != nil {
		t.Fatalf("peers: intermediate CA: %v", err)
	}
	return c
}

// NewRSACA generates a self-signed root with an RSA 2048 key, valid ten
// years: the issuer of SHA1-RSA test leaves.
func NewRSACA(t testing.TB, name string) *CA {
	t.Helper()
	c, err := (*CA)(nil).subCA(name, KeyRSA2048)
	if err != nil {
		t.Fatalf("peers: RSA CA: %v", err)
	}
	return c
}

// subCA makes a CA certificate signed by parent, or self-signed when
// parent is nil.
func (parent *CA) subCA(name string, kt KeyType) (*CA, error) {
	var key crypto.Signer
	var err error
	if kt == KeyRSA2048 {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mail_exporter tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        parent != nil,
		SubjectKeyId:          keyID(key.Public()),
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
		tmpl.AuthorityKeyId = parent.Cert.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// KeyPEM returns the CA's private key as PKCS#8 PEM, for tools such as
// `openssl ocsp` that sign on its behalf.
func (ca *CA) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatalf("peers: CA key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
