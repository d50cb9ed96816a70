package grafana_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// madeByPrometheus are series Prometheus writes itself for every scrape
// target; the exporter does not export them, yet rules and dashboards may
// use them.
var madeByPrometheus = map[string]bool{"up": true}

var promql = parser.NewParser(parser.Options{})

// selectors parses e and returns its vector selectors.
func selectors(t *testing.T, e expr) []*parser.VectorSelector {
	t.Helper()
	node, err := promql.ParseExpr(e.promQL())
	if err != nil {
		t.Errorf("%s: %v\n\t%s", e.where, err, e.query)
		return nil
	}
	var out []*parser.VectorSelector
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// metricName is the selector's metric name, "" when it has none.
func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func allExprs(t *testing.T) ([]expr, map[string]bool) {
	rules, recorded := ruleExprs(t)
	all := append(dashboardExprs(t), variableExprs(t)...)
	return append(all, rules...), recorded
}

// TestExpressionsParse: every PromQL expression of the dashboards (targets
// and variables) and of the rules parses.
func TestExpressionsParse(t *testing.T) {
	all, _ := allExprs(t)
	if len(all) < 50 {
		t.Fatalf("only %d expressions found: is the extraction broken?", len(all))
	}
	for _, e := range all {
		if strings.Contains(e.promQL(), "$__") {
			t.Errorf("%s: Grafana variable without a stand-in in grafanaVars: %s", e.where, e.query)
		}
		selectors(t, e)
	}
}

// TestMetricNamesExported: every metric an expression reads is one the
// exporter exports (metrics.txt), one a recording rule of rules.yml
// defines, or one Prometheus makes itself.
func TestMetricNamesExported(t *testing.T) {
	known := map[string]bool{}
	for _, n := range exported(t) {
		known[n] = true
	}
	all, recorded := allExprs(t)
	for _, e := range all {
		for _, vs := range selectors(t, e) {
			name := metricName(vs)
			switch {
			case name == "":
				t.Errorf("%s: selector %s names no metric", e.where, vs)
			case known[name], madeByPrometheus[name], recorded[name]:
			default:
				t.Errorf("%s: %s is not in %s nor recorded by rules.yml", e.where, name, metricsFile)
			}
		}
	}
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// TestMetricsFile: metrics.txt is a sorted list of distinct metric names.
func TestMetricsFile(t *testing.T) {
	names := exported(t)
	if len(names) == 0 {
		t.Fatal("metrics.txt is empty")
	}
	for i, n := range names {
		if !metricNameRE.MatchString(n) || strings.Contains(n, ":") {
			t.Errorf("metrics.txt line %d: %q is not an exported metric name", i+1, n)
		}
		if i > 0 && names[i-1] >= n {
			t.Errorf("metrics.txt line %d: %q is out of order or repeated", i+1, n)
		}
	}
}

// TestEveryMailMetricOnADashboard: each mail_ series the exporter exports
// is shown somewhere, so that a new metric gets a panel.
func TestEveryMailMetricOnADashboard(t *testing.T) {
	used := map[string]bool{}
	for _, e := range dashboardExprs(t) {
		for _, vs := range selectors(t, e) {
			used[metricName(vs)] = true
		}
	}
	for _, n := range exported(t) {
		if strings.HasPrefix(n, "mail_") && !used[n] {
			t.Errorf("%s is exported but on no dashboard", n)
		}
	}
}

// Which template variables a series is filtered by, by metric name prefix.
var (
	endpointSeries = []string{"mail_probe_", "mail_tls_", "mail_starttls_", "mail_plaintext_", "mail_auth_",
		"mail_mailbox_", "endpoint:"}
	serverSeries = append([]string{"server:"}, endpointSeries...)
	domainSeries = []string{"mail_dns_", "mail_dnssec_", "mail_mx_", "mail_spf_", "mail_dmarc_", "mail_dkim_",
		"mail_mtasts_", "mail_dane_", "mail_ptr_", "mail_dnsbl_"}
)

func hasPrefix(name string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// TestSelectorsUseVariables: every selector of a dashboard query honours
// the variables that dashboard offers, as a regex matcher (job=~"$job"), so
// that choosing a job, server, endpoint or domain narrows every panel, and
// a test can substitute ".*".
func TestSelectorsUseVariables(t *testing.T) {
	vars := map[string]map[string]bool{}
	for name, d := range dashboardJSON(t) {
		vars[name] = map[string]bool{}
		tpl, _ := d["templating"].(map[string]any)
		for _, v := range list(tpl["list"]) {
			vars[name][v.(map[string]any)["name"].(string)] = true
		}
	}
	for _, e := range dashboardExprs(t) {
		for _, vs := range selectors(t, e) {
			name := metricName(vs)
			want := []string{"job"}
			if vars[e.file]["server"] && hasPrefix(name, serverSeries) {
				want = append(want, "server")
			}
			if vars[e.file]["endpoint"] && hasPrefix(name, endpointSeries) {
				want = append(want, "endpoint")
			}
			if vars[e.file]["domain"] && hasPrefix(name, domainSeries) {
				want = append(want, "domain")
			}
			for _, v := range want {
				if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
					return m.Name == v && m.Type == labels.MatchRegexp && m.Value == "$"+v
				}) {
					t.Errorf("%s: selector %s lacks %s=~\"$%s\"", e.where, vs, v, v)
				}
			}
		}
	}
}
