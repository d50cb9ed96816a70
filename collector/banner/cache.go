package banner

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// PTR names change seldom, and many SMTP endpoints share an address, so every
// probe asking the resolver again costs the resolver and the prober (a DNS
// exchange per probe, the largest cost an SMTP probe had beyond its own dialogue)
// for nothing. A changed PTR shows within PTRCacheTTL.
const (
	PTRCacheTTL       = 5 * time.Minute
	PTRCacheFailedTTL = 30 * time.Second // a failed lookup is asked again sooner
)

// CachedPTRLookup wraps lookup with a per-address cache: answers are kept for
// PTRCacheTTL, failures for PTRCacheFailedTTL, and a lookup cut short by its
// caller's context is not kept. Concurrent misses for one address may each ask.
// The names returned are shared between callers, who must not modify them.
func CachedPTRLookup(lookup func(context.Context, netip.Addr) ([]string, error), now func() time.Time) func(context.Context, netip.Addr) ([]string, error) {
	if now == nil {
		now = time.Now
	}
	c := &ptrCache{lookup: lookup, now: now, entries: map[netip.Addr]ptrEntry{}, sweepAt: minSweep}
	return c.get
}

const minSweep = 1024

type ptrEntry struct {
	names   []string
	err     error
	expires time.Time
}

type ptrCache struct {
	lookup  func(context.Context, netip.Addr) ([]string, error)
	now     func() time.Time
	mu      sync.Mutex
	entries map[netip.Addr]ptrEntry
	sweepAt int // the size at which expired entries are dropped
}

func (c *ptrCache) get(ctx context.Context, ip netip.Addr) ([]string, error) {
	c.mu.Lock()
	e, ok := c.entries[ip]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.names, e.err
	}
	names, err := c.lookup(ctx, ip)
	if err != nil && ctx.Err() != nil {
		return names, err
	}
	ttl := PTRCacheTTL
	if err != nil {
		ttl = PTRCacheFailedTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.entries[ip] = ptrEntry{names: names, err: err, expires: now.Add(ttl)}
	if len(c.entries) >= c.sweepAt {
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		c.sweepAt = max(minSweep, 2*len(c.entries))
	}
	return names, err
}
