package collector

import "hash/fnv"

// Shard selects this replica's share of the checks (--shard.count,
// --shard.index). Ownership is a stable hash of the check's identity, so
// every replica agrees without talking to the others.
type Shard struct {
	Count, Index int
}

// Owns reports whether this shard runs the check with identity id.
func (s Shard) Owns(id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return jumpHash(h.Sum64(), s.Count) == s.Index
}

// jumpHash is Lamping and Veach's jump consistent hash ("A Fast, Minimal
// Memory, Consistent Hash Algorithm", 2014): going from n to n+1 shards
// moves only 1/(n+1) of the keys, all of them to the new shard.
func jumpHash(key uint64, buckets int) int {
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
