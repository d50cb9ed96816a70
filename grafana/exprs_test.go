package grafana_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Where the committed artefacts live, relative to this module.
const (
	dashboardsDir = "dashboards"
	metricsFile   = "metrics.txt"
	rulesDir      = "../deploy/prometheus"
)

var ruleFiles = []string{"alerts.yml", "rules.yml"}

// expr is one PromQL expression and where it was found.
type expr struct {
	where string // "fleet-overview.json: panel 7 \"Endpoints\" A", "alerts.yml: alert MailEndpointDown"
	file  string // the dashboard's or rule file's base name
	query string // as written, Grafana variables included
}

// grafanaVars are Grafana's own interval variables and what stands for
// them when an expression is parsed or run outside Grafana. The template
// variables ($job, $server, $endpoint, $domain) only appear inside regex
// matchers, so they parse as they are and ".*" can replace them to run.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"$__interval", "1m",
	"$__range", "1d",
)

// promQL returns the expression ready to parse: Grafana's interval variables
// replaced.
func (e expr) promQL() string { return grafanaVars.Replace(e.query) }

// dashboardJSON reads every committed dashboard as generic JSON, by file name.
func dashboardJSON(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardsDir, err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// panels lists a dashboard's panels, those inside collapsed rows included.
func panels(d map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range list(d["panels"]) {
		pm := p.(map[string]any)
		out = append(out, pm)
		for _, q := range list(pm["panels"]) {
			out = append(out, q.(map[string]any))
		}
	}
	return out
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// dashboardExprs pulls every target's expr out of the committed JSON, the
// way an outside test would.
func dashboardExprs(t *testing.T) []expr {
	t.Helper()
	var out []expr
	for name, d := range dashboardJSON(t) {
		for _, p := range panels(d) {
			for _, tg := range list(p["targets"]) {
				tm := tg.(map[string]any)
				q, ok := tm["expr"].(string)
				if !ok {
					continue
				}
				out = append(out, expr{
					where: fmt.Sprintf("%s: panel %v %q %v", name, p["id"], p["title"], tm["refId"]),
					file:  name, query: q,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// variableExprs returns the series selector of every label_values variable.
func variableExprs(t *testing.T) []expr {
	t.Helper()
	var out []expr
	for name, d := range dashboardJSON(t) {
		tpl, _ := d["templating"].(map[string]any)
		for _, v := range list(tpl["list"]) {
			vm := v.(map[string]any)
			if vm["type"] != "query" {
				continue
			}
			q, _ := vm["query"].(string)
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("%s: variable %v: query %q is not label_values(selector, label)", name, vm["name"], q)
				continue
			}
			out = append(out, expr{where: fmt.Sprintf("%s: variable %v", name, vm["name"]), file: name, query: m[1]})
		}
	}
	return out
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Record string            `yaml:"record"`
			Expr   string            `yaml:"expr"`
			Labels map[string]string `yaml:"labels"`
			Annot  map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T, name string) ruleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rulesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rf
}

// ruleExprs returns every rule's expression, and the names the recording
// rules define.
func ruleExprs(t *testing.T) (exprs []expr, recorded map[string]bool) {
	t.Helper()
	recorded = map[string]bool{}
	for _, f := range ruleFiles {
		for _, g := range readRules(t, f).Groups {
			for _, r := range g.Rules {
				what := "alert " + r.Alert
				if r.Record != "" {
					what = "record " + r.Record
					recorded[r.Record] = true
				}
				exprs = append(exprs, expr{where: f + ": " + what, file: f, query: r.Expr})
			}
		}
	}
	return exprs, recorded
}

// exported reads metrics.txt: the names of the series the exporter exports.
func exported(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}
