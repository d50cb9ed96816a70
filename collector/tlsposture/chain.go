package tlsposture

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// judgeChain decides ChainComplete and ChainVerifies and returns the leaf's
// issuer where known (for OCSP). The chain is judged without the name (that
// is the endpoint probe's hostname_mismatch) and, for an expired leaf, at a
// time inside its validity: completeness is about what was sent.
//
// Order: what the server sent alone; then with the ca_file's intermediates;
// then with intermediates fetched by AIA. Only the first makes a chain
// complete.
func judgeChain(ctx context.Context, o Options, f *CertFacts, certs []*x509.Certificate, now time.Time) *x509.Certificate {
	leaf, sent := certs[0], certs[1:]
	at := judgeTime(leaf, now)
	roots := o.Target.RootCAs

	if refusedByGo(leaf.SignatureAlgorithm) {
		return judgeAboveLeaf(f, leaf, sent, roots, at, x509.InsecureAlgorithmError(leaf.SignatureAlgorithm))
	}
	chain, err := verify(leaf, roots, pool(nil, sent), at)
	if err == nil {
		f.ChainComplete, f.ChainVerifies = true, true
		return issuerIn(chain)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		f.ChainDetail = err.Error()
		return issuerOf(leaf, sent)
	}
	if o.Target.Intermediates != nil {
		if chain, err := verify(leaf, roots, pool(o.Target.Intermediates, sent), at); err == nil {
			f.ChainVerifies = true
			f.ChainDetail = "incomplete: the server did not send " + missing(chain, sent) + " (found in the ca_file)"
			return issuerIn(chain)
		}
	}
	if o.HTTPClient != nil {
		fetched, ferr := fetchIssuers(ctx, o.HTTPClient, leaf, sent)
		if len(fetched) > 0 {
			inter := pool(o.Target.Intermediates, sent)
			for _, c := range fetched {
				inter.AddCert(c)
			}
			if chain, err := verify(leaf, roots, inter, at); err == nil {
				f.ChainVerifies = true
				f.ChainDetail = "incomplete: the server did not send " + missing(chain, sent) + " (fetched by AIA)"
				return issuerIn(chain)
			}
		}
		if ferr != nil {
			err = fmt.Errorf("%w; AIA: %w", err, ferr)
		}
	}
	f.ChainDetail = "does not reach a trusted root: " + err.Error()
	return issuerOf(leaf, sent)
}

// refusedByGo reports the signature algorithms crypto/x509 no longer
// verifies on certificates (SHA-1 since Go 1.18, MD5 long before).
func refusedByGo(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return true
	}
	return false
}

// verify builds a chain from leaf to roots for any key usage.
func verify(leaf *x509.Certificate, roots, inter *x509.CertPool, at time.Time) ([]*x509.Certificate, error) {
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, err
	}
	return chains[0], nil
}

// judgeTime is now, or for a leaf outside its validity a moment inside it.
func judgeTime(leaf *x509.Certificate, now time.Time) time.Time {
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	return now
}

func pool(base *x509.CertPool, certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	if base != nil {
		p = base.Clone()
	}
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func issuerIn(chain []*x509.Certificate) *x509.Certificate {
	if len(chain) > 1 {
		return chain[1]
	}
	return nil
}

// missing names the intermediates of chain that were not sent.
func missing(chain, sent []*x509.Certificate) string {
	var names []string
	for _, c := range chain[1 : len(chain)-1] {
		found := false
		for _, s := range sent {
			found = found || s.Equal(c)
		}
		if !found {
			names = append(names, c.Subject.String())
		}
	}
	return strings.Join(names, ", ")
}

// judgeAboveLeaf judges a chain whose leaf is signed with an algorithm Go
// refuses to verify (SHA-1): the leaf's issuer is found by name, and the
// chain is judged from there up. The leaf's own signature stays unchecked;
// ChainDetail says so.
func judgeAboveLeaf(f *CertFacts, leaf *x509.Certificate, sent []*x509.Certificate, roots *x509.CertPool, at time.Time, leafErr error) *x509.Certificate {
	note := " (the leaf's " + leaf.SignatureAlgorithm.String() + " signature itself is not checked: " + leafErr.Error() + ")"
	if iss := issuerOf(leaf, sent); iss != nil {
		if _, err := verify(iss, roots, pool(nil, sent), at); err == nil {
			f.ChainComplete, f.ChainVerifies = true, true
			f.ChainDetail = "complete" + note
			return iss
		}
	} else if rootNamed(roots, leaf.RawIssuer) {
		f.ChainComplete, f.ChainVerifies = true, true
		f.ChainDetail = "the leaf's issuer is a trusted root" + note
		return nil
	}
	f.ChainDetail = "the leaf's issuer was not sent and is not a trusted root" + note
	return issuerOf(leaf, sent)
}

// rootNamed reports whether roots (nil = the system roots) hold a
// certificate with this subject.
func rootNamed(roots *x509.CertPool, subject []byte) bool {
	if roots == nil {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil {
			return false
		}
	}
	//lint:ignore SA1019 the subjects of a pool built from files are complete
	for _, s := range roots.Subjects() { //nolint:staticcheck
		if string(s) == string(subject) {
			return true
		}
	}
	return false
}
