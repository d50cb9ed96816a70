package authbackoff

import (
	"testing"
	"time"
)

func TestSlots(t *testing.T) {
	for _, c := range []struct {
		n        int
		interval time.Duration
		want     int
	}{
		{0, time.Minute, 1},
		{1, time.Minute, 2},
		{2, time.Minute, 4},
		{5, time.Minute, 32},
		{6, time.Minute, 60}, // 64 intervals would pass MaxGap
		{30, time.Minute, 60},
		{1000, time.Minute, 60},
		{1, 5 * time.Minute, 2},
		{3, 5 * time.Minute, 8},
		{4, 5 * time.Minute, 12},
		{1, 30 * time.Minute, 2},
		{2, 30 * time.Minute, 2},
		{1, time.Hour, 1}, // an interval of MaxGap or more: no backoff
		{3, 2 * time.Hour, 1},
	} {
		if got := Slots(c.n, c.interval); got != c.want {
			t.Errorf("Slots(%d, %v) = %d, want %d", c.n, c.interval, got, c.want)
		}
	}
}

// The scheduled runs a check with a refused credential actually makes:
// runs 0, 2, 6, 14, 30, 62, then every 60, and the first success resets.
func TestScheduledRuns(t *testing.T) {
	s := New(time.Minute)
	var attempts []int
	for slot := 0; slot < 200; slot++ {
		if s.Skip() {
			continue
		}
		attempts = append(attempts, slot)
		s.Refused()
	}
	want := []int{0, 2, 6, 14, 30, 62, 122, 182}
	if len(attempts) != len(want) {
		t.Fatalf("attempts at %v, want %v", attempts, want)
	}
	for i := range want {
		if attempts[i] != want[i] {
			t.Fatalf("attempts at %v, want %v", attempts, want)
		}
	}
	if g := s.Gap(); g != time.Hour {
		t.Errorf("gap %v at the cap, want 1h", g)
	}
	// Skip what is left of the gap, then succeed.
	for s.Skip() {
	}
	s.Accepted()
	if s.Gap() != 0 || s.Failures() != 0 || s.Skip() {
		t.Errorf("after a success: gap %v failures %d", s.Gap(), s.Failures())
	}
}

func TestGap(t *testing.T) {
	s := New(time.Minute)
	if s.Gap() != 0 {
		t.Fatalf("fresh state gap %v", s.Gap())
	}
	s.Refused()
	if s.Gap() != 2*time.Minute {
		t.Errorf("after one refusal gap %v, want 2m", s.Gap())
	}
	s.Refused()
	if s.Gap() != 4*time.Minute {
		t.Errorf("after two refusals gap %v, want 4m", s.Gap())
	}
	s.Accepted()
	if s.Gap() != 0 {
		t.Errorf("after a success gap %v, want 0", s.Gap())
	}
	long := New(2 * time.Hour)
	long.Refused()
	if long.Gap() != 0 || long.Skip() {
		t.Errorf("2h interval: gap %v, want no backoff", long.Gap())
	}
}
