package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// helpOutput runs the binary with args at a fixed width (kingpin wraps to
// $COLUMNS, else to the terminal).
func helpOutput(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "COLUMNS=80")
	out, err := cmd.Output() // help goes to stdout, so it pipes into less and grep
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestHelpGolden: --help lists every serve flag in blackbox_exporter's
// layout, `check --help` only its own.
func TestHelpGolden(t *testing.T) {
	serve := helpOutput(t, "--help")
	golden(t, "help-serve.txt", serve)
	if got := helpOutput(t, "help"); got != serve {
		t.Errorf("`help` differs from --help:\n%s", got)
	}
	check := helpOutput(t, "check", "--help")
	golden(t, "help-check.txt", check)
	if got := helpOutput(t, "help", "check"); got != check {
		t.Errorf("`help check` differs from check --help:\n%s", got)
	}

	// Every flag declared is listed (the golden file could have been
	// written from a broken build).
	app := kingpin.New("x", "")
	addServeFlags(app)
	capp := kingpin.New("y", "")
	addCheckFlags(capp)
	for _, tc := range []struct {
		app        *kingpin.Application
		out, other string
	}{{app, serve, check}, {capp, check, serve}} {
		for _, f := range tc.app.Model().Flags {
			if f.Hidden || f.Name == "help" || f.Name == "version" || f.Name == "config.file" { // both have these
				continue
			}
			if !strings.Contains(tc.out, "--"+f.Name) && !strings.Contains(tc.out, "--[no-]"+f.Name) {
				t.Errorf("--%s is not in its help:\n%s", f.Name, tc.out)
			}
			if strings.Contains(tc.other, "--"+f.Name+"=") || strings.Contains(tc.other, "--[no-]"+f.Name+" ") {
				t.Errorf("--%s leaks into the other command's help", f.Name)
			}
		}
	}
	if man := helpOutput(t, "--help-man"); !strings.Contains(man, "--web.listen-address") {
		t.Errorf("--help-man lacks the serve flags:\n%.400s", man)
	}
}

// TestConfigCheckFlags: --config.check refuses what serving refuses.
func TestConfigCheckFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("servers:\n  - {name: a, host: 127.0.0.1, endpoints: [smtp]}\n"), 0o600)
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte("tls_server_config: {cert_file: nope.pem, key_file: nope.key}\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"--shard.count=3", "--shard.index=mail-exporter-2"}, ""},
		{[]string{"--web.listen-address=127.0.0.1:9745", "--web.listen-address=[::1]:9745"}, ""},
		{[]string{"--shard.count=3", "--shard.index=3"}, "--shard.index 3 is outside 0..2"},
		{[]string{"--shard.count=0"}, "--shard.count must be at least 1"},
		{[]string{"--shard.index=pod"}, `--shard.index "pod" is neither a number nor a name ending in -N`},
		{[]string{"--web.listen-address=:99999"}, `--web.listen-address ":99999": port 99999 is out of range`},
		{[]string{"--web.listen-address=localhost"}, `--web.listen-address "localhost": missing port`},
		{[]string{"--web.config.file=" + filepath.Join(dir, "missing.yml")}, "--web.config.file: stat"},
		{[]string{"--web.config.file=" + webCfg}, "--web.config.file " + webCfg},
	} {
		args := append([]string{"--config.check", "--config.file=" + good}, tc.args...)
		out, err := exec.Command(binary, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && (code != 0 || !strings.Contains(string(out), "valid")):
			t.Errorf("%v: exit %d, want 0\n%s", tc.args, code, out)
		case tc.want != "" && (code != 1 || !strings.Contains(string(out), tc.want)):
			t.Errorf("%v: exit %d, want 1 with %q\n%s", tc.args, code, tc.want, out)
		}
		if tc.want == "" {
			continue
		}
		// The same flags refuse to serve, before anything listens.
		serveArgs := append([]string{"--config.file=" + good}, tc.args...)
		if !strings.Contains(strings.Join(tc.args, " "), "web.listen-address") {
			serveArgs = append(serveArgs, "--web.listen-address=127.0.0.1:0")
		}
		out, err = exec.Command(binary, serveArgs...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("serving with %v: %v, want exit 2 with %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
