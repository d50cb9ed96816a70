package scheduler

import (
	"container/heap"
	"context"
	"fmt"
	"testing"
	"time"
)

// sim drives a Scheduler on a fake clock, as a discrete-event simulation:
// each run takes dur(job) of fake time; nothing here sleeps.
type sim struct {
	t      *testing.T
	s      *Scheduler
	now    time.Time
	dur    func(id string) time.Duration
	ends   endHeap
	starts []simStart
	// in flight by key and in total, and their peaks
	inFlight, peak map[string]int
	total, peakAll int
}

type simStart struct {
	id, key string
	at      time.Time
	lag     time.Duration // at minus the due time the scheduler measured from
	ctx     context.Context
}

type simEnd struct {
	at   time.Time
	key  string
	done func()
}

type endHeap []simEnd

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(simEnd)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// epoch is a fake "now": a round minute, so phases are easy to read.
var epoch = time.Unix(1_800_000_000, 0).Truncate(time.Minute)

func newSim(t *testing.T, o Options, dur func(id string) time.Duration) *sim {
	x := &sim{t: t, now: epoch, dur: dur, inFlight: map[string]int{}, peak: map[string]int{}}
	o.Now = func() time.Time { return x.now }
	x.s = newScheduler(o)
	t.Cleanup(func() {
		x.s.stop()                 // a run that ends now starts nothing queued behind it
		for _, e := range x.ends { // runs the simulation left in flight
			e.done()
		}
		x.s.Stop()
	})
	return x
}

// jobs makes n jobs on key with interval; their Run records the start.
func (x *sim) jobs(key string, n int, interval time.Duration) []Job {
	var out []Job
	for i := range n {
		id := fmt.Sprintf("endpoint/%s-%d/imaps", key, i)
		out = append(out, Job{ID: id, Kind: "endpoint", Key: key, Interval: interval, Run: x.runFn(id, key)})
	}
	return out
}

func (x *sim) runFn(id, key string) func(ctx context.Context) {
	return func(ctx context.Context) {
		e := x.s.entries[id] // called by spawn, under the scheduler's lock
		x.starts = append(x.starts, simStart{id: id, key: key, at: x.now, lag: x.now.Sub(e.runDue), ctx: ctx})
		x.inFlight[key]++
		x.total++
		x.peak[key] = max(x.peak[key], x.inFlight[key])
		x.peakAll = max(x.peakAll, x.total)
	}
}

// run advances the fake clock by d, starting and ending runs on the way.
func (x *sim) run(d time.Duration) {
	x.s.spawn = func(run, done func()) {
		run()
		key := x.starts[len(x.starts)-1].key
		id := x.starts[len(x.starts)-1].id
		heap.Push(&x.ends, simEnd{at: x.now.Add(x.dur(id)), key: key, done: done})
	}
	until := x.now.Add(d)
	for {
		wait := x.s.step()
		next := x.now.Add(wait)
		if len(x.ends) > 0 && !x.ends[0].at.After(next) {
			end := heap.Pop(&x.ends).(simEnd)
			x.now = maxTime(x.now, end.at)
			if x.now.After(until) {
				heap.Push(&x.ends, end)
				x.now = until
				return
			}
			x.inFlight[end.key]--
			x.total--
			end.done()
			continue
		}
		if next.After(until) {
			x.now = until
			x.s.step()
			return
		}
		x.now = maxTime(x.now, next)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maxLag is the largest lag of the runs of key ("" = all).
func (x *sim) maxLag(key string) time.Duration {
	var m time.Duration
	for _, s := range x.starts {
		if key == "" || s.key == key {
			m = max(m, s.lag)
		}
	}
	return m
}

func (x *sim) runsOf(key string) int {
	n := 0
	for _, s := range x.starts {
		if s.key == key {
			n++
		}
	}
	return n
}
