// Package scheduler runs checks on their own intervals under a global
// concurrency limit and a per-host one. One goroutine keeps a heap of due
// times; first runs are spread over the interval, evenly among the checks of
// one host, at phases fixed on the wall clock, so a start or a reload causes
// no thundering herd and every replica computes the same phase for the same
// check.
//
// The schedule is bounded: a check has at most one run queued or running. A
// run that comes due while the previous one is still queued or running is
// skipped and counted (mail_exporter_schedule_skipped_total), so an exporter
// asked for more than it can do falls behind by at most one run per check
// instead of building a queue that grows without end; it says so in
// mail_exporter_overloaded and in a WARN log line once a minute.
//
// A run's wait for a slot (global or per host) is schedule lag: Job.Run is
// called only once both slots are held, so the probe's timeout, which starts
// inside Run, never includes it.
package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one check as the scheduler sees it.
type Job struct {
	ID          string // stable identity, e.g. "endpoint/mx1/imaps"
	Fingerprint string // changes when the check's settings change
	Kind        string // "endpoint", "domain", "roundtrip": the metrics' label
	// Key names the server a run loads: runs with the same non-empty Key
	// share the per-host limit (host_concurrency). The exporter sets the
	// host dialled; "" = no per-host limit (e.g. DNS checks).
	Key      string
	Interval time.Duration
	Run      func(ctx context.Context)
}

// Options configure a Scheduler.
type Options struct {
	Concurrency int // runs at once, at most; below 1 = 1
	// HostConcurrency is the most runs at once with the same Job.Key; 0 =
	// no per-host limit.
	HostConcurrency int
	// Kinds are the Job.Kind values whose counters exist from the start.
	Kinds  []string
	Logger *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
}

// Scheduler runs Jobs. Create with New, feed with Update, end with Stop.
type Scheduler struct {
	now func() time.Time
	// spawn starts a run: run, then done, in a goroutine. Tests replace it
	// to run them by hand on a fake clock.
	spawn func(run, done func())
	log   *slog.Logger
	wake  chan struct{}
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}
	m     *metrics
	// looping: made by New, so Stop waits for the loop to end.
	looping bool

	mu          sync.Mutex
	limit       int
	hostLimit   int
	running     int
	waiting     int
	entries     map[string]*entry
	queue       queue            // by due time
	hosts       map[string]*host // by Key
	ready       hostQueue        // hosts with a queued run and a free slot
	win         window
	minInterval time.Duration
	rep         reporter
}

// New starts a scheduler.
func New(o Options) *Scheduler {
	s := newScheduler(o)
	s.looping = true
	go s.loop()
	return s
}

// newScheduler is New without the loop goroutine: tests drive step by hand.
func newScheduler(o Options) *Scheduler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		now:     o.Now,
		log:     o.Logger,
		wake:    make(chan struct{}, 1),
		ctx:     ctx,
		stop:    cancel,
		done:    make(chan struct{}),
		m:       newMetrics(o.Kinds),
		entries: map[string]*entry{},
		hosts:   map[string]*host{},
	}
	s.spawn = func(run, done func()) {
		go func() {
			defer done()
			run()
		}()
	}
	s.setLimits(o.Concurrency, o.HostConcurrency)
	return s
}

// SetLimits changes the global and the per-host limit (a reload). Runs in
// progress continue; new ones start only when under the new limits.
func (s *Scheduler) SetLimits(concurrency, hostConcurrency int) {
	s.mu.Lock()
	s.setLimits(concurrency, hostConcurrency)
	for _, h := range s.hosts {
		s.fixReady(h)
	}
	s.mu.Unlock()
	s.poke()
}

func (s *Scheduler) setLimits(concurrency, hostConcurrency int) {
	s.limit, s.hostLimit = max(concurrency, 1), max(hostConcurrency, 0)
}

// Len returns how many jobs are scheduled.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Stop cancels every run and waits for them to return. A scheduler made by
// newScheduler (no loop) may be stopped too.
func (s *Scheduler) Stop() {
	s.stop()
	if s.looping {
		<-s.done
	}
	s.wg.Wait()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxWait bounds the loop's sleep, so the once-a-minute report is on time
// even when nothing is due for an hour.
const maxWait = 10 * time.Second

func (s *Scheduler) loop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := s.step()
		timer.Reset(min(wait, maxWait))
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// step moves the runs that are due into their hosts' queues (or skips them),
// starts every queued run that has a global and a host slot, reports once a
// minute, and returns how long until the next run is due.
func (s *Scheduler) step() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return time.Hour
	}
	now := s.now()
	for len(s.queue) > 0 && !s.queue[0].due.After(now) {
		s.admit(s.queue[0], now)
	}
	s.startReady(now)
	s.report(now)
	if len(s.queue) == 0 {
		return time.Hour
	}
	return s.queue[0].due.Sub(now)
}

// startReady starts every queued run that has a global and a host slot,
// oldest first. Callers hold mu.
func (s *Scheduler) startReady(now time.Time) {
	for s.running < s.limit && len(s.ready) > 0 {
		h := s.ready[0]
		e := h.pop()
		s.waiting--
		s.start(e, now)
		s.fixReady(h)
	}
}
