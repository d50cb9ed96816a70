// Package history keeps the recent results of every check in memory for
// the status page: a fixed number of compact samples per check (the time,
// ok or the failure's result code, the duration and three phase
// durations), and the last failure's message and transcript while the
// check is failing. Nothing is written to disk: a restart starts empty.
//
// A sample takes 13 bytes: 4 for the time, 1 for the result, 2 for each of
// four durations (see encodeDuration). Samples are kept column-wise in
// slices allocated once per check, so memory per check is fixed once its
// ring is full (BenchmarkStore10k reports it).
package history

import (
	"sync"
	"time"
)

// Phase groups of a sample, in the order the sparkline stacks them.
const (
	PhaseConnect = iota // resolve and TCP connect
	PhaseTLS            // TLS handshakes and the STARTTLS command
	PhaseServer         // the server's dialogue: greeting, capabilities, login, logout, …
	NumPhases
)

// PhaseNames name the phase groups for people.
var PhaseNames = [NumPhases]string{"connect", "tls", "server"}

// Sample is one stored result.
type Sample struct {
	At     time.Time
	OK     bool
	Code   string // the result code: "ok", "connect", "certificate", …
	Total  time.Duration
	Phases [NumPhases]time.Duration
}

// Failure is what is kept of the last failed run.
type Failure struct {
	At    time.Time
	Code  string
	Error string
	// Transcript of that run, masked, at most MaxTranscript bytes; "" when
	// the run was not recorded. Dropped when the check recovers.
	Transcript string
}

const (
	// MaxError bounds a kept failure message.
	MaxError = 512
	// MaxTranscript bounds a kept transcript: its head and its tail are
	// kept, the middle is cut.
	MaxTranscript = 4 << 10
	durCols       = 1 + NumPhases // total, then the phases
	failedBit     = 0x80
	maxCodes      = 0x7f // code indexes 0..126; 127 = "other"
)

// Store holds the history of every check, by check identity.
type Store struct {
	size int

	mu     sync.RWMutex
	checks map[string]*ring
	codes  []string
	index  map[string]uint8
}

// ring is one check's samples, oldest overwritten first.
type ring struct {
	mu   sync.Mutex
	next int // where the next sample goes
	n    int // samples held, ≤ len(at)
	at   []uint32
	res  []uint8  // failedBit | code index
	dur  []uint16 // durCols per sample, encodeDuration
	fail *Failure
}

// New returns a Store keeping perCheck samples of each check (at least 1).
func New(perCheck int) *Store {
	return &Store{size: max(perCheck, 1), checks: map[string]*ring{}, index: map[string]uint8{}}
}

// PerCheck is how many samples are kept of each check.
func (s *Store) PerCheck() int { return s.size }

// Record adds one result of the check id. errText and transcript are kept
// (bounded) only when the sample failed; a passing sample drops the kept
// transcript but remembers when and why the check last failed.
func (s *Store) Record(id string, smp Sample, errText, transcript string) {
	code := s.code(smp.Code)
	s.mu.RLock()
	r := s.checks[id]
	s.mu.RUnlock()
	if r == nil {
		s.mu.Lock()
		if r = s.checks[id]; r == nil {
			r = &ring{at: make([]uint32, s.size), res: make([]uint8, s.size), dur: make([]uint16, s.size*durCols)}
			s.checks[id] = r
		}
		s.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.next
	r.at[i] = unixSeconds(smp.At)
	r.res[i] = code
	if !smp.OK {
		r.res[i] |= failedBit
	}
	d := r.dur[i*durCols : (i+1)*durCols]
	d[0] = encodeDuration(smp.Total)
	for p := range NumPhases {
		d[1+p] = encodeDuration(smp.Phases[p])
	}
	r.next = (i + 1) % len(r.at)
	r.n = min(r.n+1, len(r.at))
	switch {
	case !smp.OK:
		r.fail = &Failure{At: smp.At, Code: smp.Code, Error: clip(errText, MaxError), Transcript: cutMiddle(transcript, MaxTranscript)}
	case r.fail != nil && r.fail.Transcript != "":
		f := *r.fail
		f.Transcript = ""
		r.fail = &f
	}
}

// Samples returns the samples of id, oldest first.
func (s *Store) Samples(id string) []Sample {
	s.mu.RLock()
	r := s.checks[id]
	codes := s.codes
	s.mu.RUnlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Sample, 0, r.n)
	for k := range r.n {
		i := (r.next - r.n + k + len(r.at)) % len(r.at)
		smp := Sample{At: time.Unix(int64(r.at[i]), 0), OK: r.res[i]&failedBit == 0}
		if c := int(r.res[i] &^ failedBit); c < len(codes) {
			smp.Code = codes[c]
		} else {
			smp.Code = "other"
		}
		d := r.dur[i*durCols : (i+1)*durCols]
		smp.Total = decodeDuration(d[0])
		for p := range NumPhases {
			smp.Phases[p] = decodeDuration(d[1+p])
		}
		out = append(out, smp)
	}
	return out
}

// LastFailure returns what is kept of the last failed run of id.
func (s *Store) LastFailure(id string) (Failure, bool) {
	s.mu.RLock()
	r := s.checks[id]
	s.mu.RUnlock()
	if r == nil {
		return Failure{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail == nil {
		return Failure{}, false
	}
	return *r.fail, true
}

// Retain drops the history of every check for which keep is false: checks
// removed from the configuration, or no longer advertised.
func (s *Store) Retain(keep func(id string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.checks {
		if !keep(id) {
			delete(s.checks, id)
		}
	}
}

// Len is the number of checks with a history.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.checks)
}

// code interns a result code; the table is shared by all checks.
func (s *Store) code(c string) uint8 {
	s.mu.RLock()
	i, ok := s.index[c]
	s.mu.RUnlock()
	if ok {
		return i
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[c]; ok {
		return i
	}
	if len(s.codes) >= maxCodes {
		return maxCodes
	}
	i = uint8(len(s.codes))
	// A new slice, so that readers holding the old one see a consistent table.
	s.codes = append(s.codes[:len(s.codes):len(s.codes)], c)
	s.index[c] = i
	return i
}

func unixSeconds(t time.Time) uint32 {
	u := t.Unix()
	switch {
	case u < 0:
		return 0
	case u > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(u)
}

// DefaultPerCheck is the depth the exporter keeps: an hour at the default
// one-minute interval.
const DefaultPerCheck = 60
