package probe

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// handshake brings up TLS on the current connection. Verification is done
// by us after the handshake, not by crypto/tls during it, so that the
// certificate's facts are recorded even when it is expired, for another
// name, or from an unknown CA: the metrics must say "expired", not "down".
func (s *session) handshake(ctx context.Context) error {
	if s.handoff != nil {
		return &handedOff{err: s.handoff(ctx, s.guard)}
	}
	done := s.phase(PhaseTLSHandshake)
	cfg := &tls.Config{
		ServerName:         s.t.ServerName,
		InsecureSkipVerify: true, // verified below with x509.Verify, see above
		// Old servers are reported (mail_tls_version_info), not failed.
		MinVersion: tls.VersionTLS10,
	}
	share := keyShareKey{netip.AddrPortFrom(s.addr, uint16(s.t.Endpoint.Port)), s.t.ServerName}
	cfg.CurvePreferences = s.t.KeyShares.offer(share, s.now())
	tc := tls.Client(s.guard, cfg)
	err := tc.HandshakeContext(ctx)
	done()
	if err != nil {
		s.t.KeyShares.forget(share)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(ReasonTLSHandshake, fmt.Errorf("TLS handshake: %w", err))
	}
	state := tc.ConnectionState()
	if cfg.CurvePreferences == nil {
		s.t.KeyShares.learn(share, state.CurveID, s.now())
	}
	facts := tlsFacts(state, s.t.RootCAs, s.t.Intermediates, s.t.ServerName, s.now(), s.t.Chains)
	s.r.TLS = facts
	s.tls = tc
	s.setConn(tc)
	s.log.Debug("TLS up", "version", facts.Version, "cipher", facts.Cipher,
		"verified", facts.Verified, "verify_error", string(facts.VerifyError))
	if !facts.Verified && s.t.Endpoint.VerifyCertificate {
		return fail(ReasonCertificate, fmt.Errorf("certificate %s: %s", facts.VerifyError, facts.VerifyDetail))
	}
	return nil
}

// tlsFacts extracts what the metrics need from a finished handshake and
// verifies the presented chain against roots (nil = system roots) and name.
// extra holds intermediates known from elsewhere: they are used only to
// tell a missing intermediate (incomplete_chain) from an unknown CA. With
// cache, a chain that verified before is not verified again while its
// verdict holds (see ChainCache).
func tlsFacts(state tls.ConnectionState, roots, extra *x509.CertPool, name string, now time.Time, cache *ChainCache) *TLSFacts {
	version, cipher := tls.VersionName(state.Version), cipherSuiteName(state.CipherSuite)
	certs := state.PeerCertificates
	if len(certs) == 0 {
		return &TLSFacts{Version: version, Cipher: cipher, VerifyError: VerifyOther, VerifyDetail: "no certificate presented"}
	}
	var key chainKey
	if cache != nil {
		key = chainKeyOf(certs, roots, name)
		if f, ok := cache.get(key, now); ok {
			f.Version, f.Cipher = version, cipher
			return &f
		}
	}
	f := &TLSFacts{Version: version, Cipher: cipher}
	leaf := certs[0]
	f.NotBefore, f.NotAfter = leaf.NotBefore, leaf.NotAfter
	f.Subject = leaf.Subject.String()
	f.Issuer = leaf.Issuer.String()
	f.Serial = leaf.SerialNumber.Text(16)
	f.DNSNames = strings.Join(leaf.DNSNames, ",")
	sum := sha256.Sum256(leaf.Raw)
	f.Fingerprint = hex.EncodeToString(sum[:])

	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       name,
		CurrentTime:   now,
	})
	if cache != nil {
		cache.verified.Add(1)
	}
	chain := certs
	if err == nil && len(chains) > 0 {
		f.Verified = true
		chain = chains[0]
	} else {
		f.VerifyError, f.VerifyDetail = classifyVerifyError(err, leaf, now), errString(err)
		if f.VerifyError == VerifyUnknownAuthority && extra != nil {
			f.VerifyError, f.VerifyDetail = retryWithExtra(leaf, certs[1:], roots, extra, name, now, f.VerifyError, f.VerifyDetail)
		}
	}
	f.ChainNotAfter = earliestNotAfter(chain)
	if f.Verified && cache != nil {
		cache.put(key, *f, latestNotBefore(chain), f.ChainNotAfter, now)
	}
	return f
}

// retryWithExtra verifies leaf again with the intermediates known from
// elsewhere added. If that succeeds, the server's chain is incomplete; if it
// fails otherwise than for an unknown authority (the name, a date), that is
// the more telling error.
func retryWithExtra(leaf *x509.Certificate, sent []*x509.Certificate, roots, extra *x509.CertPool, name string, now time.Time,
	prev VerifyError, prevDetail string) (VerifyError, string) {
	inter := extra.Clone()
	for _, c := range sent {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
	if err == nil && len(chains) > 0 {
		var missing []string
		for _, c := range chains[0][1 : len(chains[0])-1] {
			if !containsCert(sent, c) {
				missing = append(missing, c.Subject.String())
			}
		}
		return VerifyIncompleteChain, fmt.Sprintf("the server did not send the intermediate certificate %s; the chain verifies only with it",
			strings.Join(missing, ", "))
	}
	if e := classifyVerifyError(err, leaf, now); e != VerifyUnknownAuthority {
		return e, errString(err)
	}
	return prev, prevDetail
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// classifyVerifyError maps x509's error to the `error` label.
func classifyVerifyError(err error, leaf *x509.Certificate, now time.Time) VerifyError {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		if now.Before(invalid.Cert.NotBefore) || now.Before(leaf.NotBefore) {
			return VerifyNotYetValid
		}
		return VerifyExpired
	case errors.As(err, &unknown):
		return VerifyUnknownAuthority
	case errors.As(err, &host):
		return VerifyHostnameMismatch
	}
	return VerifyOther
}

func earliestNotAfter(chain []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range chain {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

func errString(err error) string {
	if err == nil {
		return "no chain"
	}
	return err.Error()
}

// cipherSuiteNames is tls.CipherSuiteName for every suite crypto/tls knows,
// built once: tls.CipherSuiteName builds both suite lists on every call, and
// every TLS probe asks.
var cipherSuiteNames = sync.OnceValue(func() map[uint16]string {
	m := map[uint16]string{}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, c := range list {
			m[c.ID] = c.Name
		}
	}
	return m
})

func cipherSuiteName(id uint16) string {
	if n, ok := cipherSuiteNames()[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}
