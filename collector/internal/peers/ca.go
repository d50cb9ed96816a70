package peers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// KeyType selects the key algorithm of a certificate issued by a CA.
type KeyType string

// Supported key types. The zero value means KeyECDSA.
const (
	KeyECDSA   KeyType = "ecdsa"   // ECDSA P-256
	KeyRSA2048 KeyType = "rsa2048" // RSA 2048 bits
	KeyRSA1024 KeyType = "rsa1024" // RSA 1024 bits: too weak, for posture tests
)

// CertOptions describes a leaf certificate for CA.Issue.
type CertOptions struct {
	// CommonName of the subject; defaults to the first DNS name, else "peers test leaf".
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	// NotBefore defaults to one hour ago, NotAfter to NotBefore+90 days. Set both in the
	// past for an expired certificate, in the future for a not-yet-valid one.
	NotBefore time.Time
	NotAfter  time.Time
	KeyType   KeyType
	// SignatureAlgorithm defaults to what x509 picks for the CA's key; e.g.
	// x509.SHA1WithRSA for a SHA-1-signed leaf (an RSA CA is needed).
	SignatureAlgorithm x509.SignatureAlgorithm
	// IssuingCertificateURL is the leaf's AIA caIssuers (RFC 5280 4.2.2.1).
	IssuingCertificateURL []string
}

// CA is a throw-away certificate authority for tests. Its key lives only in memory.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	certPEM []byte
}

// NewCA generates a self-signed ECDSA P-256 root valid from one hour ago for ten years.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := newCA("mail_exporter test CA")
	if err != nil {
		t.Fatalf("peers: new CA: %v", err)
	}
	return ca
}

func newCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mail_exporter tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          keyID(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// PEM returns the CA certificate in PEM form.
func (ca *CA) PEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool returns a new pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteFile writes the CA certificate as PEM into dir (0644) and returns the path.
func (ca *CA) WriteFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, ca.certPEM, 0o644); err != nil {
		t.Fatalf("peers: write CA: %v", err)
	}
	return p
}

// Issue signs a server certificate (serverAuth, also usable as clientAuth). keyPEM is PKCS#8.
func (ca *CA) Issue(t testing.TB, opts CertOptions) (certPEM, keyPEM []byte, leaf *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM, leaf, err := ca.issue(opts)
	if err != nil {
		t.Fatalf("peers: issue certificate: %v", err)
	}
	return certPEM, keyPEM, leaf
}

func (ca *CA) issue(opts CertOptions) (certPEM, keyPEM []byte, leaf *x509.Certificate, err error) {
	var key crypto.Signer
	switch opts.KeyType {
	case "", KeyECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA1024:
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	default:
		return nil, nil, nil, &unknownKeyTypeError{opts.KeyType}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	nb, na := opts.NotBefore, opts.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = nb.Add(90 * 24 * time.Hour)
	}
	cn := opts.CommonName
	if cn == "" {
		if len(opts.DNSNames) > 0 {
			cn = opts.DNSNames[0]
		} else {
			cn = "peers test leaf"
		}
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              opts.DNSNames,
		IPAddresses:           opts.IPs,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
		SignatureAlgorithm:    opts.SignatureAlgorithm,
		IssuingCertificateURL: opts.IssuingCertificateURL,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, nil, err
	}
	leaf, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		leaf, nil
}

type unknownKeyTypeError struct{ kt KeyType }

func (e *unknownKeyTypeError) Error() string { return "unknown key type " + string(e.kt) }

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}
