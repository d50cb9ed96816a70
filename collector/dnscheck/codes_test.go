package dnscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCodesMarkdown keeps CODES.md equal to Codes. Run with
// UPDATE_CODES_MD=1 to rewrite the file.
func TestCodesMarkdown(t *testing.T) {
	want := CodesMarkdown()
	if os.Getenv("UPDATE_CODES_MD") == "1" {
		if err := os.WriteFile("CODES.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("CODES.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("CODES.md differs from Codes; run UPDATE_CODES_MD=1 go test ./collector/dnscheck -run TestCodesMarkdown")
	}
}

var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func TestCodesWellFormed(t *testing.T) {
	checks := map[string]bool{}
	for _, c := range append(AllChecks(), DiscoveryChecks()...) {
		checks[c] = true
	}
	seen := map[string]bool{}
	for _, c := range Codes {
		switch {
		case seen[c.Code]:
			t.Errorf("%s: duplicate code", c.Code)
		case !codeRE.MatchString(c.Code):
			t.Errorf("%s: not a label-friendly code", c.Code)
		case !checks[c.Check]:
			t.Errorf("%s: unknown check %q", c.Code, c.Check)
		case c.Severity != SeverityError && c.Severity != SeverityWarning:
			t.Errorf("%s: severity %q", c.Code, c.Severity)
		case c.Meaning == "" || !strings.HasPrefix(c.RFC, "RFC ") && !strings.HasPrefix(c.RFC, "draft-"):
			t.Errorf("%s: meaning or RFC missing", c.Code)
		case c.err == nil:
			t.Errorf("%s: no sentinel error", c.Code)
		}
		seen[c.Code] = true
	}
}

// notFindings are sentinels that mean a failed lookup, not a problem.
var notFindings = map[string]bool{"resolver.ErrDNS": true, "starttls.ErrNoSTARTTLS": true,
	"dnsbl.ErrRefused": true, "dnsbl.ErrBadAnswer": true} // a list's error codes are failed lookups

// TestSentinelsHaveCodes reads the check packages' sources: every exported
// Err* variable must be mapped to a code in codes.go, so that no finding can
// come out without a documented code.
func TestSentinelsHaveCodes(t *testing.T) {
	src, err := os.ReadFile("codes.go")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	npkgs := 0
	for _, e := range entries {
		dir := e.Name()
		if !e.IsDir() || dir == "internal" || dir == "testdata" {
			continue
		}
		npkgs++
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range pkgs {
			for _, f := range pkg.Files {
				for _, decl := range f.Decls {
					gd, ok := decl.(*ast.GenDecl)
					if !ok || gd.Tok != token.VAR {
						continue
					}
					for _, spec := range gd.Specs {
						for _, id := range spec.(*ast.ValueSpec).Names {
							if !strings.HasPrefix(id.Name, "Err") {
								continue
							}
							ref := name + "." + id.Name
							if !notFindings[ref] && !strings.Contains(string(src), ref+"}") {
								t.Errorf("%s has no code in Codes", ref)
							}
						}
					}
				}
			}
		}
	}
	if npkgs < 10 {
		t.Fatalf("found %d check packages, expected at least 10", npkgs)
	}
}

// knownCodes fails the test when a result carries a code not in Codes.
func knownCodes(t *testing.T, r *Result) {
	t.Helper()
	known := map[string]CodeInfo{}
	for _, c := range Codes {
		known[c.Code] = c
	}
	for check, cr := range r.Checks {
		for _, p := range cr.Problems {
			c, ok := known[p.Code]
			if !ok || c.Check != check || c.Severity != p.Severity {
				t.Errorf("check %s emitted %s/%s, not in Codes", check, p.Code, p.Severity)
			}
		}
	}
}
