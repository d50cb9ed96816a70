package scheduler

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// reporter logs the scheduler's overload: a WARN line when it starts and
// then once a minute while it lasts, with the numbers; an INFO line when
// it ends.
type reporter struct {
	last       time.Time
	checked    time.Time // the state is looked at once a second at most
	overloaded bool
	skipped    map[string]int // by kind, since the last line
}

// ReportEvery is how often an overload is logged while it lasts.
const ReportEvery = time.Minute

// report logs if it is time to. Callers hold mu.
func (s *Scheduler) report(now time.Time) {
	if s.rep.skipped == nil {
		s.rep.skipped = map[string]int{}
	}
	if now.Sub(s.rep.checked) < time.Second {
		return
	}
	s.rep.checked = now
	st := s.stats(now)
	switch {
	case st.Overloaded && (!s.rep.overloaded || now.Sub(s.rep.last) >= ReportEvery):
		s.fillBusiest(&st)
		s.log.Warn("the schedule cannot be kept: raise global.concurrency (or host_concurrency), add a shard, or lengthen intervals",
			"skipped_last_minute", st.Skipped, "skipped_since_last_report", kindCounts(s.rep.skipped),
			"lag_p99_last_minute", st.LagP99, "shortest_interval", st.ShortestInterval,
			"runs_last_minute", st.Runs, "in_flight", st.InFlight, "concurrency", st.Concurrency,
			"host_concurrency", st.HostConcurrency, "queued", st.Queued,
			"busiest_host", st.BusiestHost, "busiest_host_queued", st.BusiestQueued, "checks", st.Jobs)
		clear(s.rep.skipped)
		s.rep.last, s.rep.overloaded = now, true
	case !st.Overloaded && s.rep.overloaded:
		s.log.Info("the schedule is kept again", "lag_p99_last_minute", st.LagP99,
			"runs_last_minute", st.Runs, "in_flight", st.InFlight, "concurrency", st.Concurrency)
		clear(s.rep.skipped)
		s.rep.last, s.rep.overloaded = now, false
	}
}

// fillBusiest finds the host with the most queued runs (a scan of the
// hosts, done once a minute at most). Callers hold mu.
func (s *Scheduler) fillBusiest(st *Stats) {
	for _, h := range s.hosts {
		if q := h.queued(); q > st.BusiestQueued || (q == st.BusiestQueued && q > 0 && h.key < st.BusiestHost) {
			st.BusiestHost, st.BusiestQueued = h.key, q
		}
	}
}

// kindCounts formats {"endpoint": 3, "domain": 1} as "domain=1 endpoint=3".
func kindCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(m[k]))
	}
	return b.String()
}
