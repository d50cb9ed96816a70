package grafana_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// promtool finds promtool through $PROMTOOL or PATH. Without it the test is
// skipped, unless MAIL_EXPORTER_REAL_PEERS=1 (CI) says the real tools must be
// there.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" {
		t.Fatal("promtool not found in $PROMTOOL or PATH, and MAIL_EXPORTER_REAL_PEERS=1")
	}
	t.Skip("promtool not found in $PROMTOOL or PATH; set MAIL_EXPORTER_REAL_PEERS=1 to make this a failure")
	return ""
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestPromtoolCheckRules(t *testing.T) {
	args := []string{"check", "rules"}
	for _, f := range ruleFiles {
		args = append(args, filepath.Join(rulesDir, f))
	}
	runPromtool(t, args...)
}

func TestPromtoolCheckConfig(t *testing.T) {
	runPromtool(t, "check", "config", filepath.Join(rulesDir, "prometheus.yml"))
}

// TestPromtoolTestRules runs the unit tests of every alert and recording rule.
func TestPromtoolTestRules(t *testing.T) {
	runPromtool(t, "test", "rules", filepath.Join(rulesDir, "tests", "alerts_test.yml"))
}

// TestPromtoolDashboardExprs hands every dashboard query to the installed
// Prometheus' own parser, as recording rules in a scratch file: the Go
// parser of TestExpressionsParse is newer than some Prometheus releases.
func TestPromtoolDashboardExprs(t *testing.T) {
	tool := promtool(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range append(dashboardExprs(t), variableExprs(t)...) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:expr:%d", i), Expr: e.promQL()})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "check", "rules", f).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules (dashboard expressions, numbered as in %s): %v\n%s", f, err, out)
	}
}

// TestAlertsTested: every alert of alerts.yml has a unit test in which it
// fires and one in which it does not.
func TestAlertsTested(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(rulesDir, "tests", "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests []struct {
			Name  string `yaml:"name"`
			Cases []struct {
				Alert string `yaml:"alertname"`
				Exp   []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range suite.Tests {
		for _, c := range tc.Cases {
			if len(c.Exp) > 0 {
				fires[c.Alert] = true
			} else {
				silent[c.Alert] = true
			}
		}
	}
	rf := readRules(t, "alerts.yml")
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("alerts.yml group %s: a recording rule belongs in rules.yml", g.Name)
				continue
			}
			n++
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alert %s: tested firing %v, not firing %v; both are needed", r.Alert, fires[r.Alert], silent[r.Alert])
			}
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, sev)
			}
			if r.Annot["summary"] == "" || r.Annot["description"] == "" {
				t.Errorf("alert %s: summary and description annotations are required", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerts in alerts.yml")
	}
}
