package collector

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

// fixture is an exporter configured against in-process fake servers.
type fixture struct {
	exp  *Exporter
	cfg  *config.Config
	yaml string
}

func newFixture(t *testing.T, extra string) *fixture {
	t.Helper()
	path := fakes.Targets(t, extra)
	exp := New(Options{Hostname: "probe.example.test"})
	if err := exp.Reload(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	return &fixture{exp: exp, cfg: exp.Config(), yaml: path}
}

// runAll runs every check once, synchronously.
func (f *fixture) runAll(t *testing.T) {
	t.Helper()
	for _, c := range f.exp.snapshot() {
		if !c.run(context.Background(), f.exp.log, nil) {
			t.Logf("check %s failed: %+v", c.id(), c.status())
		}
	}
}

func TestCollectAfterRun(t *testing.T) {
	f := newFixture(t, "")
	if n := testutil.CollectAndCount(f.exp, "mail_probe_success"); n != 0 {
		t.Fatalf("%d results before any probe ran", n)
	}
	f.runAll(t)
	want := `
# HELP mail_probe_success 1 when the last probe of the endpoint succeeded (connected, greeted, TLS up and verified, logged in), else 0.
# TYPE mail_probe_success gauge
mail_probe_success{address="127.0.0.1",endpoint="imaps",family="ipv4",host="127.0.0.1",port="%d",protocol="imap",server="fake",site="lab",tls="implicit"} 1
mail_probe_success{address="127.0.0.1",endpoint="pop3s",family="ipv4",host="127.0.0.1",port="%d",protocol="pop3",server="fake",site="lab",tls="implicit"} 1
mail_probe_success{address="127.0.0.1",endpoint="submission",family="ipv4",host="127.0.0.1",port="%d",protocol="smtp",server="fake",site="lab",tls="starttls"} 1
mail_probe_success{address="127.0.0.1",endpoint="submissions",family="ipv4",host="127.0.0.1",port="%d",protocol="smtp",server="fake",site="lab",tls="implicit"} 1
`
	port := func(name string) any { _, ep, _ := f.cfg.Endpoint("fake", name); return ep.Port }
	want = fmt.Sprintf(want, port("imaps"), port("pop3s"), port("submission"), port("submissions"))
	if err := testutil.CollectAndCompare(f.exp, strings.NewReader(want), "mail_probe_success"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(f.exp, "mail_auth_success"); n != 4 {
		t.Errorf("mail_auth_success series = %d, want 4", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f.exp)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range specNamed(problems) {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	body := scrape(t, reg)
	if strings.Contains(body, fakes.Password) {
		t.Error("/metrics contains the password")
	}
}

func scrape(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		fmt.Fprintln(&b, mf.String())
	}
	return b.String()
}

func TestReloadKeepsUnchangedChecks(t *testing.T) {
	f := newFixture(t, "")
	f.runAll(t)
	before, _ := f.exp.lookup(EndpointID("fake", "imaps"))

	// A broken file keeps the running config and results.
	good, _ := os.ReadFile(f.yaml)
	os.WriteFile(f.yaml, []byte("global: {interval: nonsense}\n"), 0o600)
	if err := f.exp.Reload(f.yaml); err == nil {
		t.Fatal("broken config loaded")
	}
	if v := testutil.ToFloat64(f.exp.self.reloadOK); v != 0 {
		t.Errorf("reload metric %v after a failed reload", v)
	}
	if n := testutil.CollectAndCount(f.exp, "mail_probe_success"); n != 4 {
		t.Errorf("%d results after a failed reload, want 4", n)
	}

	// A valid file that drops pop3s and changes submission's timeout.
	changed := strings.Replace(string(good), "      - {name: pop3s", "#", 1)
	changed = strings.Replace(changed, "{name: submission, port:", "{name: submission, timeout: 4s, port:", 1)
	os.WriteFile(f.yaml, []byte(changed), 0o600)
	if err := f.exp.Reload(f.yaml); err != nil {
		t.Fatal(err)
	}
	after, _ := f.exp.lookup(EndpointID("fake", "imaps"))
	if before != after {
		t.Error("an unchanged check was rebuilt by the reload")
	}
	if _, ok := f.exp.lookup(EndpointID("fake", "pop3s")); ok {
		t.Error("a removed check survived the reload")
	}
	sub, ok := f.exp.lookup(AddressID("fake", "submission", netip.MustParseAddr("127.0.0.1")))
	if !ok || sub.status().Ran {
		t.Errorf("a changed check kept the old settings' result (or lost its address: %v)", ok)
	}
	if v := testutil.ToFloat64(f.exp.self.reloadOK); v != 1 {
		t.Errorf("reload metric %v after a good reload", v)
	}
	// Three endpoints on an IP literal: each address and its TLS posture
	// check are scheduled; the endpoints have nothing to resolve.
	if n := f.exp.sched.Len(); n != 6 {
		t.Errorf("scheduler holds %d checks, want 6 (3 addresses, 3 posture checks)", n)
	}
}

func TestShardsCoverEveryCheckOnce(t *testing.T) {
	var ids []string
	for i := 0; i < 5000; i++ {
		ids = append(ids, EndpointID(fmt.Sprintf("mx%d", i), "imaps"))
	}
	for _, n := range []int{1, 2, 3, 7} {
		owners := map[string]int{}
		perShard := make([]int, n)
		for i := 0; i < n; i++ {
			for _, id := range ids {
				if (Shard{Count: n, Index: i}).Owns(id) {
					owners[id]++
					perShard[i]++
				}
			}
		}
		for _, id := range ids {
			if owners[id] != 1 {
				t.Fatalf("%d shards: %s owned %d times", n, id, owners[id])
			}
		}
		for i, c := range perShard {
			if c < len(ids)/n*8/10 {
				t.Errorf("%d shards: shard %d owns only %d of %d", n, i, c, len(ids))
			}
		}
	}
	// Adding a replica moves only the new replica's share.
	moved := 0
	for _, id := range ids {
		var from, to int
		for i := 0; i < 4; i++ {
			if (Shard{Count: 4, Index: i}).Owns(id) {
				from = i
			}
		}
		for i := 0; i < 5; i++ {
			if (Shard{Count: 5, Index: i}).Owns(id) {
				to = i
			}
		}
		if from != to {
			moved++
			if to != 4 {
				t.Fatalf("%s moved from shard %d to old shard %d", id, from, to)
			}
		}
	}
	if moved > len(ids)/5*12/10 {
		t.Errorf("4→5 shards moved %d of %d checks", moved, len(ids))
	}
}

// seriesValue returns the value of the one series of name whose labels
// contain match (in text form, e.g. `zone="x"`).
func seriesValue(t *testing.T, c prometheus.Collector, name, match string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if strings.Contains(strings.Join(ls, ","), match) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s}", name, match)
	return 0
}

// Servers with different `labels:` keys must not break /metrics: every
// endpoint series of a metric carries the union of the keys.
func TestMixedServerLabels(t *testing.T) {
	f := newFixture(t, `  - {name: other, host: 127.0.0.1, labels: {team: mail}, endpoints: [{name: smtp, port: 9}]}
  - {name: bare, host: 127.0.0.1, endpoints: [{name: smtp, port: 9}]}
`)
	f.runAll(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f.exp)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather with mixed label sets: %v", err)
	}
	if v := seriesValue(t, f.exp, "mail_probe_success", `server="bare",site="",team=""`); v != 0 {
		t.Errorf("closed port probed as %v", v)
	}
}
