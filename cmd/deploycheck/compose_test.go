package main

// deploy/compose checked with Debian's docker-compose (`config` validates the
// file against the Compose schema and resolves every path), then the wiring
// between the services followed: the files each one mounts exist, the
// exporter's config names its credentials where the secrets are mounted,
// Prometheus loads the rules of deploy/prometheus from where they are
// mounted (promtool) and scrapes the job name the rules expect, Alertmanager's
// config is valid (amtool), Grafana's provisioning finds the dashboards and
// the datasource where the stack puts them.

import (
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

const composeDir = "deploy/compose"

// composeModel is the part of `docker-compose config`'s output checked here.
type composeModel struct {
	Services map[string]struct {
		Image     string   `json:"image"`
		Command   []string `json:"command"`
		Volumes   []string `json:"volumes"`
		ReadOnly  bool     `json:"read_only"`
		CapDrop   []string `json:"cap_drop"`
		DependsOn any      `json:"depends_on"`
		Secrets   []struct {
			Source string `json:"source"`
			Target string `json:"target"`
		} `json:"secrets"`
		Ports []any `json:"ports"`
	} `json:"services"`
	Secrets map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
}

// mounts maps container paths to host paths for a service's bind mounts.
func mounts(t *testing.T, volumes []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "/") {
			continue // a named volume
		}
		out[parts[1]] = parts[0]
	}
	return out
}

func flagIn(args []string, name string) string {
	v, _ := flagValue(args, name)
	return v
}

// toolPath finds a tool through $ENV or PATH, like needTool.
func toolPath(t *testing.T, env, name, pkg string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	return needTool(t, name, pkg+" (or set $"+env+")")
}

func TestCompose(t *testing.T) {
	dc := needTool(t, "docker-compose", "docker-compose")
	dir := repoPath(composeDir)

	cmd := exec.Command(dc, "config", "-q")
	cmd.Dir = dir
	cmd.Env = buildEnv(nil)
	runLogged(t, cmd, "compose config")

	cmd = exec.Command(dc, "config")
	cmd.Dir = dir
	cmd.Env = buildEnv(nil)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	var m composeModel
	if err := sigsyaml.Unmarshal(out, &m); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}
	var names []string
	for n := range m.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"alertmanager", "grafana", "mail_exporter", "prometheus"}) {
		t.Fatalf("services %v", names)
	}

	// Every file a service mounts is in the repository (the password file
	// only as its .example: the real one is not committed).
	for name, s := range m.Services {
		if !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if len(s.CapDrop) == 0 || s.CapDrop[0] != "ALL" {
			t.Errorf("%s: capabilities are not dropped", name)
		}
		for ctr, host := range mounts(t, s.Volumes) {
			if rel, err := filepath.Rel(repoRoot, host); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s: mounts %s from outside the repository", name, host)
			}
			if _, err := os.Stat(host); err != nil {
				t.Errorf("%s: mounts %s at %s: %v", name, host, ctr, err)
			}
		}
	}
	for name, s := range m.Secrets {
		if _, err := os.Stat(s.File); err != nil {
			if _, err2 := os.Stat(s.File + ".example"); err2 != nil {
				t.Errorf("secret %s: neither %s nor %s.example exists", name, s.File, s.File)
			}
		}
	}

	checkComposeExporter(t, m)
	checkComposePrometheus(t, m)
	checkComposeAlertmanager(t, m)
	checkComposeGrafana(t, m)
}

func checkComposeExporter(t *testing.T, m composeModel) {
	s := m.Services["mail_exporter"]
	if !s.ReadOnly {
		t.Error("mail_exporter: the container's root filesystem is writable")
	}
	cfgPath := flagIn(s.Command, "config.file")
	host, ok := mounts(t, s.Volumes)[cfgPath]
	if !ok {
		t.Fatalf("mail_exporter: --config.file=%s is not mounted", cfgPath)
	}
	config, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]bool{}
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		secrets[target] = true
	}
	for _, pf := range passwordFiles(t, config) {
		if !secrets[pf] {
			t.Errorf("mail_exporter: password_file %s is not where a secret is mounted %v", pf, secrets)
		}
	}
	configCheck(t, dockerBuild(t), config, composeDir+"/targets.yaml")
}

// promConfig is the part of prometheus.yml checked here.
type promConfig struct {
	RuleFiles []string `json:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"alertmanagers"`
	} `json:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		StaticConfigs []struct {
			Targets []string `json:"targets"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

func checkComposePrometheus(t *testing.T, m composeModel) {
	s := m.Services["prometheus"]
	binds := mounts(t, s.Volumes)
	cfgPath := flagIn(s.Command, "config.file")
	host, ok := binds[cfgPath]
	if !ok {
		t.Fatalf("prometheus: --config.file=%s is not mounted", cfgPath)
	}
	raw, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	var pc promConfig
	if err := sigsyaml.Unmarshal(raw, &pc); err != nil {
		t.Fatal(err)
	}

	// The rule files of deploy/prometheus are mounted where rule_files looks.
	for _, rf := range ruleFiles {
		want := repoPath(rf)
		var found bool
		for ctr, h := range binds {
			if h != want {
				continue
			}
			for _, glob := range pc.RuleFiles {
				if ok, _ := path.Match(glob, ctr); ok {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("prometheus: %s is not mounted where rule_files %v finds it", rf, pc.RuleFiles)
		}
	}

	// The exporter is scraped under the job name the rules use.
	jobs := map[string][]string{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], st.Targets...)
		}
	}
	for _, job := range ruleJobs(t) {
		if !slices.Contains(jobs[job], "mail_exporter:9745") {
			t.Errorf("prometheus: job %q (used by the rules) does not scrape mail_exporter:9745: %v", job, jobs)
		}
	}
	for _, am := range pc.Alerting.Alertmanagers {
		for _, st := range am.StaticConfigs {
			for _, target := range st.Targets {
				if _, ok := m.Services[strings.Split(target, ":")[0]]; !ok {
					t.Errorf("prometheus: alertmanager %s is not a service of the stack", target)
				}
			}
		}
	}

	// promtool on the config as the container sees it: every bind mount laid
	// out under a temp root, the absolute paths in prometheus.yml moved there.
	promtool := toolPath(t, "PROMTOOL", "promtool", "prometheus (apt-get download prometheus; dpkg-deb -x)")
	root := t.TempDir()
	for ctr, h := range binds {
		b, err := os.ReadFile(h)
		if err != nil {
			continue // a directory
		}
		writeFile(t, root, ctr, b, 0o644)
	}
	text := strings.ReplaceAll(string(raw), "/etc/prometheus/", filepath.Join(root, "etc/prometheus")+"/")
	cfg := writeFile(t, root, cfgPath, []byte(text), 0o644)
	out := string(runLogged(t, exec.Command(promtool, "check", "config", cfg), "promtool check config"))
	for _, rf := range ruleFiles {
		if !strings.Contains(out, path.Base(rf)) {
			t.Errorf("promtool did not check %s:\n%s", rf, out)
		}
	}
}

func checkComposeAlertmanager(t *testing.T, m composeModel) {
	s := m.Services["alertmanager"]
	cfgPath := flagIn(s.Command, "config.file")
	host, ok := mounts(t, s.Volumes)[cfgPath]
	if !ok {
		t.Fatalf("alertmanager: --config.file=%s is not mounted", cfgPath)
	}
	amtool := toolPath(t, "AMTOOL", "amtool", "prometheus-alertmanager")
	runLogged(t, exec.Command(amtool, "check-config", host), "amtool check-config")
}

// grafanaProvisioning is what the dashboards and datasources provisioning
// files say, in the parts checked here.
type grafanaProvisioning struct {
	Providers []struct {
		Name    string `json:"name"`
		Options struct {
			Path string `json:"path"`
		} `json:"options"`
	} `json:"providers"`
	Datasources []struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"datasources"`
}

// provisioning reads the provisioning files of one kind from a folder.
func provisioning(t *testing.T, dir string) []grafanaProvisioning {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	var out []grafanaProvisioning
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p grafanaProvisioning
		if err := sigsyaml.Unmarshal(b, &p); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// checkComposeGrafana: the stack's Grafana gets the repository's dashboard
// provisioning, the dashboards where that provisioning reads them, and a
// Prometheus data source that is the stack's Prometheus service under the
// repository datasource's name and uid.
func checkComposeGrafana(t *testing.T, m composeModel) {
	const prov = "/etc/grafana/provisioning"
	repoProv := repoPath("grafana/provisioning")
	if _, err := os.Stat(repoProv); err != nil {
		t.Fatalf("grafana/provisioning does not exist (yet): it must provision the dashboards and the datasource")
	}
	binds := mounts(t, m.Services["grafana"].Volumes)
	hostDir := func(kind string) string {
		if h, ok := binds[prov+"/"+kind]; ok {
			return h
		}
		if h, ok := binds[prov]; ok {
			return filepath.Join(h, kind)
		}
		t.Fatalf("grafana: nothing is mounted at %s/%s", prov, kind)
		return ""
	}

	if h := hostDir("dashboards"); h != filepath.Join(repoProv, "dashboards") {
		t.Errorf("grafana: dashboard provisioning comes from %s, not the repository's grafana/provisioning/dashboards", h)
	}
	var providers int
	for _, p := range provisioning(t, hostDir("dashboards")) {
		for _, pr := range p.Providers {
			providers++
			if host := binds[pr.Options.Path]; host != repoPath(dashboardsDir) {
				t.Errorf("grafana: dashboard provider %q reads %s, where the stack mounts %q, not %s", pr.Name, pr.Options.Path, host, dashboardsDir)
			}
		}
	}

	repoDS := map[string]string{} // name -> uid, of the repository's Prometheus datasources
	for _, p := range provisioning(t, filepath.Join(repoProv, "datasources")) {
		for _, ds := range p.Datasources {
			if ds.Type == "prometheus" {
				repoDS[ds.Name] = ds.UID
			}
		}
	}
	var datasources int
	for _, p := range provisioning(t, hostDir("datasources")) {
		for _, ds := range p.Datasources {
			if ds.Type != "prometheus" {
				continue
			}
			datasources++
			if uid, ok := repoDS[ds.Name]; !ok || uid != ds.UID {
				t.Errorf("grafana: the stack's datasource %q (uid %q) is not grafana/provisioning's %v", ds.Name, ds.UID, repoDS)
			}
			u, err := url.Parse(ds.URL)
			if err != nil || u.Port() != "9090" {
				t.Errorf("grafana: datasource %q url %q", ds.Name, ds.URL)
				continue
			}
			if _, ok := m.Services[u.Hostname()]; !ok {
				t.Errorf("grafana: datasource %q points at %s, which is not a service of the stack", ds.Name, u.Host)
			}
		}
	}
	if providers == 0 || datasources == 0 {
		t.Errorf("grafana: %d dashboard providers and %d Prometheus datasources provisioned, want at least one of each", providers, datasources)
	}
}
