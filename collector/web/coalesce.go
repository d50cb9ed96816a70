package web

import (
	"context"
	"errors"
	"sync"
)

// errBusy: limit runs are in flight already.
var errBusy = errors.New("too many runs in flight")

// how an answer came about.
type how int

const (
	ran    how = iota // this caller ran it
	joined            // a concurrent caller's run, shared
	cached            // no run: fresh() answered
)

// flights shares one run per key among concurrent callers and bounds how
// many runs are in flight at once. It starts no goroutine: the first
// caller runs the work, the others wait for its answer.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
	n  int // runs in flight
}

type flight[T any] struct {
	done    chan struct{}
	val     T
	waiters int // callers that joined
}

// Do answers for key. If a run for key is in flight, it waits for that
// run's value (or for ctx). Otherwise fresh, called under the lock, may
// answer without a run; else, when fewer than limit runs are in flight,
// it calls run and hands its value to every caller that joined meanwhile;
// else errBusy. fresh sees the results of every run that has returned:
// run stores what fresh reads before its flight ends.
func (f *flights[T]) Do(ctx context.Context, key string, limit int, fresh func() (T, bool), run func() T) (T, how, error) {
	f.mu.Lock()
	if fl, ok := f.m[key]; ok {
		fl.waiters++
		f.mu.Unlock()
		select {
		case <-fl.done:
			return fl.val, joined, nil
		case <-ctx.Done():
			var zero T
			return zero, joined, ctx.Err()
		}
	}
	if v, ok := fresh(); ok {
		f.mu.Unlock()
		return v, cached, nil
	}
	if f.n >= max(limit, 1) {
		f.mu.Unlock()
		var zero T
		return zero, ran, errBusy
	}
	if f.m == nil {
		f.m = map[string]*flight[T]{}
	}
	fl := &flight[T]{done: make(chan struct{})}
	f.m[key] = fl
	f.n++
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.n--
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.val = run()
	return fl.val, ran, nil
}

// waiting is how many callers joined the run in flight for key.
func (f *flights[T]) waiting(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		return fl.waiters
	}
	return 0
}
