package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// fakeChecks is a configuration of fakeCheck, on a clock the test moves.
type fakeChecks struct {
	mu     sync.Mutex
	now    time.Time
	checks map[string]*fakeCheck
	cfg    config.Config
}

func (f *fakeChecks) Lookup(id string) (collector.Check, bool) {
	c, ok := f.checks[id]
	return c, ok
}
func (f *fakeChecks) Config() *config.Config { return &f.cfg }
func (f *fakeChecks) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}
func (f *fakeChecks) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// fakeCheck counts its runs; its metric fake_run is the run's number.
type fakeCheck struct {
	id      string
	spacing time.Duration
	clock   *fakeChecks
	block   chan struct{} // if set, a run waits for it
	started chan struct{} // if set, closed when a run starts

	mu     sync.Mutex
	runs   int
	latest int // the run of the latest result; 0 = none
	at     time.Time
}

var fakeDesc = prometheus.NewDesc("fake_run", "Which run produced this answer.", nil, nil)

type runMetric int

func (r runMetric) Describe(ch chan<- *prometheus.Desc) { ch <- fakeDesc }
func (r runMetric) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(fakeDesc, prometheus.GaugeValue, float64(r))
}

func (c *fakeCheck) ID() string                        { return c.id }
func (c *fakeCheck) Kind() string                      { return "endpoint" }
func (c *fakeCheck) Status() collector.StatusRow       { return collector.StatusRow{} }
func (c *fakeCheck) Detail(time.Time) collector.Detail { return collector.Detail{} }
func (c *fakeCheck) MinSpacing() time.Duration         { return c.spacing }
func (c *fakeCheck) Results() []collector.StatusRow {
	return []collector.StatusRow{{Name: c.id, Ran: true, Result: "auth", Reason: "refused"}}
}
func (c *fakeCheck) RunOnce(ctx context.Context, tr *probe.Transcript) prometheus.Collector {
	if c.started != nil {
		close(c.started)
	}
	if c.block != nil {
		<-c.block
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs++
	c.latest, c.at = c.runs, c.clock.Now()
	return runMetric(c.runs)
}
func (c *fakeCheck) Latest() (prometheus.Collector, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return runMetric(c.latest), c.at, c.latest != 0
}
func (c *fakeCheck) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

func newFakeChecks(checks ...*fakeCheck) *fakeChecks {
	f := &fakeChecks{now: time.Unix(1_700_000_000, 0), checks: map[string]*fakeCheck{}}
	f.cfg.Global.ProbeMaxInFlight = 4
	for _, c := range checks {
		c.clock = f
		f.checks[c.id] = c
	}
	return f
}

func probeGet(h http.Handler, q string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?"+q, nil))
	return rec
}

func TestProbeSpacing(t *testing.T) {
	login := &fakeCheck{id: collector.EndpointID("mx", "imaps"), spacing: time.Minute}
	open := &fakeCheck{id: collector.EndpointID("mx", "smtp")}
	f := newFakeChecks(login, open)
	p := Probe(f)
	for _, c := range []struct {
		advance    time.Duration
		check      *fakeCheck
		q          string
		cached     string // X-Mail-Exporter-Cached; "" = ran
		wantRun    string // fake_run in the answer
		totalRuns  int
		debugLines []string
	}{
		{0, login, "server=mx&endpoint=imaps", "", "fake_run 1", 1, nil},
		{10 * time.Second, login, "server=mx&endpoint=imaps", "10", "fake_run 1", 1, nil},
		{20 * time.Second, login, "server=mx&endpoint=imaps&debug=true", "30", "fake_run 1", 1,
			[]string{"Answered from the latest result, 30s old (minimum spacing 1m0s): nothing was sent to the server.",
				"Last scheduled result of endpoint/mx/imaps: auth refused"}},
		{29*time.Second + 999*time.Millisecond, login, "server=mx&endpoint=imaps", "59", "fake_run 1", 1, nil},
		{time.Millisecond, login, "server=mx&endpoint=imaps", "", "fake_run 2", 2, nil}, // 60s: spacing over
		{time.Second, login, "server=mx&endpoint=imaps&debug=true", "1", "fake_run 2", 2, nil},
		// Without a login: every request runs.
		{0, open, "server=mx&endpoint=smtp", "", "fake_run 1", 1, nil},
		{0, open, "server=mx&endpoint=smtp&debug=true", "", "fake_run 2", 2, []string{"Transcript (C: client"}},
		{0, open, "server=mx&endpoint=smtp", "", "fake_run 3", 3, nil},
	} {
		f.advance(c.advance)
		rec := probeGet(p, c.q)
		body := rec.Body.String()
		if rec.Code != 200 || rec.Header().Get("X-Mail-Exporter-Cached") != c.cached || !strings.Contains(body, c.wantRun) {
			t.Errorf("%s after +%v: %d cached=%q, want cached=%q and %s:\n%s", c.q, c.advance, rec.Code,
				rec.Header().Get("X-Mail-Exporter-Cached"), c.cached, c.wantRun, body)
		}
		if n := c.check.count(); n != c.totalRuns {
			t.Errorf("%s after +%v: %d runs, want %d", c.q, c.advance, n, c.totalRuns)
		}
		for _, l := range c.debugLines {
			if !strings.Contains(body, l) {
				t.Errorf("%s: debug output lacks %q:\n%s", c.q, l, body)
			}
		}
	}
}

// A result of the schedule counts as the latest result too.
func TestProbeSpacingScheduledResult(t *testing.T) {
	c := &fakeCheck{id: collector.RoundtripID("loop"), spacing: time.Minute}
	f := newFakeChecks(c)
	c.latest, c.at = 7, f.now.Add(-5*time.Second) // stored by the schedule
	rec := probeGet(Probe(f), "roundtrip=loop")
	if rec.Header().Get("X-Mail-Exporter-Cached") != "5" || !strings.Contains(rec.Body.String(), "fake_run 7") || c.count() != 0 {
		t.Errorf("cached=%q runs=%d:\n%s", rec.Header().Get("X-Mail-Exporter-Cached"), c.count(), rec.Body.String())
	}
}

// Beyond probe_max_in_flight: 429, Retry-After, a reason, counted; the
// check is not run. A request for the check in flight joins it instead.
func TestProbeRefusedOverCap(t *testing.T) {
	slow := &fakeCheck{id: collector.EndpointID("mx", "imaps"), block: make(chan struct{}), started: make(chan struct{})}
	other := &fakeCheck{id: collector.EndpointID("mx", "pop3s")}
	f := newFakeChecks(slow, other)
	f.cfg.Global.ProbeMaxInFlight = 1
	p := Probe(f)
	var wg sync.WaitGroup
	var first, joiner *httptest.ResponseRecorder
	wg.Go(func() { first = probeGet(p, "server=mx&endpoint=imaps") })
	<-slow.started
	wg.Go(func() { joiner = probeGet(p, "server=mx&endpoint=imaps") })
	waitFor(t, "the join", func() bool { return p.flights.waiting(slow.id) == 1 })

	rec := probeGet(p, "server=mx&endpoint=pop3s")
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "5" ||
		!strings.Contains(string(body), "1 on-demand probes are running (probe_max_in_flight)") {
		t.Errorf("over the cap: %d Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
	if other.count() != 0 {
		t.Error("a refused request ran its check")
	}
	if v := testutil.ToFloat64(p.refused.WithLabelValues(ReasonMaxInFlight)); v != 1 {
		t.Errorf("refused counter %v, want 1", v)
	}
	close(slow.block)
	wg.Wait()
	if first.Code != 200 || joiner.Code != 200 || slow.count() != 1 || !strings.Contains(joiner.Body.String(), "fake_run 1") {
		t.Errorf("in-flight check: %d and %d, %d runs", first.Code, joiner.Code, slow.count())
	}
	// Free again.
	if rec := probeGet(p, "server=mx&endpoint=pop3s"); rec.Code != 200 || other.count() != 1 {
		t.Errorf("after the run: %d, %d runs", rec.Code, other.count())
	}
	// The counter is exported, with its reason.
	if err := testutil.CollectAndCompare(p, strings.NewReader(`
# HELP mail_exporter_probe_refused_total /probe requests refused without running, by reason (max_in_flight: probe_max_in_flight runs were in flight).
# TYPE mail_exporter_probe_refused_total counter
mail_exporter_probe_refused_total{reason="max_in_flight"} 1
`)); err != nil {
		t.Error(err)
	}
}
