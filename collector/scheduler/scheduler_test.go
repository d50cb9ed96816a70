package scheduler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPhaseSpreadsChecks(t *testing.T) {
	const n, interval = 10000, time.Minute
	buckets := make([]int, 10)
	for i := 0; i < n; i++ {
		p := Phase(fmt.Sprintf("endpoint/mx%d/imaps", i), interval)
		if p < 0 || p >= interval {
			t.Fatalf("phase %v outside [0, %v)", p, interval)
		}
		buckets[p*10/interval]++
	}
	for i, b := range buckets {
		if b < n/10*8/10 || b > n/10*12/10 {
			t.Errorf("bucket %d holds %d of %d: first runs are not spread", i, b, n)
		}
	}
	if Phase("a", interval) != Phase("a", interval) {
		t.Error("phase is not stable")
	}
}

func TestRunsOnIntervalWithoutOverlap(t *testing.T) {
	s := New(4)
	defer s.Stop()
	var runs, running, overlaps atomic.Int32
	s.Update([]Job{{ID: "a", Kind: "endpoint", Interval: 20 * time.Millisecond, Run: func(ctx context.Context) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		runs.Add(1)
		time.Sleep(50 * time.Millisecond) // longer than the interval
		running.Add(-1)
	}}})
	time.Sleep(400 * time.Millisecond)
	if overlaps.Load() > 0 {
		t.Errorf("a check overlapped itself %d times", overlaps.Load())
	}
	if r := runs.Load(); r < 3 {
		t.Errorf("only %d runs in 400ms", r)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	const limit = 3
	s := New(limit)
	defer s.Stop()
	var cur, peak atomic.Int32
	var jobs []Job
	for i := 0; i < 20; i++ {
		jobs = append(jobs, Job{ID: fmt.Sprint(i), Kind: "endpoint", Interval: 10 * time.Millisecond, Run: func(ctx context.Context) {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
		}})
	}
	s.Update(jobs)
	time.Sleep(200 * time.Millisecond)
	if p := peak.Load(); p > limit || p < 2 {
		t.Errorf("peak concurrency %d, limit %d", p, limit)
	}
}

func TestUpdateKeepsUnchangedAndDropsRemoved(t *testing.T) {
	s := New(2)
	defer s.Stop()
	noop := func(context.Context) {}
	s.Update([]Job{
		{ID: "keep", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "change", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "drop", Fingerprint: "1", Interval: time.Hour, Run: noop},
	})
	s.mu.Lock()
	keep, change := s.entries["keep"], s.entries["change"]
	s.mu.Unlock()

	s.Update([]Job{
		{ID: "keep", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "change", Fingerprint: "2", Interval: time.Hour, Run: noop},
		{ID: "new", Fingerprint: "1", Interval: time.Hour, Run: noop},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries["keep"] != keep {
		t.Error("an unchanged check was rescheduled")
	}
	if s.entries["change"] == change {
		t.Error("a changed check kept its old entry")
	}
	if _, ok := s.entries["drop"]; ok || len(s.entries) != 3 || len(s.queue) != 3 {
		t.Errorf("entries %d queue %d, want 3 and drop gone", len(s.entries), len(s.queue))
	}
	if change.ctx.Err() == nil {
		t.Error("the replaced check's context was not cancelled")
	}
}

func TestStopCancelsRunning(t *testing.T) {
	s := New(1)
	started := make(chan struct{})
	var once sync.Once
	s.Update([]Job{{ID: "slow", Interval: 10 * time.Millisecond, Run: func(ctx context.Context) {
		once.Do(func() { close(started) })
		<-ctx.Done()
	}}})
	<-started
	done := make(chan struct{})
	go func() { s.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Stop did not cancel a running check")
	}
}
