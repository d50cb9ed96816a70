package scheduler

import (
	"container/heap"
	"context"
	"hash/fnv"
	"slices"
	"sort"
	"time"
)

// Phase is where in its interval a check runs when it is alone on its
// host: a hash of its ID.
func Phase(id string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(hash64(id) % uint64(interval))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Phases spreads jobs over their intervals: the jobs of one host (Key) and
// one interval are evenly spaced, in the order of their IDs' hashes, from
// an offset that is a hash of the key; jobs without a key get Phase. The
// result is a function of the set of jobs alone, so replicas and restarts
// agree.
func Phases(jobs []Job) map[string]time.Duration {
	type group struct {
		key      string
		interval time.Duration
	}
	groups := map[group][]Job{}
	out := make(map[string]time.Duration, len(jobs))
	for _, j := range jobs {
		if j.Key == "" || j.Interval <= 0 {
			out[j.ID] = Phase(j.ID, j.Interval)
			continue
		}
		g := group{j.Key, j.Interval}
		groups[g] = append(groups[g], j)
	}
	for g, js := range groups {
		sortByHash(js)
		base := Phase("host/"+g.key, g.interval)
		step := g.interval / time.Duration(len(js))
		for i, j := range js {
			out[j.ID] = (base + time.Duration(i)*step) % g.interval
		}
	}
	return out
}

// sortByHash orders jobs by the hash of their IDs: a spread that does not
// follow the names (mx1, mx2, ... of one customer stay apart).
func sortByHash(js []Job) {
	h := make(map[string]uint64, len(js))
	for _, j := range js {
		h[j.ID] = hash64(j.ID)
	}
	sort.Slice(js, func(a, b int) bool {
		if h[js[a].ID] != h[js[b].ID] {
			return h[js[a].ID] < h[js[b].ID]
		}
		return js[a].ID < js[b].ID
	})
}

// firstDue is the first time after now that is phase into an interval
// counted from the Unix epoch: a check runs at the same offset into every
// interval whenever the exporter was started or reloaded.
func firstDue(now time.Time, interval, phase time.Duration) time.Time {
	if interval <= 0 {
		return now
	}
	into := time.Duration(now.UnixNano() % int64(interval))
	wait := phase - into
	if wait < 0 {
		wait += interval
	}
	return now.Add(wait)
}

// Update replaces the set of jobs. A job whose ID, Fingerprint, Interval
// and Key are unchanged keeps its schedule (and a run in progress
// continues); a changed or new job is scheduled afresh (see place); a
// removed job is cancelled (a queued run of it is dropped).
func (s *Scheduler) Update(jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	keep := make(map[string]bool, len(jobs))
	var fresh []Job
	s.minInterval = 0
	for _, j := range jobs {
		keep[j.ID] = true
		if j.Interval > 0 && (s.minInterval == 0 || j.Interval < s.minInterval) {
			s.minInterval = j.Interval
		}
		if e, ok := s.entries[j.ID]; ok {
			if e.job.Fingerprint == j.Fingerprint && e.job.Interval == j.Interval && e.job.Key == j.Key {
				e.job.Run = j.Run // same check, maybe rebuilt closure
				continue
			}
			s.remove(e)
		}
		fresh = append(fresh, j)
	}
	for id, e := range s.entries {
		if !keep[id] {
			s.remove(e)
		}
	}
	phases := s.place(fresh)
	for _, j := range fresh {
		ctx, cancel := context.WithCancel(s.ctx)
		e := &entry{job: j, due: firstDue(now, j.Interval, phases[j.ID]), ctx: ctx, cancel: cancel, host: s.hostOf(j.Key)}
		e.host.jobs++
		s.entries[j.ID] = e
		heap.Push(&s.queue, e)
	}
	s.poke()
}

// place chooses the phases of fresh jobs. On a host (Key) and interval
// with no scheduled checks yet they are evenly spaced (Phases); where
// checks are already scheduled, which keep their times, each fresh one
// goes into the middle of the largest gap left, so checks that arrive a
// few at a time (endpoints whose addresses resolve one by one) are spread
// as well as checks that arrive together. Callers hold mu.
func (s *Scheduler) place(fresh []Job) map[string]time.Duration {
	type group struct {
		key      string
		interval time.Duration
	}
	byGroup := map[group][]Job{}
	for _, j := range fresh {
		if j.Key != "" && j.Interval > 0 {
			g := group{j.Key, j.Interval}
			byGroup[g] = append(byGroup[g], j)
		}
	}
	existing := map[group][]time.Duration{}
	for _, e := range s.entries {
		g := group{e.job.Key, e.job.Interval}
		if _, ok := byGroup[g]; ok {
			existing[g] = append(existing[g], time.Duration(e.due.UnixNano()%int64(g.interval)))
		}
	}
	out := Phases(fresh)
	for g, js := range byGroup {
		old := existing[g]
		if len(old) == 0 {
			continue // Phases spaced them evenly
		}
		sortByHash(js)
		for i, p := range fillGaps(old, len(js), g.interval) {
			out[js[i].ID] = p
		}
	}
	return out
}

// fillGaps returns n phases, each the middle of the largest gap between
// the phases taken so far (old and those already returned), on a circle
// of length interval.
func fillGaps(old []time.Duration, n int, interval time.Duration) []time.Duration {
	ps := slices.Clone(old)
	slices.Sort(ps)
	gaps := &gapHeap{}
	for i, p := range ps {
		next := interval + ps[0]
		if i+1 < len(ps) {
			next = ps[i+1]
		}
		heap.Push(gaps, gap{p, next - p})
	}
	out := make([]time.Duration, 0, n)
	for range n {
		g := heap.Pop(gaps).(gap)
		half := g.length / 2
		out = append(out, (g.start+half)%interval)
		heap.Push(gaps, gap{g.start, half})
		heap.Push(gaps, gap{g.start + half, g.length - half})
	}
	return out
}

type gap struct{ start, length time.Duration }

// gapHeap is a max-heap of gaps by length (then start, for a stable order).
type gapHeap []gap

func (h gapHeap) Len() int { return len(h) }
func (h gapHeap) Less(i, j int) bool {
	if h[i].length != h[j].length {
		return h[i].length > h[j].length
	}
	return h[i].start < h[j].start
}
func (h gapHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *gapHeap) Push(x any)   { *h = append(*h, x.(gap)) }
func (h *gapHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// remove cancels e and forgets it. Callers hold mu.
func (s *Scheduler) remove(e *entry) {
	e.cancel()
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
	delete(s.entries, e.job.ID)
	if e.state == queued {
		s.waiting--
	}
	e.state = gone
	e.host.jobs--
	s.fixReady(e.host)
	s.dropHost(e.host)
}
