package scheduler

import (
	"math"
	"time"
)

// The overload window: the last minute in six slots of ten seconds, each
// with a fine histogram of lag (buckets growing by 10 %, from 1 ms to about
// two hours) and a count of skipped runs. Fixed size, whatever the load.
const (
	slotLen    = 10 * time.Second
	slots      = 6
	Window     = slots * slotLen // what "the last minute" means
	lagBuckets = 160
	lagFirst   = time.Millisecond
	lagGrowth  = 1.1
)

type slot struct {
	start   int64 // slot number: Unix time / slotLen
	counts  [lagBuckets]uint32
	n       int
	skipped int
}

type window struct{ s [slots]slot }

// at returns the slot of t, emptied if it last held an older slot.
func (w *window) at(t time.Time) *slot {
	n := t.UnixNano() / int64(slotLen)
	sl := &w.s[n%slots]
	if sl.start != n {
		*sl = slot{start: n}
	}
	return sl
}

func bucketOf(lag time.Duration) int {
	if lag <= lagFirst {
		return 0
	}
	b := int(math.Ceil(math.Log(float64(lag)/float64(lagFirst)) / math.Log(lagGrowth)))
	return min(b, lagBuckets-1)
}

// upper is the upper bound of bucket b.
func upper(b int) time.Duration {
	return time.Duration(float64(lagFirst) * math.Pow(lagGrowth, float64(b)))
}

func (w *window) lag(now time.Time, lag time.Duration) {
	sl := w.at(now)
	sl.counts[bucketOf(lag)]++
	sl.n++
}

func (w *window) skip(now time.Time, n int) { w.at(now).skipped += n }

// windowStats are the last minute's figures.
type windowStats struct {
	runs, skipped int
	p99           time.Duration // upper bound of the bucket holding the 99th percentile; 0 with no runs
}

func (w *window) stats(now time.Time) windowStats {
	cur := now.UnixNano() / int64(slotLen)
	var st windowStats
	var counts [lagBuckets]uint64
	for i := range w.s {
		sl := &w.s[i]
		if sl.start <= cur-slots || sl.start > cur {
			continue
		}
		st.runs += sl.n
		st.skipped += sl.skipped
		for b, c := range sl.counts {
			counts[b] += uint64(c)
		}
	}
	if st.runs == 0 {
		return st
	}
	rank := uint64(math.Ceil(0.99 * float64(st.runs)))
	var seen uint64
	for b, c := range counts {
		seen += c
		if seen >= rank {
			st.p99 = upper(b)
			break
		}
	}
	return st
}
