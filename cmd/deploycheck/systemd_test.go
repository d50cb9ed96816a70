package main

// deploy/systemd: the unit verified by systemd's own systemd-analyze (syntax,
// directives, the ExecStart binary) and scored by `systemd-analyze security
// --offline`; its credentials wired to the config it ships; its ExecStart
// flags and its ExecReload command run against the real binary.

import (
	"bufio"
	"bytes"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	systemdDir  = "deploy/systemd"
	unitName    = "mail_exporter.service"
	maxExposure = 2.0 // systemd-analyze security: "OK" is below 4.5; this unit scores 1.2
)

// unitFile is a parsed unit: section -> key -> values, in order.
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, data []byte) unitFile {
	t.Helper()
	u := unitFile{}
	var section, cont string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cont != "" {
			line = cont + " " + strings.TrimSpace(line)
			cont = ""
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cont = strings.TrimSuffix(trimmed, "\\")
			continue
		}
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
			section = trimmed[1 : len(trimmed)-1]
			u[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not a unit file line: %q", unitName, n, line)
		}
		u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.Join(strings.Fields(v), " "))
	}
	return u
}

func (u unitFile) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestSystemdUnit(t *testing.T) {
	data := readRepo(t, systemdDir+"/"+unitName)
	u := parseUnit(t, data)
	svc := "Service"

	// No root, read-only system, no privileges.
	if u.last(svc, "DynamicUser") != "yes" && (u.last(svc, "User") == "" || u.last(svc, "User") == "root") {
		t.Error("the service runs as root: set DynamicUser=yes or a User=")
	}
	for key, want := range map[string]string{
		"ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "",
	} {
		if v, ok := u[svc][key]; !ok || v[len(v)-1] != want {
			t.Errorf("%s=%v, want %q", key, v, want)
		}
	}

	// Reload by SIGHUP to the main process.
	if r := u.last(svc, "ExecReload"); !regexp.MustCompile(`kill (-HUP|-s HUP|--signal=HUP) \$MAINPID$`).MatchString(r) {
		t.Errorf("ExecReload=%q, want kill -HUP $MAINPID", r)
	}

	// ExecStart, and the config it reads.
	exec0 := strings.Fields(u.last(svc, "ExecStart"))
	if len(exec0) == 0 || exec0[0] != "/usr/local/bin/mail_exporter" {
		t.Fatalf("ExecStart=%v", exec0)
	}
	if v, _ := flagValue(exec0[1:], "web.listen-address"); v != ":9745" {
		t.Errorf("--web.listen-address=%q, want :9745", v)
	}
	cfgPath, _ := flagValue(exec0[1:], "config.file")
	if cfgPath != "/etc/mail_exporter/targets.yaml" {
		t.Errorf("--config.file=%q, want /etc/mail_exporter/targets.yaml", cfgPath)
	}

	// Credentials: every password_file of the shipped config is a
	// LoadCredential of the unit, in $CREDENTIALS_DIRECTORY.
	creds := map[string]bool{}
	for _, lc := range u[svc]["LoadCredential"] {
		id, src, ok := strings.Cut(lc, ":")
		if !ok || !strings.HasPrefix(src, "/") {
			t.Errorf("LoadCredential=%s: want ID:/absolute/path", lc)
		}
		creds["/run/credentials/"+unitName+"/"+id] = true
	}
	if len(creds) == 0 {
		t.Error("no LoadCredential=: the password must come from a credential")
	}
	config := readRepo(t, systemdDir+"/targets.yaml")
	for _, pf := range passwordFiles(t, config) {
		if !creds[pf] {
			t.Errorf("%s/targets.yaml: password_file %s is not a LoadCredential of %s (%v)", systemdDir, pf, unitName, creds)
		}
	}
	if path.Base(cfgPath) != "targets.yaml" {
		t.Errorf("the unit reads %s; the shipped config is targets.yaml", cfgPath)
	}

	bin := dockerBuild(t)
	configCheck(t, bin, config, systemdDir+"/targets.yaml")

	// systemd's own checks, on a copy whose ExecStart is the built binary.
	analyze := needTool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	copyUnit := writeFile(t, dir, unitName, bytes.ReplaceAll(data, []byte("/usr/local/bin/mail_exporter"), []byte(bin)), 0o644)
	cmd := exec.Command(analyze, "verify", copyUnit)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", copyUnit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	if score > maxExposure {
		t.Errorf("systemd-analyze security: exposure %.1f, want at most %.1f\n%s", score, maxExposure, out)
	}
}

// TestSystemdReload runs the binary with the unit's ExecStart flags and then
// the unit's ExecReload command, as systemd would with $MAINPID set, and
// checks that the exporter reloaded its config.
func TestSystemdReload(t *testing.T) {
	u := parseUnit(t, readRepo(t, systemdDir+"/"+unitName))
	bin := dockerBuild(t)
	cfg, _ := loopbackConfig(t, 1, 1)
	config := writeFile(t, t.TempDir(), "targets.yaml", cfg, 0o644)

	args := []string{"--config.file=" + config}
	for _, a := range strings.Fields(u.last("Service", "ExecStart"))[1:] {
		if !strings.HasPrefix(a, "--config.file=") && !strings.HasPrefix(a, "--web.listen-address=") {
			args = append(args, a)
		}
	}
	e := startExporter(t, bin, buildEnv(nil), args...)
	before := reloadStamp(t, e.addr)

	time.Sleep(1100 * time.Millisecond) // the stamp has whole seconds at least
	reload := strings.ReplaceAll(u.last("Service", "ExecReload"), "$MAINPID", strconv.Itoa(e.cmd.Process.Pid))
	if out, err := exec.Command("/bin/sh", "-c", reload).CombinedOutput(); err != nil {
		t.Fatalf("ExecReload %q: %v\n%s", reload, err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reloadStamp(t, e.addr) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("ExecReload did not reload the config (stamp %v)\n%s", before, e.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-e.done:
		t.Fatalf("the exporter exited on ExecReload: %v", e.cmd.ProcessState)
	default:
	}
	// The unit's log format is what the exporter writes.
	if strings.Contains(strings.Join(args, " "), "--log.format=logfmt") && !strings.Contains(e.stderr.String(), "level=") {
		t.Errorf("--log.format=logfmt output is not logfmt:\n%s", e.stderr.String())
	}
}
