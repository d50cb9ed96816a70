package collector

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// The scheduler against real servers (SPEC 6.5): the per-host limit seen
// from the server's side, an unmeetable schedule that skips and says so,
// and a slow server that does not hold up the others.

// schedServer is one server entry of a generated targets.yaml.
type schedServer struct {
	name, host, endpoint string
	port                 int
	interval, timeout    time.Duration
}

func schedConfig(t testing.TB, m *peers.Mail, global string, servers []schedServer) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "global: {%s, ehlo_name: probe.example.test}\nservers:\n", global)
	for _, s := range servers {
		fmt.Fprintf(&b, "  - {name: %s, host: %s, tls_server_name: %s, ca_file: %s, interval: %s, endpoints: [{name: %s, port: %d, timeout: %s, credential: none}]}\n",
			s.name, s.host, m.ServerName, m.CAFile, s.interval, s.endpoint, s.port, s.timeout)
	}
	p := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func servers(prefix, host, endpoint string, port, n int, interval, timeout time.Duration) []schedServer {
	var out []schedServer
	for i := range n {
		out = append(out, schedServer{fmt.Sprintf("%s%02d", prefix, i), host, endpoint, port, interval, timeout})
	}
	return out
}

// syncBuffer is a log sink that tests read while the exporter writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startSchedExporter(t *testing.T, path string) (*Exporter, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	exp := New(Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return exp, logs
}

func listener(m *peers.Mail, port string) string {
	return net.JoinHostPort(m.Host, strconv.Itoa(m.Ports[port]))
}

func TestRealHostConcurrencyAtTheServer(t *testing.T) {
	// Postfix waits 1 s before greeting on its smtp port, so every probe
	// of it holds a connection for a second; Dovecot's imaps on the same
	// address shares the limit. 16 checks at 2 s on one address.
	m := peers.StartMail(t, peers.WithGreetingDelay(time.Second))
	srv := append(servers("smtp", m.Host, "smtp", m.Ports["smtp"], 8, 2*time.Second, 1800*time.Millisecond),
		servers("imaps", m.Host, "imaps", m.Ports["imaps"], 8, 2*time.Second, 1800*time.Millisecond)...)
	for _, tc := range []struct {
		hostLimit int
		exceed    bool // the control: without the limit the server sees more
	}{{2, false}, {32, true}} {
		t.Run(fmt.Sprintf("host_concurrency=%d", tc.hostLimit), func(t *testing.T) {
			exp, _ := startSchedExporter(t, schedConfig(t, m, fmt.Sprintf("concurrency: 32, host_concurrency: %d", tc.hostLimit), srv))
			time.Sleep(2 * time.Second) // the endpoints resolve (an address literal) and get their address checks
			s := peers.SampleConns(listener(m, "smtp"), listener(m, "imaps"))
			time.Sleep(6 * time.Second)
			cs, err := s.Stop()
			exp.Stop()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("connections at the server: %+v", cs)
			// A loaded machine reads /proc/net/tcp less often (59 samples in 6 s
			// seen in CI); 30 still spread over the whole window.
			if cs.Samples < 30 || cs.Busy < cs.Samples/4 {
				t.Fatalf("%+v: the server was not under load", cs)
			}
			if tc.exceed {
				if cs.Sustained <= 2 {
					t.Errorf("without a per-host limit the server saw at most %d connections: this test cannot see a breach", cs.Sustained)
				}
				return
			}
			if cs.Sustained != tc.hostLimit {
				t.Errorf("the server saw %d connections at once from the exporter, host_concurrency %d", cs.Sustained, tc.hostLimit)
			}
		})
	}
}

func TestRealUnmeetableScheduleSkipsAndSaysSo(t *testing.T) {
	// 6 checks at 2 s on a server that greets after 1 s, one at a time:
	// about 2 runs per interval are possible, 6 are asked for.
	m := peers.StartMail(t, peers.WithGreetingDelay(time.Second))
	path := schedConfig(t, m, "concurrency: 16, host_concurrency: 1",
		servers("slow", m.Host, "smtp", m.Ports["smtp"], 6, 2*time.Second, 1500*time.Millisecond))
	exp, logs := startSchedExporter(t, path)
	time.Sleep(5 * time.Second)
	skipped0 := counterOf(t, exp, "mail_exporter_schedule_skipped_total", "endpoint")
	time.Sleep(6 * time.Second)
	st := exp.Schedule()
	skipped1 := counterOf(t, exp, "mail_exporter_schedule_skipped_total", "endpoint")
	t.Logf("stats %+v; skipped %v then %v", st, skipped0, skipped1)
	if !exp.Overloaded() || !st.Overloaded {
		t.Error("an unmeetable schedule is not reported as overloaded")
	}
	if got := gaugeValue(t, exp, "mail_exporter_overloaded"); got != 1 {
		t.Errorf("mail_exporter_overloaded %v", got)
	}
	if skipped1 <= skipped0 || skipped0 == 0 {
		t.Errorf("skipped runs %v then %v: the counter does not grow", skipped0, skipped1)
	}
	if st.Queued > 6 {
		t.Errorf("%d runs queued for 6 checks", st.Queued)
	}
	// A run waits at most for the 5 queued before it, ~1.1 s each.
	if st.LagP99 > 8*time.Second {
		t.Errorf("lag p99 %v: not bounded by one queued run per check", st.LagP99)
	}
	if !strings.Contains(logs.String(), "the schedule cannot be kept") || !strings.Contains(logs.String(), "skipped_last_minute=") {
		t.Errorf("no WARN line with the numbers:\n%s", logs.String())
	}
	// Waiting for the slot (seconds) never counts against the 1.5 s
	// timeout: every probe that ran got its greeting.
	n := 0
	for _, c := range exp.snapshot() {
		if ac, ok := c.(*addressCheck); ok {
			if r := ac.last.Load(); r != nil {
				n++
				if !r.Success {
					t.Errorf("%s: %s %s after %v: the wait for a slot ate into the probe's timeout", ac.id(), r.Reason, r.Error, r.Duration)
				}
			}
		}
	}
	if n < 4 {
		t.Errorf("only %d checks have a result", n)
	}
}

func TestRealSlowServerDoesNotDelayOthers(t *testing.T) {
	// 16 checks at 5 s on a Postfix that greets after 2 s (127.0.0.2: 6.4
	// slots' worth) and 4 on Dovecot at 1 s (127.0.0.1), 4 slots in all.
	// Without a per-host limit the slow server's probes take every slot.
	m := peers.StartMail(t, peers.WithGreetingDelay(2*time.Second))
	srv := append(servers("slow", m.Host, "smtp", m.Ports["smtp"], 16, 5*time.Second, 4*time.Second),
		servers("fast", "127.0.0.1", "imaps", m.Ports["imaps"], 4, time.Second, 900*time.Millisecond)...)
	for _, tc := range []struct {
		hostLimit int
		delayed   bool
	}{{2, false}, {4, true}} {
		t.Run(fmt.Sprintf("host_concurrency=%d", tc.hostLimit), func(t *testing.T) {
			exp, _ := startSchedExporter(t, schedConfig(t, m, fmt.Sprintf("concurrency: 4, host_concurrency: %d", tc.hostLimit), srv))
			time.Sleep(3 * time.Second)
			gap, runs := fastGaps(exp, 8*time.Second)
			exp.Stop()
			t.Logf("fast checks: %d runs in 8 s, longest gap between runs of one check %v", runs, gap)
			if tc.delayed {
				if gap < 1500*time.Millisecond {
					t.Errorf("without a per-host limit the fast checks were not held up (gap %v): this test cannot see a delay", gap)
				}
				return
			}
			if gap > 1500*time.Millisecond || runs < 4*6 {
				t.Errorf("the slow server delayed the fast checks: longest gap %v at a 1 s interval, %d runs", gap, runs)
			}
		})
	}
}

// fastGaps watches the results of the checks of servers named fast* for d
// and returns the longest time between two runs of one check, and how many
// runs there were.
func fastGaps(exp *Exporter, d time.Duration) (time.Duration, int) {
	last := map[string]time.Time{}
	var gap time.Duration
	runs := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, c := range exp.snapshot() {
			ac, ok := c.(*addressCheck)
			if !ok || !strings.HasPrefix(ac.ep.server.Name, "fast") {
				continue
			}
			r := ac.last.Load()
			if r == nil || r.Start.Equal(last[ac.id()]) {
				continue
			}
			if prev, ok := last[ac.id()]; ok {
				gap = max(gap, r.Start.Sub(prev))
				runs++
			}
			last[ac.id()] = r.Start
		}
		time.Sleep(20 * time.Millisecond)
	}
	return gap, runs
}

func gaugeValue(t *testing.T, exp *Exporter, name string) float64 {
	t.Helper()
	found := -1.0
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			found = mf.Metric[0].GetGauge().GetValue()
		}
	}
	return found
}

// counterOf reads name{kind} from what exp collects.
func counterOf(t *testing.T, exp *Exporter, name, kind string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if mf.GetName() == name && l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{kind=%q}", name, kind)
	return 0
}
