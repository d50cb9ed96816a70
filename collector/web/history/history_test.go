package history

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)

func sample(i int, ok bool) Sample {
	code := "ok"
	if !ok {
		code = "connect"
	}
	return Sample{At: t0.Add(time.Duration(i) * time.Minute), OK: ok, Code: code, Total: time.Duration(i+1) * time.Millisecond,
		Phases: [NumPhases]time.Duration{time.Duration(i) * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond}}
}

func TestRingBounded(t *testing.T) {
	s := New(5)
	for i := range 12 {
		s.Record("endpoint/a/imaps", sample(i, i%3 != 0), "", "")
	}
	got := s.Samples("endpoint/a/imaps")
	if len(got) != 5 {
		t.Fatalf("%d samples kept, want 5", len(got))
	}
	for k, smp := range got {
		i := 7 + k // the last five: 7..11, oldest first
		want := sample(i, i%3 != 0)
		if !smp.At.Equal(want.At) || smp.OK != want.OK || smp.Code != want.Code || smp.Total != want.Total || smp.Phases != want.Phases {
			t.Errorf("sample %d = %+v, want %+v", k, smp, want)
		}
	}
	if s.Samples("nope") != nil {
		t.Error("samples of an unknown check")
	}
	s2 := New(0)
	s2.Record("x", sample(0, true), "", "")
	s2.Record("x", sample(1, true), "", "")
	if n := len(s2.Samples("x")); n != 1 {
		t.Errorf("New(0) keeps %d samples, want 1", n)
	}
}

func TestDurationEncoding(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 300 * time.Microsecond, 4095 * time.Microsecond,
		4096 * time.Microsecond, 12345678 * time.Nanosecond, 15 * time.Second, 2 * time.Minute} {
		got := decodeDuration(encodeDuration(d))
		diff := d - got
		if diff < 0 || float64(diff) > float64(d)/2048+float64(time.Microsecond) {
			t.Errorf("%v comes back as %v", d, got)
		}
	}
	if got := decodeDuration(encodeDuration(time.Hour)); got < 134*time.Second || got > 135*time.Second {
		t.Errorf("an hour saturates at %v, want ~134 s", got)
	}
	if encodeDuration(-time.Second) != 0 {
		t.Error("a negative duration is not 0")
	}
}

func TestFailureKeptWhileFailing(t *testing.T) {
	s := New(10)
	id := "endpoint/a/imaps"
	if _, ok := s.LastFailure(id); ok {
		t.Error("a failure before anything ran")
	}
	s.Record(id, sample(0, true), "", "S: * OK ignored, it passed")
	if _, ok := s.LastFailure(id); ok {
		t.Error("a failure after a passing run")
	}
	long := strings.Repeat("S: 250-line of a chatty server\n", 1000)
	s.Record(id, sample(1, false), strings.Repeat("e", 2000), "C: EHLO x\n"+long+"S: 554 go away\n")
	f, ok := s.LastFailure(id)
	if !ok || f.Code != "connect" || !f.At.Equal(sample(1, false).At) {
		t.Fatalf("failure %+v %v", f, ok)
	}
	if len(f.Error) > MaxError+len("…") {
		t.Errorf("error kept at %d bytes", len(f.Error))
	}
	if len(f.Transcript) > MaxTranscript+64 || !strings.HasPrefix(f.Transcript, "C: EHLO x\n") ||
		!strings.HasSuffix(f.Transcript, "S: 554 go away\n") || !strings.Contains(f.Transcript, " bytes cut …\n") {
		t.Errorf("transcript of %d bytes: head %q tail %q", len(f.Transcript), f.Transcript[:40], f.Transcript[len(f.Transcript)-40:])
	}
	s.Record(id, sample(2, true), "", "S: * OK recovered")
	f, ok = s.LastFailure(id)
	if !ok || f.Transcript != "" || f.Code != "connect" {
		t.Errorf("after recovery: %+v %v; want the failure without its transcript", f, ok)
	}
}

func TestRetainAndCodes(t *testing.T) {
	s := New(3)
	for i := range 200 {
		s.Record(fmt.Sprintf("c%d", i), Sample{At: t0, Code: fmt.Sprintf("code%d", i)}, "", "")
	}
	if got := s.Samples("c5")[0].Code; got != "code5" {
		t.Errorf("code %q", got)
	}
	if got := s.Samples("c199")[0].Code; got != "other" {
		t.Errorf("the 200th distinct code reads %q, want other", got)
	}
	s.Retain(func(id string) bool { return id == "c1" || id == "c2" })
	if s.Len() != 2 || s.Samples("c3") != nil || len(s.Samples("c1")) != 1 {
		t.Errorf("after Retain: %d checks", s.Len())
	}
}

func TestConcurrent(t *testing.T) {
	s := New(16)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				s.Record(fmt.Sprintf("c%d", i%20), sample(i, (i+w)%5 != 0), "err", "tr")
				s.Samples(fmt.Sprintf("c%d", (i+1)%20))
				s.LastFailure("c1")
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			s.Retain(func(string) bool { return true })
		}
	})
	wg.Wait()
	for i := range 20 {
		if n := len(s.Samples(fmt.Sprintf("c%d", i))); n != 16 {
			t.Errorf("c%d holds %d samples", i, n)
		}
	}
}

// BenchmarkStore10k fills the history of 10 000 checks (IDs as the
// exporter names them) to the default depth and reports the heap it
// holds per check; each iteration records one more result of every check.
//
//	go test ./collector/web/history -run '^$' -bench Store10k -benchmem
func BenchmarkStore10k(b *testing.B) {
	const checks = 10000
	ids := make([]string, checks)
	for i := range ids {
		ids[i] = fmt.Sprintf("endpoint/mx%05d/submission", i)
	}
	before := heap()
	s := New(DefaultPerCheck)
	for k := range DefaultPerCheck {
		for i, id := range ids {
			s.Record(id, sample(k, (i+k)%7 != 0), "", "")
		}
	}
	held := heap() - before
	k := 0
	for b.Loop() {
		for _, id := range ids {
			s.Record(id, sample(k, true), "", "")
		}
		k++
	}
	b.ReportMetric(float64(held)/checks, "bytes/check")
	b.ReportMetric(float64(held)/(1<<20), "MiB/10k_checks")
	if s.Len() != checks || len(s.Samples(ids[0])) != DefaultPerCheck {
		b.Fatalf("%d checks, %d samples", s.Len(), len(s.Samples(ids[0])))
	}
	runtime.KeepAlive(ids)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryBounded: once a check's ring is full, more results cost no
// memory, and a full check stays within 2 KB (BenchmarkStore10k gives the
// exact figure).
func TestMemoryBounded(t *testing.T) {
	const checks = 2000
	ids := make([]string, checks)
	for i := range ids {
		ids[i] = fmt.Sprintf("endpoint/mx%05d/submission", i)
	}
	fill := func(s *Store, rounds int) {
		for k := range rounds {
			for i, id := range ids {
				s.Record(id, sample(k, (i+k)%7 != 0), "", "")
			}
		}
	}
	before := heap()
	s := New(DefaultPerCheck)
	fill(s, DefaultPerCheck)
	full := heap()
	fill(s, 2*DefaultPerCheck)
	after := heap()
	perCheck := float64(full-before) / checks
	t.Logf("%.0f bytes per check after %d results, %+d bytes after %d more", perCheck, DefaultPerCheck, int64(after)-int64(full), 2*DefaultPerCheck)
	if perCheck > 2048 {
		t.Errorf("%.0f bytes per check, want at most 2048", perCheck)
	}
	if grew := int64(after) - int64(full); grew > int64(full-before)/20 {
		t.Errorf("the heap grew by %d bytes recording into full rings", grew)
	}
	runtime.KeepAlive(s)
}
