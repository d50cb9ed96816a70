package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fakeConfig(t, dir))
	t.Setenv("TEST_MONITOR_PASSWORD", "s3cret-Pa55word")
	e := startExporter(t, "--config.file="+cfg, "--log.level=debug", "--log.format=logfmt")

	for path, want := range map[string]int{"/-/healthy": 200, "/-/ready": 200, "/": 200, "/nope": 404} {
		if code, _ := e.get(t, path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	for _, ep := range []string{"submissions", "imaps", "pop3"} {
		e.waitMetric(t, `mail_probe_success\{address="[^"]+",endpoint="`+ep+`".*\}`, func(v float64) bool { return v == 1 })
	}
	if _, ok := e.metric(t, `mail_exporter_build_info\{.*\}`); !ok {
		t.Error("no mail_exporter_build_info")
	}
	e.waitMetric(t, `mail_exporter_checks_total\{kind="endpoint",result="success"\}`, func(v float64) bool { return v >= 3 })

	if code, _ := e.get(t, "/probe?server=fake&endpoint=smtp"); code != 404 {
		t.Errorf("/probe of an unconfigured endpoint = %d, want 404", code)
	}
	code, body := e.get(t, "/probe?server=fake&endpoint=pop3&debug=true")
	if code != 200 || !strings.Contains(body, "C: PASS ****") && !strings.Contains(body, "C: AUTH PLAIN ****") {
		t.Errorf("debug probe %d:\n%s", code, body)
	}
	_, status := e.get(t, "/")
	// A plain `go build` (this test's binary) still names its version.
	if !strings.Contains(status, "version dev") || !strings.Contains(status, `data-check="endpoint/fake/imaps@127.0.0.1"`) {
		t.Errorf("status page of a plain build:\n%s", status)
	}
	if code, page := e.get(t, "/check?id=endpoint/fake/imaps@127.0.0.1"); code != 200 || !strings.Contains(page, "imaps") {
		t.Errorf("check page %d:\n%s", code, page)
	}
	_, metrics := e.get(t, "/metrics")
	for name, text := range map[string]string{"debug probe": body, "status page": status, "metrics": metrics, "log": e.stderr.String()} {
		if strings.Contains(text, "s3cret-Pa55word") {
			t.Errorf("the password appears in the %s", name)
		}
	}
	if !strings.Contains(e.stderr.String(), "level=DEBUG") {
		t.Error("debug logging produced no debug lines; the leak search above searched nothing")
	}
}

func TestReloadBySignalAndHTTP(t *testing.T) {
	dir := t.TempDir()
	good := fakeConfig(t, dir)
	cfg := writeConfig(t, dir, good)
	t.Setenv("TEST_MONITOR_PASSWORD", "s3cret-Pa55word")
	e := startExporter(t, "--config.file="+cfg)
	e.waitMetric(t, `mail_probe_success\{address="[^"]+",endpoint="imaps".*\}`, func(v float64) bool { return v == 1 })
	e.waitMetric(t, `mail_exporter_config_last_reload_successful`, func(v float64) bool { return v == 1 })

	// A broken file: SIGHUP keeps the old config, the metric drops to 0.
	writeConfig(t, dir, good+"bogus_key: 1\n")
	e.cmd.Process.Signal(syscall.SIGHUP)
	e.waitMetric(t, `mail_exporter_config_last_reload_successful`, func(v float64) bool { return v == 0 })
	before, _ := e.metric(t, `mail_exporter_checks_total\{kind="endpoint",result="success"\}`)
	e.waitMetric(t, `mail_exporter_checks_total\{kind="endpoint",result="success"\}`, func(v float64) bool { return v > before+2 })
	if code, body := e.do(t, http.MethodPost, "/-/reload"); code != 500 || !strings.Contains(body, "bogus_key") {
		t.Errorf("POST /-/reload with a broken file = %d %q", code, body)
	}
	if code, _ := e.get(t, "/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d, want 405", code)
	}

	// A valid file with one endpoint less, by HTTP. The unchanged checks
	// are not restarted: their stored results are there at once after the
	// reload (a new check would have none until its first run).
	lastRun, _ := e.metric(t, `mail_probe_last_run_timestamp_seconds\{address="[^"]+",endpoint="imaps".*\}`)
	writeConfig(t, dir, strings.Replace(good, "      - {name: pop3,", "#", 1))
	if code, body := e.do(t, http.MethodPost, "/-/reload"); code != 200 {
		t.Fatalf("POST /-/reload = %d %q", code, body)
	}
	if v, ok := e.metric(t, `mail_probe_last_run_timestamp_seconds\{address="[^"]+",endpoint="imaps".*\}`); !ok || v < lastRun {
		t.Errorf("the unchanged imaps check lost its result on reload (%v, before %v)", v, lastRun)
	}
	e.waitMetric(t, `mail_exporter_config_last_reload_successful`, func(v float64) bool { return v == 1 })
	if _, ok := e.metric(t, `mail_probe_success\{address="[^"]*",endpoint="pop3".*\}`); ok {
		t.Error("the removed endpoint is still exported")
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/good.yaml", []byte("servers:\n  - {name: a, host: 127.0.0.1, endpoints: [smtp]}\n"), 0o600)
	os.WriteFile(dir+"/bad.yaml", []byte("servers:\n  - {name: a, host: 127.0.0.1, endpoints: [smtp]}\n  - {name: a, host: 127.0.0.2}\n"), 0o600)
	out, err := exec.Command(binary, "--config.check", "--config.file="+dir+"/good.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid") {
		t.Errorf("good config: %v %s", err, out)
	}
	// It prints the load the file asks for (collector/capacity has the golden files).
	if !strings.Contains(string(out), "load asked for: 1 endpoint probes, 0.02/s") ||
		!strings.Contains(string(out), "127.0.0.1  1          0.02") {
		t.Errorf("good config: no load summary:\n%s", out)
	}
	out, err = exec.Command(binary, "--config.check", "--config.file="+dir+"/bad.yaml").CombinedOutput()
	var ee *exec.ExitError
	if err == nil || !errorsAs(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "bad.yaml:3: servers[1].name") {
		t.Errorf("bad config: %v %s", err, out)
	}
	// Starting with a broken file fails at once instead of running empty.
	out, err = exec.Command(binary, "--config.file="+dir+"/bad.yaml", "--web.listen-address=127.0.0.1:0").CombinedOutput()
	if err == nil {
		t.Errorf("started with a broken config: %s", out)
	}
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}
