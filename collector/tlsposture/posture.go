// Package tlsposture checks what a mail server's TLS endpoint allows, beyond
// what one probe negotiates (SPEC 6.2, at the depth of testssl.sh and
// internet.nl): which of TLS 1.0-1.3 it accepts, whether it accepts a cipher
// suite from the weak list (weak.go), whether the chain it sends is complete,
// the leaf's key and signature algorithm, the OCSP staple, and the expiry of
// every certificate sent.
//
// It reaches each handshake through probe.HandshakeWith (the probe's own
// dialling, greeting and STARTTLS), one connection per question, and knows
// nothing of scheduling or HTTP: Run is a function from Options to Result.
package tlsposture

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// Options are one posture check's whole world.
type Options struct {
	// Target is the endpoint, as the endpoint probe reaches it. Its
	// Endpoint.Timeout bounds each handshake; RootCAs and Intermediates
	// (the ca_file's) are used for the chain verdict.
	Target probe.Target
	// HTTPClient fetches missing intermediates named by the certificates'
	// Authority Information Access (RFC 5280 4.2.2.1); nil = no AIA fetch.
	HTTPClient *http.Client
}

// Versions are the protocol versions asked about, oldest first.
var Versions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// Protocol is the verdict for one TLS version.
type Protocol struct {
	Version  string // "TLS 1.0", as crypto/tls names it
	Accepted bool
	Detail   string // the refusal, for humans
}

// Result is what one posture check found: plain data, no connections.
type Result struct {
	Start    time.Time
	Duration time.Duration
	// Error is set when the server could not be asked (no connection, no
	// STARTTLS, a timeout): then nothing below is a verdict.
	Error string

	Protocols []Protocol // one per Versions entry, when Error is ""
	// WeakCiphers are the suites of the weak list the server accepted, in
	// the order found.
	WeakCiphers []string
	// Cert is what the handshake at the highest accepted version showed;
	// nil when no version was accepted.
	Cert *CertFacts
}

// Accepted reports whether version v ("TLS 1.0") was accepted.
func (r *Result) Accepted(v string) bool {
	for _, p := range r.Protocols {
		if p.Version == v {
			return p.Accepted
		}
	}
	return false
}

// Run asks the questions, one handshake each, and never panics on what the
// server sends. ctx bounds the whole check.
func Run(ctx context.Context, o Options) *Result {
	now := o.Target.Now
	if now == nil {
		now = time.Now
		o.Target.Now = now
	}
	r := &Result{Start: now()}
	defer func() { r.Duration = now().Sub(r.Start) }()

	var best *tls.ConnectionState
	// Newest first: the first handshake that works gives the certificate
	// facts, as a current client would see them.
	protos := make([]Protocol, len(Versions))
	for i := len(Versions) - 1; i >= 0; i-- {
		v := Versions[i]
		st, err := handshake(ctx, o.Target, versionConfig(o.Target.ServerName, v))
		p := Protocol{Version: tls.VersionName(v)}
		switch {
		case err == nil && st.Version == v:
			p.Accepted = true
			if best == nil {
				best = st
			}
		case err == nil:
			p.Detail = "server chose " + tls.VersionName(st.Version)
		case errors.Is(err, probe.ErrHandshake):
			p.Detail = err.Error()
		default:
			r.Error = err.Error()
			return r
		}
		protos[i] = p
	}
	r.Protocols = protos

	weak, err := weakScan(ctx, o.Target)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.WeakCiphers = weak
	if best != nil {
		r.Cert = certFacts(ctx, o, best, now())
	}
	return r
}

func handshake(ctx context.Context, t probe.Target, cfg *tls.Config) (*tls.ConnectionState, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return probe.HandshakeWith(ctx, t, cfg)
}

// versionConfig offers exactly version v, with every suite Go can speak so
// that the answer is about the version, not a suite preference.
func versionConfig(name string, v uint16) *tls.Config {
	return &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: true, // the chain is judged by certFacts, not here
		MinVersion:         v,
		MaxVersion:         v,
		CipherSuites:       allSuites(),
	}
}

func allSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

// CertFacts describe the certificates of one handshake.
type CertFacts struct {
	// ChainComplete: what the server sent reaches a trusted root without
	// intermediates from anywhere else (the ca_file's, AIA).
	ChainComplete bool
	// ChainVerifies: the chain reaches a trusted root at all, with help
	// from elsewhere where needed.
	ChainVerifies bool
	ChainDetail   string // what was missing, or why it does not verify

	KeyType            string // rsa | ecdsa | ed25519 | other
	KeyBits            int
	SignatureAlgorithm string // as Go names it: SHA256-RSA, SHA1-RSA, ECDSA-SHA256

	OCSPStapled bool
	OCSPStatus  string // good | revoked | unknown | invalid, when stapled
	OCSPDetail  string

	Chain []ChainCert // every certificate sent, leaf first
}

// ChainCert is one certificate as sent.
type ChainCert struct {
	Depth    int
	Subject  string
	NotAfter time.Time
}

var errNoCertificate = errors.New("no certificate presented")

func certFacts(ctx context.Context, o Options, st *tls.ConnectionState, now time.Time) *CertFacts {
	f := &CertFacts{}
	certs := st.PeerCertificates
	if len(certs) == 0 {
		f.ChainDetail = errNoCertificate.Error()
		return f
	}
	for i, c := range certs {
		f.Chain = append(f.Chain, ChainCert{Depth: i, Subject: c.Subject.String(), NotAfter: c.NotAfter})
	}
	leaf := certs[0]
	f.KeyType, f.KeyBits = keyOf(leaf)
	f.SignatureAlgorithm = leaf.SignatureAlgorithm.String()
	issuer := judgeChain(ctx, o, f, certs, now)
	ocspFacts(f, st.OCSPResponse, leaf, issuer, now)
	return f
}

// issuerOf finds leaf's issuer among certs by name.
func issuerOf(leaf *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if string(c.RawSubject) == string(leaf.RawIssuer) {
			return c
		}
	}
	return nil
}
