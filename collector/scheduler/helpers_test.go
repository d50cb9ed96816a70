package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// records keeps the log records a scheduler writes, attributes as text.
type records struct {
	mu   sync.Mutex
	recs []record
}

type record struct {
	level string
	attrs map[string]string
}

func (r *records) logger() *slog.Logger { return slog.New(recHandler{r}) }

func (r *records) count(level string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.recs {
		if x.level == level {
			n++
		}
	}
	return n
}

func (r *records) last(level string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.recs) - 1; i >= 0; i-- {
		if r.recs[i].level == level {
			return r.recs[i].attrs
		}
	}
	return nil
}

func (r *records) lastLevel() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		return ""
	}
	return r.recs[len(r.recs)-1].level
}

type recHandler struct{ r *records }

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recHandler) WithGroup(string) slog.Handler            { return h }
func (h recHandler) Handle(_ context.Context, rec slog.Record) error {
	x := record{level: rec.Level.String(), attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		x.attrs[a.Key] = a.Value.String()
		return true
	})
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, x)
	h.r.mu.Unlock()
	return nil
}

// counterValue reads name{kind} from what s collects.
func counterValue(t *testing.T, s *Scheduler, name, kind string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if labelOf(m, "kind") == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{kind=%q}", name, kind)
	return 0
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
