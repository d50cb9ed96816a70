package probe

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"sync/atomic"
	"time"
)

// ChainCache remembers the facts of certificate chains that verified. A
// server presents the same chain probe after probe, and verifying it is
// most of a probe's own TLS cost besides the handshake: for an RSA-2048
// leaf and intermediate, two RSA signature checks, plus the string forms
// of the subject, issuer and serial. With the cache a chain is verified
// once, and again only when the verdict could have changed.
//
// A verdict is kept only for a chain that verified, and only while the
// clock is inside every certificate's validity in the verified chain
// (x509 checks those dates against the current time; nothing else in the
// verification depends on it). The key holds the presented certificates'
// DER, the root pool and the name to verify, so another chain, another
// name or another ca_file never reads it. A failed verification is done
// afresh on every probe: it is rare and its detail is what on-call reads.
//
// The zero value is not usable; make one with NewChainCache. It is safe
// for concurrent use.
type ChainCache struct {
	mu      sync.Mutex
	entries map[chainKey]*chainEntry
	max     int
	// verified counts the verifications done by tlsFacts with this cache
	// (its misses), for tests.
	verified atomic.Int64
}

type chainKey struct {
	sum   [sha256.Size]byte // of the presented certificates' DER, in order
	roots *x509.CertPool    // nil = the system roots
	name  string
}

type chainEntry struct {
	facts      TLSFacts  // without Version and Cipher, which are the connection's
	validFrom  time.Time // the latest NotBefore in the verified chain
	validUntil time.Time // the earliest NotAfter in it (TLSFacts.ChainNotAfter)
	used       time.Time
}

// DefaultChainCacheSize is one verdict for each of 16384 distinct chains,
// a few hundred bytes each.
const DefaultChainCacheSize = 16384

// chainIdle drops a verdict nothing has read for this long when the cache
// is full: its server has changed its certificate or left the config.
const chainIdle = time.Hour

// NewChainCache returns a cache holding at most n verdicts (at least 1).
func NewChainCache(n int) *ChainCache {
	return &ChainCache{entries: map[chainKey]*chainEntry{}, max: max(n, 1)}
}

func chainKeyOf(certs []*x509.Certificate, roots *x509.CertPool, name string) chainKey {
	h := sha256.New()
	for _, c := range certs {
		// DER is self-delimiting, so the concatenation is unambiguous.
		h.Write(c.Raw)
	}
	k := chainKey{roots: roots, name: name}
	h.Sum(k.sum[:0])
	return k
}

// get returns the facts kept for k if the verdict still holds at now.
func (c *ChainCache) get(k chainKey, now time.Time) (TLSFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return TLSFacts{}, false
	}
	if now.Before(e.validFrom) || !now.Before(e.validUntil) {
		delete(c.entries, k) // a date in the chain decides it now: verify again
		return TLSFacts{}, false
	}
	e.used = now
	return e.facts, true
}

// put keeps the facts of a chain that verified, valid from from until until.
func (c *ChainCache) put(k chainKey, f TLSFacts, from, until, now time.Time) {
	f.Version, f.Cipher = "", ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k] = &chainEntry{facts: f, validFrom: from, validUntil: until, used: now}
}

// evict makes room: first the verdicts that no longer hold or went unread
// for chainIdle, then, if the cache is still full, arbitrary ones down to
// half. Callers hold mu.
func (c *ChainCache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.validUntil) || now.Sub(e.used) > chainIdle {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max/2+1 {
			break
		}
		delete(c.entries, k)
	}
}

// size returns how many verdicts are kept (for tests).
func (c *ChainCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// latestNotBefore is the latest NotBefore in chain.
func latestNotBefore(chain []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range chain {
		if c.NotBefore.After(t) {
			t = c.NotBefore
		}
	}
	return t
}
