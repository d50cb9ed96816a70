package scheduler

import (
	"container/heap"
	"context"
	"time"
)

// A run's state: at most one run per check is queued or running.
const (
	idle    = iota
	queued  // in its host's queue, waiting for a slot
	running // Job.Run was called and has not returned
	gone    // removed by Update; a queued run is dropped, a running one ends
)

type entry struct {
	job    Job
	due    time.Time // of the next run
	runDue time.Time // of the run queued or running: its lag is measured from here
	index  int       // in the due heap; -1 when removed
	state  int
	host   *host
	ctx    context.Context
	cancel context.CancelFunc
}

// admit handles e's run that is due: it joins its host's queue, or, when
// the previous run is still queued or running, it is skipped. Either way
// the next run is due one interval later. Callers hold mu.
func (s *Scheduler) admit(e *entry, now time.Time) {
	due := e.due
	e.due = due.Add(e.job.Interval)
	missed := 0
	if !e.due.After(now) {
		// The loop itself was held up (a stopped process, a suspended
		// machine) for more than an interval: those runs did not happen.
		n := now.Sub(due) / e.job.Interval
		missed = int(n)
		e.due = due.Add((n + 1) * e.job.Interval)
	}
	heap.Fix(&s.queue, e.index)
	if e.state != idle {
		missed++
	} else {
		e.state, e.runDue = queued, due
		e.host.push(e)
		s.waiting++
		s.fixReady(e.host)
	}
	if missed > 0 {
		s.skip(e.job.Kind, missed, now)
	}
}

// start calls e's Job.Run in a goroutine (spawn), holding a global and a
// host slot until it returns. Callers hold mu.
func (s *Scheduler) start(e *entry, now time.Time) {
	e.state = running
	s.running++
	e.host.inFlight++
	lag := now.Sub(e.runDue)
	s.m.lag.WithLabelValues(e.job.Kind).Observe(lag.Seconds())
	s.win.lag(now, lag)
	run, ctx := e.job.Run, e.ctx
	s.wg.Add(1)
	s.spawn(func() { run(ctx) }, func() {
		s.finish(e)
		s.wg.Done()
	})
}

// finish gives back e's slots and starts what was waiting for them. It
// starts those runs itself rather than waking the loop: a run that ends
// with nothing queued (the usual case) then costs no wake-up of the loop
// goroutine, and under load a queued run starts without one.
func (s *Scheduler) finish(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	e.host.inFlight--
	if e.state == running {
		e.state = idle
	}
	s.fixReady(e.host)
	s.dropHost(e.host)
	if s.ctx.Err() == nil {
		s.startReady(s.now())
	}
}

// skip counts n runs of kind that did not happen. Callers hold mu.
func (s *Scheduler) skip(kind string, n int, now time.Time) {
	s.m.skipped.WithLabelValues(kind).Add(float64(n))
	s.win.skip(now, n)
	s.rep.skipped[kind] += n
}
