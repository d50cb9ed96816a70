package report

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
)

const (
	readme     = "../../README.md"
	codesBegin = "<!-- BEGIN codes: generated from dnscheck.Codes and report.Codes; do not edit -->\n"
	codesEnd   = "<!-- END codes -->\n"
)

// TestREADMECodes keeps README's code tables equal to dnscheck.Codes and
// Codes. UPDATE_CODES_MD=1 (go generate ./collector/dnscheck) rewrites them.
func TestREADMECodes(t *testing.T) {
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, codesBegin), strings.Index(s, codesEnd)
	if i < 0 || j < i {
		t.Fatalf("README has no %q ... %q block", codesBegin, codesEnd)
	}
	want := s[:i] + codesBegin + "\n" + CodesMarkdown() + "\n" + s[j:]
	if os.Getenv("UPDATE_CODES_MD") == "1" && want != s {
		if err := os.WriteFile(readme, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		s = want
	}
	if s != want {
		t.Fatal("README's code tables differ from dnscheck.Codes and report.Codes; run go generate ./collector/dnscheck")
	}
}

// codeLiteral finds codes spelled in source: a Finding or Problem built
// with a literal code, or discover's problem("code", ...).
var codeLiteral = regexp.MustCompile(`(?:\bCode:\s*|\bproblem\()"([a-z][a-z0-9_]*)"`)

// TestEmittedCodesDocumented reads the sources of the report and of every
// check package: a code spelled there must be in a documented table, and
// the report's own codes must all be constants listed in Codes.
func TestEmittedCodesDocumented(t *testing.T) {
	known := map[string]bool{}
	for _, c := range dnscheck.Codes {
		known[c.Code] = true
	}
	own := map[string]bool{}
	for _, c := range Codes {
		own[c.Code] = true
	}
	files := 0
	for _, dir := range []string{".", "../dnscheck", "../dnscheck/*", "../discover"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") || strings.Contains(p, "internal") {
				continue
			}
			files++
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range codeLiteral.FindAllStringSubmatch(string(src), -1) {
				switch {
				case dir == ".":
					t.Errorf("%s: code %q spelled as a literal; add a Code constant to Codes", p, m[1])
				case !known[m[1]]:
					t.Errorf("%s: code %q is not in dnscheck.Codes", p, m[1])
				}
			}
		}
	}
	if files < 30 {
		t.Fatalf("read %d source files, expected the check packages' (at least 30)", files)
	}
	for _, c := range reportCodeConstants(t) {
		if !own[c] {
			t.Errorf("%s is not in report.Codes", c)
		}
		if known[c] {
			t.Errorf("%s is both a report code and a DNS problem code", c)
		}
	}
}

// reportCodeConstants returns the values of every Code* string constant
// declared in this package's sources: each is a finding code the report
// can emit, so each must be in Codes.
func reportCodeConstants(t *testing.T) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, err := strconv.Unquote(lit.Value)
							if err != nil {
								t.Fatal(err)
							}
							out = append(out, v)
						}
					}
				}
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d Code constants, expected the report's (at least 20)", len(out))
	}
	return out
}
