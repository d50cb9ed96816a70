package web

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// never is a fresh that never answers.
func never[T any]() (T, bool) { var zero T; return zero, false }

// N concurrent callers of one key share one run and all get its value.
func TestFlightsShareOneRun(t *testing.T) {
	var f flights[int]
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	run := func() int {
		runs.Add(1)
		close(started)
		<-release
		return 42
	}
	const n = 20
	vals := make([]int, n)
	hows := make([]how, n)
	var wg sync.WaitGroup
	wg.Go(func() { vals[0], hows[0], _ = f.Do(context.Background(), "k", 1, never[int], run) })
	<-started
	for i := 1; i < n; i++ {
		wg.Go(func() { vals[i], hows[i], _ = f.Do(context.Background(), "k", 1, never[int], run) })
	}
	waitFor(t, "the callers to join", func() bool { return f.waiting("k") == n-1 })
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("%d runs, want 1", runs.Load())
	}
	joinedN := 0
	for i := range n {
		if vals[i] != 42 {
			t.Errorf("caller %d got %d", i, vals[i])
		}
		if hows[i] == joined {
			joinedN++
		}
	}
	if hows[0] != ran || joinedN != n-1 {
		t.Errorf("leader %v, %d joined; want ran and %d", hows[0], joinedN, n-1)
	}
	// Nothing is left in flight: the next call runs again.
	if _, h, _ := f.Do(context.Background(), "k", 1, never[int], func() int { return 7 }); h != ran || f.n != 0 {
		t.Errorf("after the flight: %v, %d in flight", h, f.n)
	}
}

// Runs of different keys count against the limit; joining does not.
func TestFlightsLimit(t *testing.T) {
	var f flights[string]
	release := make(chan struct{})
	var wg sync.WaitGroup
	for _, k := range []string{"a", "b"} {
		wg.Go(func() {
			f.Do(context.Background(), k, 2, never[string], func() string { <-release; return k })
		})
	}
	waitFor(t, "two runs in flight", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.n == 2 })
	ranC := false
	if _, _, err := f.Do(context.Background(), "c", 2, never[string], func() string { ranC = true; return "c" }); !errors.Is(err, errBusy) || ranC {
		t.Errorf("third key at limit 2: err %v, ran %v; want errBusy and no run", err, ranC)
	}
	// A caller of a key in flight joins it even at the limit.
	var got string
	wg.Go(func() {
		got, _, _ = f.Do(context.Background(), "a", 2, never[string], func() string { return "again" })
	})
	waitFor(t, "the join", func() bool { return f.waiting("a") == 1 })
	close(release)
	wg.Wait()
	if got != "a" {
		t.Errorf("joined caller got %q, want a's run", got)
	}
}

// fresh answers without a run when no run is in flight, and is not
// consulted by a caller that joins one.
func TestFlightsFresh(t *testing.T) {
	var f flights[string]
	runs := 0
	v, h, err := f.Do(context.Background(), "k", 1, func() (string, bool) { return "stored", true }, func() string { runs++; return "run" })
	if v != "stored" || h != cached || err != nil || runs != 0 {
		t.Errorf("fresh answer: %q %v %v, %d runs", v, h, err, runs)
	}
	// At the limit, a fresh answer is still given (it costs nothing).
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { f.Do(context.Background(), "x", 1, never[string], func() string { <-release; return "x" }) })
	waitFor(t, "a run in flight", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.n == 1 })
	if v, h, err := f.Do(context.Background(), "k", 1, func() (string, bool) { return "stored", true }, func() string { return "run" }); v != "stored" || h != cached || err != nil {
		t.Errorf("fresh answer at the limit: %q %v %v", v, h, err)
	}
	close(release)
	wg.Wait()
}

// A caller that gives up returns its context's error; the run goes on
// and its other callers get the answer.
func TestFlightsCallerGivesUp(t *testing.T) {
	var f flights[int]
	release := make(chan struct{})
	started := make(chan struct{})
	var leader int
	var wg sync.WaitGroup
	wg.Go(func() {
		leader, _, _ = f.Do(context.Background(), "k", 1, never[int], func() int { close(started); <-release; return 1 })
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := f.Do(ctx, "k", 1, never[int], func() int { return 2 }); errc <- err }()
	waitFor(t, "the join", func() bool { return f.waiting("k") == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("caller that gave up: %v", err)
	}
	close(release)
	wg.Wait()
	if leader != 1 {
		t.Errorf("leader got %d", leader)
	}
}
