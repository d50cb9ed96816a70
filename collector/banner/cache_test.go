package banner

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestCachedPTRLookup(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	asked := map[netip.Addr]int{}
	fail := map[netip.Addr]bool{}
	lookup := func(ctx context.Context, ip netip.Addr) ([]string, error) {
		asked[ip]++
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if fail[ip] {
			return nil, errors.New("SERVFAIL")
		}
		return []string{"mx" + ip.String()}, nil
	}
	get := CachedPTRLookup(lookup, func() time.Time { return now })
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	fail[b] = true
	ctx := context.Background()
	steps := []struct {
		after     time.Duration
		ip        netip.Addr
		wantAsked int
		wantErr   bool
	}{
		{0, a, 1, false},
		{time.Minute, a, 1, false}, // cached
		{PTRCacheTTL, a, 2, false}, // expired: asked again
		{0, b, 1, true},            // a failure is kept too
		{PTRCacheFailedTTL - time.Second, b, 1, true},
		{time.Second, b, 2, true}, // but not as long
	}
	for i, s := range steps {
		now = now.Add(s.after)
		names, err := get(ctx, s.ip)
		if asked[s.ip] != s.wantAsked || (err != nil) != s.wantErr {
			t.Fatalf("step %d (%s): asked %d times, err %v; want %d, error %v", i, s.ip, asked[s.ip], err, s.wantAsked, s.wantErr)
		}
		if err == nil && !slices.Equal(names, []string{"mx" + s.ip.String()}) {
			t.Fatalf("step %d: names %v", i, names)
		}
	}
	// A lookup cut short by the caller is not kept.
	c := netip.MustParseAddr("192.0.2.3")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := get(cancelled, c); err == nil {
		t.Fatal("cancelled lookup succeeded")
	}
	if _, err := get(ctx, c); err != nil || asked[c] != 2 {
		t.Fatalf("after a cancelled lookup: err %v, asked %d (want 2: the cancellation was not cached)", err, asked[c])
	}
}

// TestCachedPTRLookupSweeps: expired entries are dropped once the cache grows,
// so a changing set of addresses does not grow it without bound.
func TestCachedPTRLookupSweeps(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := &ptrCache{lookup: func(context.Context, netip.Addr) ([]string, error) { return []string{"x"}, nil },
		now: func() time.Time { return now }, entries: map[netip.Addr]ptrEntry{}, sweepAt: minSweep}
	for round := range 5 {
		for i := range 3 * minSweep {
			c.get(context.Background(), netip.AddrFrom4([4]byte{10, byte(round), byte(i >> 8), byte(i)}))
		}
		now = now.Add(PTRCacheTTL)
	}
	if n := len(c.entries); n > 4*minSweep {
		t.Fatalf("%d entries after 5 rounds of %d addresses each, expired after every round", n, 3*minSweep)
	}
}
