// Package authbackoff spaces out the scheduled login attempts of a check
// whose credential the server refused, so that a wrong password in
// targets.yaml cannot by itself trip a lockout (fail2ban, Dovecot's auth
// penalty, a provider's lockout policy).
//
// The rule: after n consecutive refused logins (n ≥ 1), the check makes one
// login attempt per 2^n of its intervals, and its attempts are never more
// than MaxGap apart (or one interval, if the interval is longer). Scheduled
// runs in between are skipped: nothing is dialled, the last result stays.
// The first login that succeeds ends the backoff. A run that ends before
// the server judged the credential (a refused connection, a timeout, also
// one during the login itself) neither ends nor lengthens it. With a 1m interval
// the attempts after the first refusal come 2, 4, 8, 16, 32 and then every
// 60 minutes.
package authbackoff

import (
	"sync"
	"time"
)

// MaxGap is the longest the backoff spaces two login attempts.
const MaxGap = time.Hour

// maxFailures bounds the exponent; 2^maxFailures intervals is far past MaxGap.
const maxFailures = 30

// State is one check's backoff. The zero value is not backing off.
type State struct {
	interval time.Duration

	mu       sync.Mutex
	failures int // consecutive refused logins
	skip     int // scheduled runs still to skip
}

// New returns the backoff of a check scheduled every interval.
func New(interval time.Duration) *State { return &State{interval: interval} }

// Slots is how many intervals apart the login attempts are after n
// consecutive refusals: min(2^n, MaxGap/interval), at least 1.
func Slots(n int, interval time.Duration) int {
	limit := 1
	if interval > 0 && MaxGap/interval > 1 {
		limit = int(MaxGap / interval)
	}
	if n <= 0 {
		return 1
	}
	return min(1<<min(n, maxFailures), limit)
}

// Skip reports whether this scheduled run is to be skipped, and uses it up.
func (s *State) Skip() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skip > 0 {
		s.skip--
		return true
	}
	return false
}

// Refused records a run whose login the server refused.
func (s *State) Refused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = min(s.failures+1, maxFailures)
	s.skip = Slots(s.failures, s.interval) - 1
}

// Accepted records a run whose login succeeded: the backoff ends.
func (s *State) Accepted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures, s.skip = 0, 0
}

// Gap is the time between login attempts the backoff imposes now: 0 when
// the check runs at its own interval.
func (s *State) Gap() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := Slots(s.failures, s.interval)
	if n <= 1 {
		return 0
	}
	return time.Duration(n) * s.interval
}

// Failures is the number of consecutive refused logins.
func (s *State) Failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}
