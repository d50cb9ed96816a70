package probe

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The summary series carry the endpoint labels without address and family,
// and the text written for /metrics is what client_golang writes.
func TestSummaryTextMatchesCollect(t *testing.T) {
	d := NewDescs([]string{"site", "a_first"})
	labels := []string{"mx1", "mail.example.test", "smtp", "smtp", "25", "starttls", "2001:db8::1", "ipv6", "fra", `q"x`}
	values := SummaryValues(labels)
	if want := []string{"mx1", "mail.example.test", "smtp", "smtp", "25", "starttls", "fra", `q"x`}; !slices.Equal(values, want) {
		t.Fatalf("SummaryValues = %q, want %q", values, want)
	}
	s := Summary{Addresses: 3, Up: 2}
	var buf bytes.Buffer
	if err := WriteSummaries(&buf, []SummaryItem{{Labels: d.SummaryLabels(values), Summary: s}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorOf(func(ch chan<- prometheus.Metric) { d.CollectSummary(ch, s, values) }))
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
	if strings.Contains(buf.String(), "address=") || strings.Contains(buf.String(), "family=") {
		t.Errorf("summary carries address labels:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `mail_probe_addresses_up{a_first="q\"x",endpoint="smtp",`) {
		t.Errorf("labels not sorted and escaped:\n%s", buf.String())
	}
	var empty bytes.Buffer
	if err := WriteSummaries(&empty, nil); err != nil || empty.Len() != 0 {
		t.Errorf("no items wrote %q, %v", empty.String(), err)
	}
}
