package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
	"github.com/mail-exporter/mail_exporter/collector/scheduler"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// historyExporter is newExporter with a history of perCheck results.
func historyExporter(t *testing.T, extra string, perCheck int) (*collector.Exporter, *history.Store) {
	t.Helper()
	hist := history.New(perCheck)
	exp := collector.New(collector.Options{Hostname: "probe.example.test", Recorder: History{Store: hist}})
	if err := exp.Reload(fakes.Targets(t, extra)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return exp, hist
}

// runAll runs every check n times; the first run resolves the endpoints'
// hosts, and their address checks join the running set shortly after.
func runAll(t *testing.T, exp *collector.Exporter, n int) {
	t.Helper()
	exp.RunAll(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(exp.Checks(), func(c collector.Check) bool { return strings.Contains(c.ID(), "@") }) {
		if time.Now().After(deadline) {
			t.Fatal("no address checks 5s after the first resolution")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range n {
		exp.RunAll(context.Background())
	}
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String()
}

func TestStatusPage(t *testing.T) {
	exp, hist := historyExporter(t, "  - {name: closed, host: 127.0.0.1, endpoints: [{name: smtp, port: 9}]}\n", 4)
	o := StatusOptions{Version: "1.2.3", History: hist, Log: discard}
	// Before anything ran, every endpoint is there, waiting.
	if _, body := get(t, Status(exp, o), "/"); strings.Count(body, `<div class="check pending" data-check="endpoint/`) != 5 {
		t.Errorf("before the first run, not every endpoint shows as pending:\n%s", body)
	}
	runAll(t, exp, 6)
	code, body := get(t, Status(exp, o), "/")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`data-group="server:fake"`, `data-group="server:closed"`,
		`data-check="endpoint/fake/imaps@127.0.0.1"`, `data-check="endpoint/closed/smtp@127.0.0.1"`,
		// Every TLS endpoint has a TLS posture check beside it: the closed
		// port fails both, the four others pass both.
		`<b>2</b>failing`, `<b>8</b>ok`, "version 1.2.3", `http-equiv="refresh" content="30"`,
		`class="uptime" title="4 of 4 results ok">100%`, `class="uptime" title="0 of 4 results ok">0%`,
		`data-samples="4" data-slots="4"`, "Nothing accepts connections on 127.0.0.1:9",
		"kept in memory only", `class="cert cert-ok"`, "Schedule kept", `<span class="age" title="last result">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`<span class="age" title="last result">\d+s ago</span>`).MatchString(body) {
		t.Error("rows do not say how old their last result is")
	}
	// Bounded: six runs, four kept, for every check.
	for _, m := range regexp.MustCompile(`data-samples="(\d+)"`).FindAllStringSubmatch(body, -1) {
		if m[1] != "4" {
			t.Errorf("a bar holds %s samples, want 4", m[1])
		}
	}
	for _, bad := range []string{fakes.Password, "<script", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("status page contains %q", bad)
		}
	}
	if code, _ := get(t, Status(exp, o), "/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}

func TestCheckPage(t *testing.T) {
	exp, hist := historyExporter(t, "  - {name: closed, host: 127.0.0.1, endpoints: [{name: smtp, port: 9}]}\n", 3)
	runAll(t, exp, 5)
	o := StatusOptions{Version: "t", History: hist, Log: discard}
	code, body := get(t, CheckPage(exp, o), "/check?id=endpoint/closed/smtp@127.0.0.1")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if n := strings.Count(body, `<tr class="down">`); n != 3 {
		t.Errorf("%d history rows, want 3 (the kept ones)", n)
	}
	// The last failure's transcript: a refused connection has log lines only.
	for _, want := range []string{"Problems and fixes", "connection refused", `<pre class="transcript">`, "# DEBUG probe failed result=connect", "/probe?server=closed&amp;endpoint=smtp&amp;debug=true"} {
		if !strings.Contains(body, want) {
			t.Errorf("check page lacks %q:\n%s", want, body)
		}
	}
	code, body = get(t, CheckPage(exp, o), "/check?id=endpoint/fake/submission@127.0.0.1")
	if code != 200 || !strings.Contains(body, "No failure since the exporter started") || strings.Contains(body, fakes.Password) {
		t.Errorf("healthy check page %d:\n%s", code, body)
	}
	if code, _ := get(t, CheckPage(exp, o), "/check?id=endpoint/x/y"); code != 404 {
		t.Errorf("unknown check: %d", code)
	}
}

// overloadedSource is a StatusSource whose schedule is not kept; with
// hostBound, only a few of the global slots are busy (the per-host limit
// holds the rest back).
type overloadedSource struct{ hostBound bool }

func (overloadedSource) Checks() []collector.Check             { return nil }
func (overloadedSource) Lookup(string) (collector.Check, bool) { return nil, false }
func (overloadedSource) Now() time.Time                        { return time.Unix(1_800_000_000, 0) }
func (overloadedSource) Ready() bool                           { return true }
func (o overloadedSource) Schedule() scheduler.Stats {
	st := scheduler.Stats{Overloaded: true, Skipped: 42, LagP99: 7 * time.Second, ShortestInterval: time.Minute,
		InFlight: 64, Concurrency: 64, HostConcurrency: 4, Queued: 900, Jobs: 10000, BusiestHost: "10.0.0.1", BusiestQueued: 600}
	if o.hostBound {
		st.InFlight = 8
	}
	return st
}

func TestStatusPageSaysOverloaded(t *testing.T) {
	_, body := get(t, Status(overloadedSource{}, StatusOptions{Version: "test", Log: discard}), "/")
	for _, want := range []string{`id="overloaded"`, "42 runs skipped", "lag p99 7 s", "Raise global.concurrency", "most of them for 10.0.0.1"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q:\n%s", want, body)
		}
	}
	_, body = get(t, Status(overloadedSource{hostBound: true}, StatusOptions{Version: "test", Log: discard}), "/")
	if !strings.Contains(body, "8 of 64 in flight") || !strings.Contains(body, "raise global.host_concurrency (4)") {
		t.Errorf("a schedule held back by the per-host limit does not say so:\n%s", body)
	}
}
