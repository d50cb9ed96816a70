package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

var (
	repoRoot string
	tmpRoot  string // removed after the tests
)

func TestMain(m *testing.M) {
	var err error
	repoRoot, err = findRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot, err = os.MkdirTemp("", "deploycheck")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// realPeers is set in CI: a missing tool fails instead of skipping.
func realPeers() bool { return os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" }

// needTool finds an executable or skips (fails under MAIL_EXPORTER_REAL_PEERS=1).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (Debian package %s)", name, pkg)
	if realPeers() {
		t.Fatal(msg + "; MAIL_EXPORTER_REAL_PEERS=1 requires it")
	}
	t.Skip(msg)
	return ""
}

func repoPath(rel string) string { return filepath.Join(repoRoot, filepath.FromSlash(rel)) }

func readRepo(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeStrict decodes YAML (or JSON) into v the way the Kubernetes API
// server's strict field validation does: unknown fields, duplicate fields
// and fields in the wrong case are errors.
func decodeStrict(data []byte, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// Binaries built by .ci/build, once per test run.
var (
	buildMu   sync.Mutex
	gitBin    string // .ci/build in the checkout: version facts from git
	dockerBin string // the Dockerfile's RUN in a .dockerignore'd copy, with build args
)

// dockerBuildArgs are the build args the Docker build is simulated with.
var dockerBuildArgs = map[string]string{
	"VERSION":    "1.2.3-deploycheck",
	"REVISION":   "0123456789abcdef0123456789abcdef01234567",
	"BRANCH":     "release-1.2",
	"BUILD_DATE": "20260102-03:04:05",
}

// gitBuild runs `.ci/build OUT` in the checkout, as CI and developers do.
func gitBuild(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if gitBin != "" {
		return gitBin
	}
	out := filepath.Join(tmpRoot, "git", "mail_exporter")
	cmd := exec.Command(repoPath(".ci/build"), out)
	cmd.Dir = repoRoot
	cmd.Env = buildEnv(nil)
	runLogged(t, cmd, "build")
	gitBin = out
	return out
}

// buildEnv is the environment for .ci/build without inherited version facts.
func buildEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "VERSION", "REVISION", "BRANCH", "BUILD_DATE", "BUILD_USER", "SOURCE_DATE_EPOCH", "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func runLogged(t *testing.T, cmd *exec.Cmd, what string) []byte {
	t.Helper()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s: %s (%.1fs)", what, strings.Join(cmd.Args, " "), time.Since(start).Seconds())
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", what, err, out)
	}
	return out
}

// exporter is a running mail_exporter process.
type exporter struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan struct{}
}

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

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startExporter runs bin with args plus a free --web.listen-address and waits
// until the port accepts connections.
func startExporter(t *testing.T, bin string, env []string, args ...string) *exporter {
	t.Helper()
	addr := freeAddr(t)
	e := &exporter{addr: addr, stderr: &syncBuffer{}, done: make(chan struct{})}
	e.cmd = exec.Command(bin, append(args, "--web.listen-address="+addr)...)
	e.cmd.Env = env
	e.cmd.Stdout = e.stderr
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.cmd.Wait(); close(e.done) }()
	t.Cleanup(func() {
		e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(5 * time.Second):
			e.cmd.Process.Kill()
			<-e.done
		}
		if t.Failed() {
			t.Logf("exporter %s output:\n%s", addr, e.stderr.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-e.done:
			t.Fatalf("exporter exited early: %v\n%s", e.cmd.ProcessState, e.stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter did not listen on %s: %v\n%s", addr, err, e.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get fetches url with client and returns the status and body.
func get(t *testing.T, client *http.Client, url string, auth func(*http.Request)) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// series returns the label sets of the metric's samples in a text exposition.
func series(body, metric string) []map[string]string {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + `\{([^}]*)\} (\S+)$`)
	lbl := regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
	var out []map[string]string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		l := map[string]string{"__value__": m[2]}
		for _, p := range lbl.FindAllStringSubmatch(m[1], -1) {
			l[p[1]] = p[2]
		}
		out = append(out, l)
	}
	return out
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// configCheck runs `--config.check` on a config after moving every
// password_file it names under a temp dir that holds a password there, so a
// deployment's config (whose credentials live at /run/secrets/... and the
// like) is checked by the real loader.
func configCheck(t *testing.T, bin string, config []byte, name string) {
	t.Helper()
	dir := t.TempDir()
	re := regexp.MustCompile(`(?m)^(\s*password_file:\s*)(\S+)`)
	text := re.ReplaceAllStringFunc(string(config), func(s string) string {
		m := re.FindStringSubmatch(s)
		p := writeFile(t, dir, filepath.Join("secrets", filepath.FromSlash(m[2])), []byte("not-the-password\n"), 0o600)
		return m[1] + p
	})
	cfg := writeFile(t, dir, "targets.yaml", []byte(text), 0o644)
	cmd := exec.Command(bin, "--config.check", "--config.file="+cfg)
	cmd.Env = buildEnv(nil)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: --config.check failed: %v\n%s", name, err, out)
	}
	t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
}

// passwordFiles returns the password_file paths a targets.yaml names.
func passwordFiles(t *testing.T, config []byte) []string {
	t.Helper()
	var cfg struct {
		Credentials map[string]struct {
			PasswordFile string `json:"password_file"`
		} `json:"credentials"`
	}
	if err := sigsyaml.Unmarshal(config, &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cfg.Credentials {
		if c.PasswordFile != "" {
			out = append(out, c.PasswordFile)
		}
	}
	if len(out) == 0 {
		t.Fatal("the deployment's targets.yaml names no password_file: credentials are to be mounted as files")
	}
	return out
}
