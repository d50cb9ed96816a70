package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// The certificate cases the farm can present. Real fleets mostly present
// an RSA-2048 leaf issued by an intermediate (the shape of every large
// public CA); ECDSA P-256 straight from the root is the cheap case.
const (
	certECDSA   = "ecdsa-p256"    // ECDSA P-256 leaf, signed by the root
	certRSAInt  = "rsa2048-chain" // RSA-2048 leaf + RSA-2048 intermediate, RSA-2048 root
	rsaKeyBits  = 2048
	farmCAValid = 30 * 24 * time.Hour
)

var certCases = []string{certECDSA, certRSAInt}

// farmPKI makes a throw-away CA and a leaf for farmName and 127.0.0.1 in
// the given certificate case. It returns the server's TLS config (the chain
// it sends: leaf, then any intermediate) and the root as PEM.
func farmPKI(kind string) (*tls.Config, []byte, error) {
	var newKey func() (crypto.Signer, error)
	switch kind {
	case certECDSA:
		newKey = func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	case certRSAInt:
		newKey = func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, rsaKeyBits) }
	default:
		return nil, nil, fmt.Errorf("unknown certificate case %q (want one of %v)", kind, certCases)
	}
	now := time.Now()
	rootKey, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	rootTmpl := caTemplate(1, "mail_loadtest farm CA", now)
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, nil, err
	}
	issuer, _ := x509.ParseCertificate(rootDER)
	issuerKey := rootKey
	var chain [][]byte
	if kind == certRSAInt {
		intKey, err := newKey()
		if err != nil {
			return nil, nil, err
		}
		intTmpl := caTemplate(3, "mail_loadtest farm intermediate", now)
		intTmpl.MaxPathLenZero = true
		intDER, err := x509.CreateCertificate(rand.Reader, intTmpl, issuer, intKey.Public(), rootKey)
		if err != nil {
			return nil, nil, err
		}
		issuer, _ = x509.ParseCertificate(intDER)
		issuerKey = intKey
		chain = append(chain, intDER)
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: farmName},
		DNSNames:     []string{farmName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(farmCAValid),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, issuer, key.Public(), issuerKey)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: append([][]byte{leafDER}, chain...), PrivateKey: key}},
		// No tickets: nobody resumes, and issuing them costs the farm.
		SessionTicketsDisabled: true,
	}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), nil
}

func caTemplate(serial int64, name string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(farmCAValid),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}
