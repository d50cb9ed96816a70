// Package scheduler runs checks on their own intervals under one global
// concurrency limit. One goroutine keeps a heap of due times; a check never
// overlaps itself; first runs are spread over the interval by a hash of the
// check's identity, so a start or a reload causes no thundering herd and
// every replica computes the same phase for the same check.
package scheduler

import (
	"container/heap"
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Job is one check as the scheduler sees it.
type Job struct {
	ID          string // stable identity, e.g. "endpoint/mx1/imaps"
	Fingerprint string // changes when the check's settings change
	Kind        string // "endpoint", "domain", "roundtrip": the lag histogram's label
	// Key names the server a run loads: runs with the same non-empty Key
	// share the per-host limit (host_concurrency). The exporter sets the
	// host dialled; "" = no per-host limit (e.g. DNS checks).
	Key      string
	Interval time.Duration
	Run      func(ctx context.Context)
}

type entry struct {
	job     Job
	due     time.Time
	index   int // in the heap; -1 when removed
	running bool
	ctx     context.Context
	cancel  context.CancelFunc
}

// Scheduler runs Jobs. Create with New, feed with Update, end with Stop.
type Scheduler struct {
	now   func() time.Time
	sem   chan struct{}
	wake  chan struct{}
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}
	lag   *prometheus.HistogramVec
	inFly prometheus.Gauge

	mu      sync.Mutex
	entries map[string]*entry
	queue   queue
}

// New starts a scheduler allowing at most concurrency runs at once.
func New(concurrency int) *Scheduler {
	if concurrency < 1 {
		concurrency = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		now:     time.Now,
		sem:     make(chan struct{}, concurrency),
		wake:    make(chan struct{}, 1),
		ctx:     ctx,
		stop:    cancel,
		done:    make(chan struct{}),
		entries: map[string]*entry{},
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mail_exporter_schedule_lag_seconds",
			Help:    "How late checks start against their schedule.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		inFly: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mail_exporter_checks_in_flight",
			Help: "Checks running right now.",
		}),
	}
	go s.loop()
	return s
}

// Describe and Collect expose the lag histogram and the in-flight gauge.
func (s *Scheduler) Describe(ch chan<- *prometheus.Desc) { s.lag.Describe(ch); s.inFly.Describe(ch) }
func (s *Scheduler) Collect(ch chan<- prometheus.Metric) { s.lag.Collect(ch); s.inFly.Collect(ch) }

// Phase is where in its interval a check first runs: a hash of its ID.
func Phase(id string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Update replaces the set of jobs. A job whose ID and Fingerprint are
// unchanged keeps its schedule (and a run in progress continues); a changed
// or new job is scheduled afresh at its phase; a removed job is cancelled.
func (s *Scheduler) Update(jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	keep := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		keep[j.ID] = true
		if e, ok := s.entries[j.ID]; ok {
			if e.job.Fingerprint == j.Fingerprint && e.job.Interval == j.Interval {
				e.job.Run = j.Run // same check, maybe rebuilt closure
				continue
			}
			s.remove(e)
		}
		ctx, cancel := context.WithCancel(s.ctx)
		e := &entry{job: j, due: now.Add(Phase(j.ID, j.Interval)), ctx: ctx, cancel: cancel}
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

func (s *Scheduler) remove(e *entry) {
	e.cancel()
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
	delete(s.entries, e.job.ID)
}

// Len returns how many jobs are scheduled.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Stop cancels every run and waits for them to return.
func (s *Scheduler) Stop() {
	s.stop()
	<-s.done
	s.wg.Wait()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		wait := time.Hour
		if len(s.queue) > 0 {
			wait = s.queue[0].due.Sub(s.now())
		}
		s.mu.Unlock()
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-s.ctx.Done():
				return
			case <-s.wake:
				continue
			case <-timer.C:
				continue
			}
		}
		// Wait for a free slot before taking the job off the heap, so that
		// lag measures the time a due check waited for capacity.
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		s.dispatch()
	}
}

// dispatch starts the earliest due job, holding one semaphore slot.
func (s *Scheduler) dispatch() {
	s.mu.Lock()
	now := s.now()
	if len(s.queue) == 0 || s.queue[0].due.After(now) {
		s.mu.Unlock()
		<-s.sem // nothing due after all (an update moved things)
		return
	}
	e := s.queue[0]
	due := e.due
	// The next run is one interval after this one was due; runs missed
	// while the exporter was overloaded are skipped, not bunched up.
	e.due = due.Add(e.job.Interval)
	if !e.due.After(now) {
		e.due = now.Add(e.job.Interval - now.Sub(due)%e.job.Interval)
	}
	heap.Fix(&s.queue, 0)
	if e.running { // never overlap itself: skip this turn
		s.mu.Unlock()
		<-s.sem
		return
	}
	e.running = true
	job, ctx := e.job, e.ctx
	s.wg.Add(1)
	s.mu.Unlock()

	s.lag.WithLabelValues(job.Kind).Observe(now.Sub(due).Seconds())
	s.inFly.Inc()
	go func() {
		defer s.wg.Done()
		defer func() { <-s.sem }()
		defer s.inFly.Dec()
		job.Run(ctx)
		s.mu.Lock()
		e.running = false
		s.mu.Unlock()
	}()
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
