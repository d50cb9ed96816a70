package probe

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// textResults are results covering every family and the odd label value.
func textResults() []*Result {
	yes, no := true, false
	start := time.Unix(1767225600, 123456789)
	full := &Result{
		Start: start, Duration: 1234567 * time.Microsecond, Success: true, Reason: ReasonOK,
		Phases: []PhaseTiming{{PhaseResolve, 12 * time.Microsecond}, {PhaseConnect, time.Millisecond}, {PhaseGreeting, 200 * time.Millisecond}},
		TLS: &TLSFacts{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", NotBefore: start.Add(-time.Hour), NotAfter: start.Add(90 * 24 * time.Hour),
			ChainNotAfter: start.Add(80 * 24 * time.Hour), Verified: true, Subject: `CN=mail.example.test,O=Quote " and \ back`,
			Issuer: "CN=CA", Serial: "1f", DNSNames: "mail.example.test,mx.example.test", Fingerprint: strings.Repeat("ab", 32)},
		StartTLSOffered: &yes, PlaintextAuthOffered: &no, AuthMechanisms: []string{"LOGIN", "PLAIN"}, AuthSuccess: &yes,
		Quota: &Quota{UsedBytes: 1 << 20, LimitBytes: 1 << 30, Messages: 12, MessageLimit: 1000},
	}
	badCert := &Result{
		Start: start, Duration: 3 * time.Second, Reason: ReasonCertificate,
		TLS: &TLSFacts{Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", NotAfter: start.Add(-time.Hour),
			VerifyError: VerifyExpired, Subject: "CN=line\nfeed", Issuer: "CN=\xff\xfe invalid", Serial: "2"},
		AuthMechanisms: []string{"X-\xffODD"}, Quota: &Quota{UsedBytes: 5, LimitBytes: 10, Messages: -1},
	}
	down := &Result{Start: start, Duration: 10 * time.Second, Reason: ReasonTimeout,
		Phases: []PhaseTiming{{PhaseResolve, time.Millisecond}, {PhaseConnect, 10 * time.Second}}}
	return []*Result{full, badCert, down}
}

// samples renders parsed families as sorted "name{labels} value" lines.
func samples(t *testing.T, mfs map[string]*dto.MetricFamily) []string {
	t.Helper()
	var out []string
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			out = append(out, fmt.Sprintf("%s %s{%s} %v", mf.GetType(), name, strings.Join(ls, ","), m.GetGauge().GetValue()))
		}
	}
	sort.Strings(out)
	return out
}

func parseText(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return mfs
}

// WriteText must expose exactly what Descs.Collect does through
// client_golang: same families, help, series, labels and values.
func TestWriteTextMatchesCollect(t *testing.T) {
	for _, extra := range [][]string{nil, {"site"}, {"a_zone", "zz_top"}} {
		d := NewDescs(extra)
		type item struct {
			labels []string
			r      *Result
		}
		var items []item
		var rendered []*Rendered
		for i, r := range textResults() {
			labels := []string{fmt.Sprintf("mx%d", i), "mail.example.test", "submission", "smtp", "587", "starttls", fmt.Sprintf("2001:db8::%d", i), "ipv6"}
			for _, k := range extra {
				labels = append(labels, "v-"+k)
			}
			items = append(items, item{labels, r})
			rendered = append(rendered, d.Render(r, labels))
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, rendered); err != nil {
			t.Fatal(err)
		}
		got := parseText(t, buf.String())

		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(collectorOf(func(ch chan<- prometheus.Metric) {
			for _, it := range items {
				d.Collect(ch, it.r, it.labels)
			}
		}))
		want, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		wantMap := map[string]*dto.MetricFamily{}
		for _, mf := range want {
			wantMap[mf.GetName()] = mf
			if g := got[mf.GetName()]; g == nil || g.GetHelp() != mf.GetHelp() {
				t.Errorf("%s: help or family differs", mf.GetName())
			}
		}
		if g, w := samples(t, got), samples(t, wantMap); len(w) < 20 || !slices.Equal(g, w) {
			t.Errorf("labels %v: WriteText and Collect differ:\n got %d series:\n%s\nwant %d series:\n%s",
				extra, len(g), strings.Join(g, "\n"), len(w), strings.Join(w, "\n"))
		}
		var mfs []*dto.MetricFamily
		for _, mf := range got {
			mfs = append(mfs, mf)
		}
		problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		// Label names are written sorted, as client_golang writes them.
		for _, line := range strings.Split(buf.String(), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			if strings.Contains(line, "site=") && !strings.Contains(line, `server="`) {
				t.Errorf("line lost labels: %s", line)
			}
		}
	}
}

type collectorOf func(ch chan<- prometheus.Metric)

func (c collectorOf) Describe(chan<- *prometheus.Desc)    {}
func (c collectorOf) Collect(ch chan<- prometheus.Metric) { c(ch) }

// The label order within a line matches client_golang's text output byte
// for byte, so dashboards' regexes and diffs of /metrics see no change.
func TestWriteTextLineFormat(t *testing.T) {
	d := NewDescs([]string{"site"})
	r := textResults()[0]
	labels := []string{"mx1", "127.0.0.1", "submission", "smtp", "587", "starttls", "127.0.0.1", "ipv4", "fra"}
	var buf bytes.Buffer
	if err := WriteText(&buf, []*Rendered{d.Render(r, labels)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorOf(func(ch chan<- prometheus.Metric) { d.Collect(ch, r, labels) }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := expfmt.NewEncoder(&want, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		_ = enc.Encode(mf)
	}
	lines := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return l
	}
	if g, w := lines(buf.String()), lines(want.String()); !slices.Equal(g, w) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}
