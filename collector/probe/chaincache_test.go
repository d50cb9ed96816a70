package probe

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// chainState is what a handshake with a server presenting leaf (and its
// CA's chain, here just the leaf) leaves behind.
func chainState(leaf *x509.Certificate) tls.ConnectionState {
	return tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
		PeerCertificates: []*x509.Certificate{leaf}}
}

func TestChainCache(t *testing.T) {
	ca := peers.NewCA(t)
	now := time.Now()
	_, _, leaf := ca.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	roots, otherRoots := ca.Pool(), peers.NewCA(t).Pool()
	state := chainState(leaf)
	uncached := tlsFacts(state, roots, nil, "mail.example.test", now, nil)
	if !uncached.Verified {
		t.Fatalf("the test chain does not verify: %s %s", uncached.VerifyError, uncached.VerifyDetail)
	}

	c := NewChainCache(DefaultChainCacheSize)
	steps := []struct {
		what         string
		roots        *x509.CertPool
		name         string
		at           time.Time
		want         VerifyError // "" = verified
		wantVerified int64       // verifications done so far
	}{
		{"first probe: verified and kept", roots, "mail.example.test", now, "", 1},
		{"same chain again: read from the cache", roots, "mail.example.test", now.Add(time.Minute), "", 1},
		{"and again", roots, "mail.example.test", now.Add(time.Hour), "", 1},
		{"another name: its own verdict", roots, "other.example.test", now, VerifyHostnameMismatch, 2},
		{"a failure is not kept", roots, "other.example.test", now, VerifyHostnameMismatch, 3},
		{"another root pool: its own verdict", otherRoots, "mail.example.test", now, VerifyUnknownAuthority, 4},
		{"the first verdict still holds", roots, "mail.example.test", now.Add(2 * time.Hour), "", 4},
		{"past the leaf's NotAfter: verified again", roots, "mail.example.test", leaf.NotAfter.Add(time.Second), VerifyExpired, 5},
		{"back inside the dates: verified again", roots, "mail.example.test", now, "", 6},
		{"a clock set back before NotBefore: verified again", roots, "mail.example.test", leaf.NotBefore.Add(-time.Second), VerifyNotYetValid, 7},
	}
	for _, s := range steps {
		f := tlsFacts(state, s.roots, nil, s.name, s.at, c)
		if f.VerifyError != s.want || f.Verified != (s.want == "") {
			t.Errorf("%s: verified=%v error=%q, want error %q", s.what, f.Verified, f.VerifyError, s.want)
		}
		if n := c.verified.Load(); n != s.wantVerified {
			t.Errorf("%s: %d verifications so far, want %d", s.what, n, s.wantVerified)
		}
		if s.want == "" && *f != *uncached {
			t.Errorf("%s: facts %+v, want those of an uncached verification %+v", s.what, *f, *uncached)
		}
	}
}

// TestChainCacheKeepsTheConnectionsOwnFacts: the version and cipher come
// from each handshake, not from the one that filled the cache.
func TestChainCacheKeepsTheConnectionsOwnFacts(t *testing.T) {
	ca := peers.NewCA(t)
	_, _, leaf := ca.Issue(t, peers.CertOptions{DNSNames: []string{"mail.example.test"}})
	c, roots := NewChainCache(8), ca.Pool()
	now := time.Now()
	tlsFacts(chainState(leaf), roots, nil, "mail.example.test", now, c)
	st := chainState(leaf)
	st.Version, st.CipherSuite = tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	f := tlsFacts(st, roots, nil, "mail.example.test", now, c)
	if c.verified.Load() != 1 {
		t.Fatalf("%d verifications, want 1 (the second probe reads the cache)", c.verified.Load())
	}
	if f.Version != "TLS 1.2" || f.Cipher != "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" {
		t.Errorf("version %q cipher %q, want the second connection's", f.Version, f.Cipher)
	}
}

// TestChainCacheIsBounded: distinct chains beyond the limit evict, and
// verdicts that went unread or no longer hold go first.
func TestChainCacheIsBounded(t *testing.T) {
	const limit = 8
	c := NewChainCache(limit)
	now := time.Now()
	for i := range 100 {
		k := chainKey{name: fmt.Sprintf("host%d.example.test", i)}
		c.put(k, TLSFacts{Verified: true}, now.Add(-time.Hour), now.Add(time.Hour), now)
		if c.size() > limit {
			t.Fatalf("after %d chains: %d kept, limit %d", i+1, c.size(), limit)
		}
	}
	// A full cache of verdicts that expired: all of them make way.
	c = NewChainCache(limit)
	for i := range limit {
		c.put(chainKey{name: fmt.Sprint(i)}, TLSFacts{}, now.Add(-time.Hour), now.Add(time.Minute), now)
	}
	later := now.Add(2 * time.Minute)
	c.put(chainKey{name: "new"}, TLSFacts{}, later.Add(-time.Hour), later.Add(time.Hour), later)
	if c.size() != 1 {
		t.Errorf("%d kept after the expired verdicts were swept, want 1", c.size())
	}
}

// BenchmarkTLSFacts is the probe's certificate work after a handshake with
// a server presenting an RSA-2048 leaf issued by the test CA (ECDSA P-256),
// without and with the cache.
func BenchmarkTLSFacts(b *testing.B) {
	ca := peers.NewCA(b)
	_, _, leaf := ca.Issue(b, peers.CertOptions{DNSNames: []string{"mail.example.test"}, KeyType: peers.KeyRSA2048})
	state := chainState(leaf)
	roots := ca.Pool()
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			var c *ChainCache
			if cached {
				c = NewChainCache(DefaultChainCacheSize)
			}
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if f := tlsFacts(state, roots, nil, "mail.example.test", now, c); !f.Verified {
					b.Fatal(f.VerifyError)
				}
			}
		})
	}
}
