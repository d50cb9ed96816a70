package main

// The Dockerfile cannot be built here (no Docker engine, no registry for the
// base images). What is checked instead: the Dockerfile parses with BuildKit's
// own parser and linter; its build stage's RUN commands run, as written, in a
// copy of the build context that .dockerignore leaves; the binary that comes
// out is static, built with CGO off and -trimpath, and carries the build
// args' version facts; the runtime stage is non-root, exposes the default
// port, and its default command's config path is where the example config is
// copied to.

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Facts the Dockerfile must agree with (and the other deployments with it).
const (
	imageUID       = "65532"
	exporterPort   = "9745"
	imageConfig    = "/etc/mail_exporter/targets.yaml"
	imageBinary    = "/bin/mail_exporter"
	buildOutputDir = "/out/"
)

type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data := readRepo(t, "Dockerfile")
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		t.Errorf("Dockerfile:%d: lint %s: %s", line, rule, msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	d := dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile: want 2 stages (build, runtime), got %d", len(stages))
	}
	return d
}

func (d dockerfile) expand(s string) string {
	return os.Expand(s, func(k string) string { return d.metaArgs[k] })
}

// TestDockerfile checks the stages' shape against the facts the other
// deployments rely on.
func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	build, run := d.stages[0], d.stages[1]

	// The toolchain image matches the go directive of go.mod.
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readRepo(t, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	base := d.expand(build.BaseName)
	if !strings.HasPrefix(base, "golang:"+string(goVersion[1])+"-") {
		t.Errorf("build stage FROM %s: want golang:%s-… (go.mod's go directive)", base, goVersion[1])
	}
	if build.Name != "build" {
		t.Errorf("build stage is named %q, want build", build.Name)
	}

	// Exactly one build: .ci/build, no go build of its own.
	var ciBuilds int
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			line := strings.Join(r.CmdLine, " ")
			if strings.Contains(line, "go build") || strings.Contains(line, "go install") {
				t.Errorf("build stage runs %q: the binary is built by .ci/build only", line)
			}
			if strings.Contains(line, ".ci/build") {
				ciBuilds++
			}
		}
	}
	if ciBuilds != 1 {
		t.Errorf("build stage runs .ci/build %d times, want once", ciBuilds)
	}

	// Runtime stage.
	if b := d.expand(run.BaseName); !strings.HasPrefix(b, "gcr.io/distroless/static") && b != "scratch" {
		t.Errorf("runtime stage FROM %s: want distroless/static (CA certificates, no shell) or scratch", b)
	}
	var user, entrypoint, cmd, binaryFrom string
	var exposed []string
	copies := map[string]string{} // source -> dest, from the context
	for _, c := range run.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Error("ENTRYPOINT must use the exec form (signals reach the exporter: SIGHUP reloads)")
			}
			entrypoint = strings.Join(c.CmdLine, " ")
		case *instructions.CmdCommand:
			if c.PrependShell {
				t.Error("CMD must use the exec form")
			}
			cmd = strings.Join(c.CmdLine, " ")
		case *instructions.CopyCommand:
			for _, s := range c.SourcePaths {
				if c.From == "build" {
					binaryFrom = s
					if c.DestPath != imageBinary {
						t.Errorf("binary copied to %s, want %s", c.DestPath, imageBinary)
					}
				} else {
					copies[s] = c.DestPath
				}
			}
		case *instructions.RunCommand:
			t.Errorf("runtime stage runs %q: distroless has no shell", strings.Join(c.CmdLine, " "))
		}
	}
	if user != imageUID+":"+imageUID {
		t.Errorf("USER %q, want %s:%s (numeric, so that runAsNonRoot can verify it)", user, imageUID, imageUID)
	}
	if len(exposed) != 1 || strings.TrimSuffix(exposed[0], "/tcp") != exporterPort {
		t.Errorf("EXPOSE %v, want %s", exposed, exporterPort)
	}
	if entrypoint != imageBinary {
		t.Errorf("ENTRYPOINT %q, want [%q]", entrypoint, imageBinary)
	}
	if cmd != "--config.file="+imageConfig {
		t.Errorf("CMD %q, want [\"--config.file=%s\"]", cmd, imageConfig)
	}
	if copies["targets.yaml"] != imageConfig {
		t.Errorf("the example targets.yaml is copied to %q, want %s", copies["targets.yaml"], imageConfig)
	}
	if !strings.HasPrefix(binaryFrom, buildOutputDir) {
		t.Errorf("binary copied from the build stage's %q, want under %s", binaryFrom, buildOutputDir)
	}
}

// contextFiles copies the files of the repository that .dockerignore leaves
// in the build context to dir.
func contextFiles(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(repoPath(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(repoRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if e.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil || excluded {
			return err
		}
		files = append(files, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDockerignore: the context holds what the build needs and not .git,
// the other modules or local build output.
func TestDockerignore(t *testing.T) {
	files := contextFiles(t, t.TempDir())
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, need := range []string{"go.mod", "go.sum", ".ci/build", "targets.yaml", "cmd/mail_exporter/main.go"} {
		if !have[need] {
			t.Errorf("%s is not in the Docker build context", need)
		}
	}
	for _, f := range files {
		for _, banned := range []string{".git/", "cmd/deploycheck/", "grafana/", "deploy/", "dist/"} {
			if strings.HasPrefix(f, banned) {
				t.Errorf("%s is in the Docker build context", f)
			}
		}
	}
}

// dockerBuild runs the build stage's RUN commands, as written, in a copy of
// the build context, with dockerBuildArgs as build args and the target
// platform of this machine. The stage's WORKDIR is the context copy and the
// stage's output folder /out/ a temp folder. It returns the binary.
func dockerBuild(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if dockerBin != "" {
		return dockerBin
	}
	d := parseDockerfile(t)
	ctx := filepath.Join(tmpRoot, "docker-context")
	out := filepath.Join(tmpRoot, "docker-out") + "/"
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	contextFiles(t, ctx)

	// BuildKit's automatic platform args take precedence over ARG defaults.
	args := map[string]string{"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}
	var binary string
	for _, c := range d.stages[0].Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			if c.Path != "/src" {
				t.Fatalf("build stage WORKDIR %s: the simulation expects /src", c.Path)
			}
		case *instructions.CopyCommand:
			if c.From != "" || (c.DestPath != "./" && c.DestPath != "." && c.DestPath != "/src/") {
				t.Fatalf("build stage COPY %v %s: the simulation expects copies into the WORKDIR", c.SourcePaths, c.DestPath)
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if v, ok := dockerBuildArgs[kv.Key]; ok {
					args[kv.Key] = v
					continue
				}
				if _, auto := args[kv.Key]; auto {
					continue
				}
				args[kv.Key] = ""
				if kv.Value != nil {
					args[kv.Key] = *kv.Value
				}
			}
		case *instructions.RunCommand:
			if !c.PrependShell {
				t.Fatal("the simulation runs shell-form RUN commands only")
			}
			line := strings.Join(c.CmdLine, " ")
			line = strings.ReplaceAll(line, buildOutputDir, out)
			if m := regexp.MustCompile(`\.ci/build\s+(\S+)`).FindStringSubmatch(line); m != nil {
				binary = m[1]
			}
			env := buildEnv(nil)
			for k, v := range args {
				env = append(env, k+"="+v)
			}
			cmd := exec.Command("/bin/sh", "-c", line)
			cmd.Dir = ctx
			cmd.Env = env
			runLogged(t, cmd, "Dockerfile RUN")
		}
	}
	if binary == "" || !strings.HasPrefix(binary, out) {
		t.Fatalf("the build stage does not write its binary under %s", buildOutputDir)
	}
	dockerBin = binary
	return binary
}

// TestDockerBuild checks the binary of the simulated Docker build.
func TestDockerBuild(t *testing.T) {
	bin := dockerBuild(t)

	// Static: no interpreter, no shared libraries (it runs on distroless/static).
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: not static")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	ef.Close()

	// Built as .ci/build says.
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" {
		t.Errorf("CGO_ENABLED=%q, want 0", settings["CGO_ENABLED"])
	}
	if settings["-trimpath"] != "true" {
		t.Errorf("-trimpath=%q, want true", settings["-trimpath"])
	}
	if bi.Path != "github.com/mail-exporter/mail_exporter/cmd/mail_exporter" {
		t.Errorf("main package %s", bi.Path)
	}
	// (-trimpath keeps -ldflags out of the build info: --version shows them.)

	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	for _, want := range []string{"version " + dockerBuildArgs["VERSION"], "revision: " + dockerBuildArgs["REVISION"], "branch: " + dockerBuildArgs["BRANCH"], dockerBuildArgs["BUILD_DATE"]} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--version does not say %q:\n%s", want, out)
		}
	}

	// The image's default command on the example config it ships. The example
	// reads its password from MAIL_EXPORTER_MONITOR_PASSWORD.
	cmd := exec.Command(bin, "--config.check", "--config.file="+repoPath(path.Base(imageConfig)))
	cmd.Env = append(buildEnv(nil), "MAIL_EXPORTER_MONITOR_PASSWORD=x")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the image's example config: --config.check: %v\n%s", err, out)
	}
}

// TestCIBuildGitFacts: without build args, .ci/build takes the version facts
// from git, and --print-vars says what it bakes in.
func TestCIBuildGitFacts(t *testing.T) {
	bin := gitBuild(t)
	cmd := exec.Command(repoPath(".ci/build"), "--print-vars")
	cmd.Dir = repoRoot
	cmd.Env = buildEnv(nil)
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(runLogged(t, cmd, "print vars"))), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if vars["VERSION"] == "" || vars["REVISION"] == "" {
		t.Fatalf("--print-vars: %v", vars)
	}
	if _, err := exec.LookPath("git"); err == nil {
		if head, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output(); err == nil {
			if !strings.HasPrefix(vars["REVISION"], strings.TrimSpace(string(head))) {
				t.Errorf("REVISION %s is not HEAD %s", vars["REVISION"], head)
			}
		}
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("version %s (branch: %s, revision: %s)", vars["VERSION"], vars["BRANCH"], vars["REVISION"])
	if !strings.Contains(string(out), want) {
		t.Errorf("--version: want %q in\n%s", want, out)
	}
}
