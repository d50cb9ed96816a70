package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

// binary is the exporter built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mail_exporter-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mail_exporter")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exporter is a running mail_exporter process.
type exporter struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	scheme string
	client *http.Client
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	e := &exporter{addr: freeAddr(t), stderr: &syncBuffer{}, scheme: "http", client: http.DefaultClient}
	e.cmd = exec.Command(binary, append([]string{"--web.listen-address=" + e.addr}, args...)...)
	e.cmd.Stderr = e.stderr
	e.cmd.Stdout = e.stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			e.cmd.Process.Kill()
			t.Error("exporter did not stop within 10s of SIGTERM")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", e.addr)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter did not listen: %s", e.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *exporter) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return e.do(t, http.MethodGet, path)
}

func (e *exporter) do(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.scheme+"://"+e.addr+path, nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the first series matching re in /metrics.
func (e *exporter) metric(t *testing.T, re string) (float64, bool) {
	t.Helper()
	_, body := e.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func (e *exporter) waitMetric(t *testing.T, re string, ok func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v, found := e.metric(t, re); found && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			_, body := e.get(t, "/metrics")
			t.Fatalf("no %s as wanted; /metrics:\n%s\nlog:\n%s", re, grepMail(body), e.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grepMail(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "mail_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// writeConfig writes a targets.yaml for fake servers and returns its path.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "targets.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeConfig starts fake servers and returns a config probing them every
// second with the password from an environment variable. probe_min_spacing
// is 1ms, so /probe runs rather than answering from the schedule's result.
func fakeConfig(t *testing.T, dir string) string {
	t.Helper()
	pki := fakes.NewPKI(t, fakes.CertOptions{})
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pki.CA.PEM(), 0o600)
	return fmt.Sprintf(`global: {interval: 1s, timeout: 900ms, ca_file: %s, probe_min_spacing: 1ms}
credentials:
  monitor: {username: %s, password_env: TEST_MONITOR_PASSWORD}
servers:
  - name: fake
    host: 127.0.0.1
    tls_server_name: %s
    credential: monitor
    endpoints:
      - {name: submissions, port: %d}
      - {name: imaps, port: %d}
      - {name: pop3, port: %d}
`, ca, fakes.User, fakes.Name, fakes.SMTP(t, pki, true), fakes.IMAP(t, pki, true),
		fakes.POP3(t, pki, false, []string{"STLS", "USER"}))
}
