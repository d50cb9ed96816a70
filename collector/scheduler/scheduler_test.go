package scheduler

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
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

func TestPhasesSpreadEachHostEvenly(t *testing.T) {
	var jobs []Job
	for i := range 100 {
		jobs = append(jobs, Job{ID: fmt.Sprintf("endpoint/a%d/imaps", i), Key: "10.0.0.1", Interval: time.Minute})
		jobs = append(jobs, Job{ID: fmt.Sprintf("endpoint/b%d/imaps", i), Key: "10.0.0.2", Interval: time.Minute})
	}
	jobs = append(jobs, Job{ID: "domain/example.com", Interval: time.Minute}) // no key: its own hash
	ph := Phases(jobs)
	for _, host := range []string{"a", "b"} {
		var ps []time.Duration
		for i := range 100 {
			ps = append(ps, ph[fmt.Sprintf("endpoint/%s%d/imaps", host, i)])
		}
		slices.Sort(ps)
		for i := 1; i < len(ps); i++ {
			if gap := ps[i] - ps[i-1]; gap != 600*time.Millisecond {
				t.Fatalf("host %s: gap %v between phases %v and %v, want 600ms (evenly spaced)", host, gap, ps[i-1], ps[i])
			}
		}
	}
	if ph["domain/example.com"] != Phase("domain/example.com", time.Minute) {
		t.Error("a job without a key does not get its hash phase")
	}
	// The same set in another order: the same phases (replicas agree).
	rev := slices.Clone(jobs)
	slices.Reverse(rev)
	for id, p := range Phases(rev) {
		if ph[id] != p {
			t.Fatalf("phase of %s depends on the order of the jobs", id)
		}
	}
}

func TestFirstRunsAreOnTheWallClockGrid(t *testing.T) {
	// The same job scheduled at two different moments (a restart) runs at
	// the same offset into the interval.
	const interval = time.Minute
	phase := 17 * time.Second
	for _, now := range []time.Time{epoch, epoch.Add(3*time.Second + 7), epoch.Add(50 * time.Second), epoch.Add(17 * time.Second)} {
		d := firstDue(now, interval, phase)
		if d.Before(now) || !d.Before(now.Add(interval)) {
			t.Errorf("from %v: first due %v, not within one interval", now, d)
		}
		if into := time.Duration(d.UnixNano() % int64(interval)); into != phase {
			t.Errorf("from %v: first due %v is %v into the interval, want %v", now, d, into, phase)
		}
	}
}

func TestHostConcurrencyIsNeverExceeded(t *testing.T) {
	x := newSim(t, Options{Concurrency: 6, HostConcurrency: 2}, func(string) time.Duration { return 300 * time.Millisecond })
	jobs := append(x.jobs("a", 20, time.Second), x.jobs("b", 20, time.Second)...)
	jobs = append(jobs, Job{ID: "domain/x", Kind: "domain", Interval: time.Second, Run: x.runFn("domain/x", "")})
	x.s.Update(jobs)
	x.run(30 * time.Second)
	for _, k := range []string{"a", "b"} {
		if x.peak[k] != 2 {
			t.Errorf("host %s: peak %d in flight, want exactly the limit 2", k, x.peak[k])
		}
	}
	if x.peakAll > 6 {
		t.Errorf("peak %d in flight in all, limit 6", x.peakAll)
	}
	// 20 checks × 0.3 s on 2 slots = 3 s of work per 1 s interval: most
	// runs must be skipped, each check still runs, nothing piles up.
	st := x.s.Stats()
	if !st.Overloaded || st.Skipped == 0 {
		t.Errorf("stats %+v: want overloaded with skipped runs", st)
	}
	if st.Queued > 40 {
		t.Errorf("%d runs queued for 41 checks: the queue grows", st.Queued)
	}
	for _, j := range jobs {
		found := false
		for _, s := range x.starts {
			found = found || s.id == j.ID
		}
		if !found {
			t.Errorf("%s never ran", j.ID)
		}
	}
	if x.runsOf("") < 25 {
		t.Errorf("the check without a key ran %d times in 30 s at 1 s: held up by the busy hosts", x.runsOf(""))
	}
}

func TestUnmeetableScheduleSkipsInsteadOfQueueing(t *testing.T) {
	// 10 checks at 1 s on one host with 1 slot, 0.5 s each: 2 runs/s
	// possible, 10 asked for.
	x := newSim(t, Options{Concurrency: 64, HostConcurrency: 1, Kinds: []string{"endpoint"}}, func(string) time.Duration { return 500 * time.Millisecond })
	x.s.Update(x.jobs("a", 10, time.Second))
	for range 60 {
		x.run(time.Second)
		if q := x.s.Stats().Queued; q > 10 {
			t.Fatalf("%d runs queued for 10 checks", q)
		}
	}
	st := x.s.Stats()
	if !st.Overloaded {
		t.Errorf("not overloaded: %+v", st)
	}
	// In 60 s: 600 runs due, about 120 possible.
	if got := len(x.starts); got < 110 || got > 121 {
		t.Errorf("%d runs started in 60 s, want about 120 (the host's capacity)", got)
	}
	skipped := counterValue(t, x.s, "mail_exporter_schedule_skipped_total", "endpoint")
	if skipped < 450 || int(skipped)+len(x.starts) > 600+10 {
		t.Errorf("skipped %v with %d started of 600 due", skipped, len(x.starts))
	}
	// A queued run waits at most for the runs queued before it: 9 × 0.5 s.
	if m := x.maxLag("a"); m > 5*time.Second {
		t.Errorf("max lag %v: the wait is not bounded by the queue of one run per check", m)
	}
	if st.LagP99 < 2*time.Second {
		t.Errorf("lag p99 %v: the lag is not seen", st.LagP99)
	}
}

func TestSlowHostDoesNotDelayOthers(t *testing.T) {
	dur := func(id string) time.Duration {
		if id[len("endpoint/")] == 's' {
			return 3 * time.Second // a server that greets after 3 s
		}
		return 50 * time.Millisecond
	}
	for _, tc := range []struct {
		hostLimit int
		wantFast  bool
	}{{2, true}, {0, false}} {
		t.Run(fmt.Sprintf("host_concurrency=%d", tc.hostLimit), func(t *testing.T) {
			x := newSim(t, Options{Concurrency: 4, HostConcurrency: tc.hostLimit}, dur)
			x.s.Update(append(x.jobs("slow", 8, time.Second), x.jobs("fast", 4, time.Second)...))
			x.run(30 * time.Second)
			fast := x.maxLag("fast") <= 50*time.Millisecond && x.runsOf("fast") >= 4*29
			if fast != tc.wantFast {
				t.Errorf("fast host: max lag %v, %d runs (want fast=%v)", x.maxLag("fast"), x.runsOf("fast"), tc.wantFast)
			}
			if tc.hostLimit > 0 && x.peak["slow"] > tc.hostLimit {
				t.Errorf("slow host: %d in flight, limit %d", x.peak["slow"], tc.hostLimit)
			}
		})
	}
}

func TestWaitingForASlotIsLagNotRunTime(t *testing.T) {
	// Two checks on one host with one slot, due 0.5 s apart, 2 s each: the
	// second waits 1.5 s for the slot. Run is called only once the slot is
	// held, with no deadline of the scheduler's: the probe's timeout starts
	// inside Run.
	x := newSim(t, Options{Concurrency: 8, HostConcurrency: 1}, func(string) time.Duration { return 2 * time.Second })
	x.s.Update(x.jobs("a", 2, time.Second))
	x.run(3 * time.Second)
	if len(x.starts) < 2 {
		t.Fatalf("%d runs started", len(x.starts))
	}
	first, second := x.starts[0], x.starts[1]
	if got := second.at.Sub(first.at); got != 2*time.Second {
		t.Errorf("second run started %v after the first, want 2s (when the slot was free)", got)
	}
	if second.lag != 1500*time.Millisecond {
		t.Errorf("second run's lag %v, want 1.5s (its wait for the slot)", second.lag)
	}
	for _, s := range x.starts {
		if _, ok := s.ctx.Deadline(); ok {
			t.Error("the scheduler gave Run a deadline: waiting would eat into the probe's timeout")
		}
	}
}

func TestOverloadIsLoggedOnceAMinuteAndClears(t *testing.T) {
	rec := &records{}
	slow := true
	x := newSim(t, Options{Concurrency: 1, Logger: rec.logger()}, func(string) time.Duration {
		if slow {
			return 3 * time.Second
		}
		return 10 * time.Millisecond
	})
	x.s.Update(x.jobs("a", 2, time.Second))
	x.run(5*time.Minute + 30*time.Second)
	warns := rec.count("WARN")
	if warns < 5 || warns > 7 {
		t.Errorf("%d WARN lines in 5.5 minutes of overload, want one a minute", warns)
	}
	if w := rec.last("WARN"); w == nil || w["skipped_last_minute"] == "0" || w["lag_p99_last_minute"] == "" ||
		w["concurrency"] != "1" || w["busiest_host"] != "a" {
		t.Errorf("the WARN line lacks the numbers: %v", w)
	}
	slow = false
	x.run(2 * time.Minute)
	if x.s.Stats().Overloaded {
		t.Errorf("still overloaded a minute after it ended: %+v", x.s.Stats())
	}
	if rec.count("INFO") != 1 {
		t.Errorf("%d INFO lines, want one that says the schedule is kept again", rec.count("INFO"))
	}
	if rec.lastLevel() != "INFO" {
		t.Error("WARN lines after the schedule was kept again")
	}
}

func TestLagAboveATenthOfTheShortestIntervalIsOverload(t *testing.T) {
	// One slot, 3 checks due 1/3 interval apart; the first takes 0.6 of
	// the interval, the others 0.1: 80 % busy, nothing skipped, but the
	// second check always starts 0.27 of an interval late.
	for _, tc := range []struct{ interval time.Duration }{{10 * time.Second}, {time.Minute}} {
		x := newSim(t, Options{Concurrency: 1}, func(id string) time.Duration {
			if strings.HasSuffix(id, "a-0/imaps") {
				return tc.interval * 6 / 10
			}
			return tc.interval / 10
		})
		x.s.Update(x.jobs("a", 3, tc.interval))
		x.run(5 * tc.interval)
		st := x.s.Stats()
		if st.Skipped != 0 || st.Overloaded != (st.LagP99 > tc.interval/10) || !st.Overloaded {
			t.Errorf("interval %v: stats %+v: want overloaded by lag alone", tc.interval, st)
		}
	}
	// Lag under a tenth of the interval is not overload.
	x := newSim(t, Options{Concurrency: 1}, func(id string) time.Duration {
		if strings.HasSuffix(id, "a-0/imaps") {
			return 38 * time.Second
		}
		return time.Second
	})
	x.s.Update(x.jobs("a", 3, time.Minute)) // 20 s apart: the second starts 18 s late
	x.run(3 * time.Minute)
	if st := x.s.Stats(); !st.Overloaded || st.Skipped != 0 {
		t.Errorf("18 s late at 60 s: stats %+v, want overloaded", st)
	}
	y := newSim(t, Options{Concurrency: 1}, func(id string) time.Duration {
		if strings.HasSuffix(id, "a-0/imaps") {
			return 25 * time.Second
		}
		return time.Second
	})
	y.s.Update(y.jobs("a", 3, time.Minute)) // the second starts 5 s late
	y.run(3 * time.Minute)
	if st := y.s.Stats(); st.Overloaded || st.LagP99 < 4*time.Second {
		t.Errorf("5 s late at 60 s: stats %+v, want lag seen but not overloaded", st)
	}
}

func TestMissedIntervalsAreSkipped(t *testing.T) {
	x := newSim(t, Options{Concurrency: 4, Kinds: []string{"endpoint"}}, func(string) time.Duration { return 0 })
	x.s.Update(x.jobs("a", 1, time.Second))
	x.run(2 * time.Second)
	n := len(x.starts)
	x.now = x.now.Add(5 * time.Second) // the process was stopped
	x.run(0)
	if len(x.starts) != n+1 {
		t.Errorf("%d runs after a 5 s stall, want one", len(x.starts)-n)
	}
	if got := counterValue(t, x.s, "mail_exporter_schedule_skipped_total", "endpoint"); got != 4 && got != 5 {
		t.Errorf("skipped %v after a 5 s stall at 1 s, want 4 or 5", got)
	}
}

func TestSetLimitsTakesEffect(t *testing.T) {
	x := newSim(t, Options{Concurrency: 1}, func(string) time.Duration { return 900 * time.Millisecond })
	x.s.Update(x.jobs("a", 6, time.Second))
	x.run(10 * time.Second)
	if x.peakAll != 1 {
		t.Fatalf("peak %d, limit 1", x.peakAll)
	}
	x.s.SetLimits(8, 3)
	x.run(10 * time.Second)
	if x.peak["a"] != 3 {
		t.Errorf("peak %d on the host after host_concurrency 3", x.peak["a"])
	}
}

func TestUpdateKeepsUnchangedAndDropsRemoved(t *testing.T) {
	s := newScheduler(Options{Concurrency: 2})
	defer s.Stop()
	noop := func(context.Context) {}
	s.Update([]Job{
		{ID: "keep", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "change", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "rekey", Fingerprint: "1", Key: "a", Interval: time.Hour, Run: noop},
		{ID: "drop", Fingerprint: "1", Key: "b", Interval: time.Hour, Run: noop},
	})
	s.mu.Lock()
	keep, change, rekey := s.entries["keep"], s.entries["change"], s.entries["rekey"]
	s.mu.Unlock()

	s.Update([]Job{
		{ID: "keep", Fingerprint: "1", Interval: time.Hour, Run: noop},
		{ID: "change", Fingerprint: "2", Interval: time.Hour, Run: noop},
		{ID: "rekey", Fingerprint: "1", Key: "c", Interval: time.Hour, Run: noop},
		{ID: "new", Fingerprint: "1", Interval: time.Hour, Run: noop},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries["keep"] != keep {
		t.Error("an unchanged check was rescheduled")
	}
	if s.entries["change"] == change || s.entries["rekey"] == rekey {
		t.Error("a changed check kept its old entry")
	}
	if _, ok := s.entries["drop"]; ok || len(s.entries) != 4 || len(s.queue) != 4 {
		t.Errorf("entries %d queue %d, want 4 and drop gone", len(s.entries), len(s.queue))
	}
	if change.ctx.Err() == nil {
		t.Error("the replaced check's context was not cancelled")
	}
	if _, ok := s.hosts["b"]; ok {
		t.Error("the host of a removed check is still kept")
	}
}

func TestRemovedQueuedRunIsDropped(t *testing.T) {
	x := newSim(t, Options{Concurrency: 1}, func(string) time.Duration { return time.Hour })
	jobs := x.jobs("a", 3, time.Second)
	x.s.Update(jobs)
	x.run(2 * time.Second) // one runs for an hour, two wait
	if st := x.s.Stats(); st.Queued != 2 || st.InFlight != 1 || st.BusiestHost != "a" || st.BusiestQueued != 2 {
		t.Fatalf("stats %+v: want 1 running and 2 queued on a", st)
	}
	running := x.starts[0].id
	var keep []Job
	for _, j := range jobs {
		if j.ID == running {
			keep = append(keep, j)
		}
	}
	x.s.Update(keep)
	if st := x.s.Stats(); st.Queued != 0 {
		t.Errorf("%d runs queued after their checks were removed", st.Queued)
	}
	if n := len(x.starts); n != 1 {
		t.Errorf("%d runs started", n)
	}
}

func TestWaitingRunsAreNotGoroutines(t *testing.T) {
	// The real loop: 500 checks on one host, one slot, every run blocks.
	// Queued runs must not each hold a goroutine.
	before := runtime.NumGoroutine()
	s := New(Options{Concurrency: 64, HostConcurrency: 1})
	release := make(chan struct{})
	var started atomic.Int32
	var jobs []Job
	for i := range 500 {
		jobs = append(jobs, Job{ID: fmt.Sprint(i), Key: "h", Interval: 20 * time.Millisecond, Run: func(ctx context.Context) {
			started.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}})
	}
	s.Update(jobs)
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Queued < 400 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := s.Stats()
	if g := runtime.NumGoroutine() - before; g > 4 {
		t.Errorf("%d goroutines for %d queued runs and %d running", g, st.Queued, st.InFlight)
	}
	if started.Load() != 1 || st.InFlight != 1 || st.Queued < 400 {
		t.Errorf("started %d, stats %+v", started.Load(), st)
	}
	close(release)
	s.Stop()
}

func TestStopCancelsRunning(t *testing.T) {
	s := New(Options{Concurrency: 1})
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

func TestRealLoopRunsWithoutOverlap(t *testing.T) {
	s := New(Options{Concurrency: 4, HostConcurrency: 4})
	defer s.Stop()
	var runs, running, overlaps atomic.Int32
	s.Update([]Job{{ID: "a", Key: "h", Kind: "endpoint", Interval: 20 * time.Millisecond, Run: func(ctx context.Context) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		runs.Add(1)
		time.Sleep(50 * time.Millisecond) // longer than the interval
		running.Add(-1)
	}}})
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if overlaps.Load() > 0 {
		t.Errorf("a check overlapped itself %d times", overlaps.Load())
	}
	if runs.Load() < 3 {
		t.Errorf("only %d runs in 10 s at 20 ms", runs.Load())
	}
}

func TestChecksArrivingOneByOneAreSpreadToo(t *testing.T) {
	// Address checks appear as their endpoints resolve, a few per update:
	// each new one goes into the largest gap; the old ones stay put.
	const n, interval = 100, time.Minute
	x := newSim(t, Options{Concurrency: 4}, func(string) time.Duration { return 0 })
	all := x.jobs("10.0.0.1", n, interval)
	var dues []time.Time
	for i := 1; i <= n; i++ {
		x.s.Update(all[:i])
		x.s.mu.Lock()
		for k := range i - 1 {
			if e := x.s.entries[all[k].ID]; !e.due.Equal(dues[k]) {
				t.Fatalf("update %d moved %s", i, all[k].ID)
			}
		}
		dues = append(dues, x.s.entries[all[i-1].ID].due)
		x.s.mu.Unlock()
	}
	var ps []time.Duration
	for _, d := range dues {
		ps = append(ps, time.Duration(d.UnixNano()%int64(interval)))
	}
	slices.Sort(ps)
	maxGap := ps[0] + interval - ps[len(ps)-1]
	for i := 1; i < len(ps); i++ {
		maxGap = max(maxGap, ps[i]-ps[i-1])
		if ps[i] == ps[i-1] {
			t.Fatalf("two checks at the same phase %v", ps[i])
		}
	}
	if maxGap > 2*interval/n {
		t.Errorf("largest gap %v between %d checks at %v, want at most %v", maxGap, n, interval, 2*interval/n)
	}
}

// TestFinishStartsTheNextQueuedRun: a run that ends starts the run queued
// behind its slot itself, and a run that ends with nothing queued does not
// wake the loop (one goroutine wake-up per probe saved).
func TestFinishStartsTheNextQueuedRun(t *testing.T) {
	now := epoch
	s := newScheduler(Options{Concurrency: 1, Now: func() time.Time { return now }})
	defer s.Stop()
	var started []string
	var dones []func()
	s.spawn = func(run, done func()) {
		run()
		dones = append(dones, done)
	}
	job := func(id string) Job {
		return Job{ID: id, Kind: "endpoint", Interval: time.Minute, Run: func(context.Context) { started = append(started, id) }}
	}
	s.Update([]Job{job("a"), job("b")})
	<-s.wake // Update's poke
	now = now.Add(time.Minute)
	s.step()
	if len(started) != 1 || s.Stats().Queued != 1 {
		t.Fatalf("after one step: started %v, stats %+v; want one running, one queued (limit 1)", started, s.Stats())
	}
	dones[0]()
	if len(started) != 2 || s.Stats().Queued != 0 {
		t.Fatalf("the first run ended: started %v, stats %+v; want the queued run started by it", started, s.Stats())
	}
	dones[1]()
	if st := s.Stats(); st.InFlight != 0 || len(s.wake) != 0 {
		t.Errorf("the last run ended: stats %+v, %d wake-ups of the loop; want none in flight and no wake-up", st, len(s.wake))
	}
}
