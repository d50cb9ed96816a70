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
	"fmt"
	"math/big"
	"net"
	"time"
)

// CertCase names the shape of a server's certificate chain for performance
// measurements, where what the chain costs a client matters.
type CertCase string

const (
	// CertRSAChain is an RSA-2048 leaf sent with its RSA-2048 intermediate under an
	// RSA-2048 root: the shape most public CAs issue, and most mail servers present.
	CertRSAChain CertCase = "rsa2048-chain"
	// CertECDSA is an ECDSA P-256 leaf signed by an ECDSA P-256 root: the cheap case.
	CertECDSA CertCase = "ecdsa-p256"
)

// CertCases lists every CertCase.
var CertCases = []CertCase{CertRSAChain, CertECDSA}

// Chain is a throw-away PKI of one CertCase: pass ChainPEM and KeyPEM to WithCert and
// trust RootPEM alone.
type Chain struct {
	ChainPEM []byte // leaf first, then any intermediate
	KeyPEM   []byte // the leaf's key, PKCS#8
	RootPEM  []byte
	Roots    *x509.CertPool
}

// NewChain makes a root, an intermediate for CertRSAChain, and a leaf for ServerName,
// localhost, 127.0.0.1, 127.0.0.2 and ::1, valid for a day.
func NewChain(kind CertCase) (*Chain, error) {
	var newKey func() (crypto.Signer, error)
	switch kind {
	case CertRSAChain:
		newKey = func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }
	case CertECDSA:
		newKey = func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	default:
		return nil, fmt.Errorf("unknown certificate case %q (want one of %v)", kind, CertCases)
	}
	now := time.Now()
	caTmpl := func(name string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	}
	rootKey, err := newKey()
	if err != nil {
		return nil, err
	}
	root, err := sign(caTmpl(string(kind)+" root"), nil, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	c := &Chain{RootPEM: pemCert(root), Roots: x509.NewCertPool()}
	c.Roots.AddCert(root)
	issuer, issuerKey := root, rootKey
	var sent []*x509.Certificate
	if kind == CertRSAChain {
		intKey, err := newKey()
		if err != nil {
			return nil, err
		}
		intTmpl := caTmpl(string(kind) + " intermediate")
		intTmpl.MaxPathLenZero = true
		if issuer, err = sign(intTmpl, root, intKey.Public(), rootKey); err != nil {
			return nil, err
		}
		issuerKey = intKey
		sent = append(sent, issuer)
	}
	leafKey, err := newKey()
	if err != nil {
		return nil, err
	}
	leaf, err := sign(&x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ServerName},
		DNSNames:    []string{ServerName, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, issuer, leafKey.Public(), issuerKey)
	if err != nil {
		return nil, err
	}
	for _, cert := range append([]*x509.Certificate{leaf}, sent...) {
		c.ChainPEM = append(c.ChainPEM, pemCert(cert)...)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return nil, err
	}
	c.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return c, nil
}

// sign issues tmpl from parent (nil: self-signed) and parses the result.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, by crypto.Signer) (*x509.Certificate, error) {
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, by)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
