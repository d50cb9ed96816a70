package probe

import (
	"crypto/tls"
	"net/netip"
	"sync"
	"time"
)

// KeyShares remembers which servers turned down the post-quantum key
// exchange. Go's ClientHello carries an X25519MLKEM768 key share beside the
// X25519 one (RFC 8446 4.2.8), and making it (an ML-KEM-768 key pair) is
// thrown away by every server that answers with a classic group: most mail
// servers today. A server seen to choose a classic group while offered the
// hybrid is offered classic groups only, for refresh; then the full offer
// is made again, so a server that gains ML-KEM is seen within the hour.
//
// Nothing is weaker for it: the choice that is remembered was made by the
// server, in a handshake whose transcript its signature covers, with the
// hybrid on the table. A failed handshake forgets it, so a probe never
// fails for an offer Go's default would not have made.
//
// The zero value is not usable; make one with NewKeyShares. It is safe for
// concurrent use.
type KeyShares struct {
	mu      sync.Mutex
	classic map[keyShareKey]time.Time // when the full offer got a classic group
	refresh time.Duration
	max     int
}

type keyShareKey struct {
	addr netip.AddrPort
	name string // SNI: another name may reach another configuration
}

// KeySharesRefresh is how long a classic choice stands before the hybrid
// is offered again.
const KeySharesRefresh = time.Hour

// DefaultKeySharesSize bounds the servers remembered: a few dozen bytes each.
const DefaultKeySharesSize = 1 << 16

// NewKeyShares remembers at most n servers (at least 1) for refresh each.
func NewKeyShares(n int, refresh time.Duration) *KeyShares {
	return &KeyShares{classic: map[keyShareKey]time.Time{}, refresh: refresh, max: max(n, 1)}
}

// classicGroups is Go's default without the post-quantum hybrids, in its
// order (crypto/tls ignores the order given).
var classicGroups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// offer returns the groups to offer k: nil for Go's default, or the classic
// groups when k chose one of them less than refresh ago.
func (ks *KeyShares) offer(k keyShareKey, now time.Time) []tls.CurveID {
	if ks == nil {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	at, ok := ks.classic[k]
	if !ok {
		return nil
	}
	if now.Sub(at) >= ks.refresh || now.Before(at) {
		delete(ks.classic, k)
		return nil
	}
	return classicGroups
}

// learn records what k chose when offered Go's default.
func (ks *KeyShares) learn(k keyShareKey, chosen tls.CurveID, now time.Time) {
	if ks == nil {
		return
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if isHybrid(chosen) {
		delete(ks.classic, k)
		return
	}
	if _, ok := ks.classic[k]; !ok && len(ks.classic) >= ks.max {
		ks.prune(now)
	}
	ks.classic[k] = now
}

// forget drops k, after a handshake with the classic offer failed.
func (ks *KeyShares) forget(k keyShareKey) {
	if ks == nil {
		return
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	delete(ks.classic, k)
}

// prune makes room: stale choices go first, then everything (the next
// probe of each server makes the full offer, which is only the default).
func (ks *KeyShares) prune(now time.Time) {
	for k, at := range ks.classic {
		if now.Sub(at) >= ks.refresh || now.Before(at) {
			delete(ks.classic, k)
		}
	}
	if len(ks.classic) >= ks.max {
		clear(ks.classic)
	}
}

func (ks *KeyShares) size() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return len(ks.classic)
}

// isHybrid reports the post-quantum hybrid groups Go offers.
func isHybrid(c tls.CurveID) bool {
	switch c {
	case tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024:
		return true
	}
	return false
}
