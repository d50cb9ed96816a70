package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/scheduler"

	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

func TestStatusPage(t *testing.T) {
	exp := newExporter(t, "")
	exp.RunAll(context.Background())
	rec := httptest.NewRecorder()
	Status(exp, "test", discard).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	for _, want := range []string{"fake/imaps", "fake/submission", "OK", "days", "0 failing", "Schedule kept"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, fakes.Password) {
		t.Error("status page leaks the password")
	}
}

// overloadedSource is a StatusSource whose schedule is not kept.
type overloadedSource struct{}

func (overloadedSource) Checks() []collector.Check { return nil }
func (overloadedSource) Now() time.Time            { return time.Unix(1_800_000_000, 0) }
func (overloadedSource) Ready() bool               { return true }
func (overloadedSource) Schedule() scheduler.Stats {
	return scheduler.Stats{Overloaded: true, Skipped: 42, LagP99: 7 * time.Second, ShortestInterval: time.Minute,
		InFlight: 64, Concurrency: 64, Queued: 900, Jobs: 10000}
}

func TestStatusPageSaysOverloaded(t *testing.T) {
	rec := httptest.NewRecorder()
	Status(overloadedSource{}, "test", discard).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	for _, want := range []string{`id="overloaded"`, "42 runs skipped", "lag p99 7s", "Raise global.concurrency"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q:\n%s", want, body)
		}
	}
}
