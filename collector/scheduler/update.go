package scheduler

import (
	"container/heap"
	"context"
	"hash/fnv"
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
		sort.Slice(js, func(a, b int) bool {
			ha, hb := hash64(js[a].ID), hash64(js[b].ID)
			if ha != hb {
				return ha < hb
			}
			return js[a].ID < js[b].ID
		})
		base := Phase("host/"+g.key, g.interval)
		step := g.interval / time.Duration(len(js))
		for i, j := range js {
			out[j.ID] = (base + time.Duration(i)*step) % g.interval
		}
	}
	return out
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
// continues); a changed or new job is scheduled afresh at its phase; a
// removed job is cancelled (a queued run of it is dropped).
func (s *Scheduler) Update(jobs []Job) {
	phases := Phases(jobs)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	keep := make(map[string]bool, len(jobs))
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
		ctx, cancel := context.WithCancel(s.ctx)
		e := &entry{job: j, due: firstDue(now, j.Interval, phases[j.ID]), ctx: ctx, cancel: cancel, host: s.hostOf(j.Key)}
		e.host.jobs++
		s.entries[j.ID] = e
		heap.Push(&s.queue, e)
	}
	for id, e := range s.entries {
		if !keep[id] {
			s.remove(e)
		}
	}
	s.poke()
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
