package msgauth

import (
	"reflect"
	"strings"
	"testing"
)

func TestAuthResults(t *testing.T) {
	trusted := []string{"mx.example.com"}
	for _, c := range []struct {
		name     string
		fields   string
		want     []AuthResult
		problems int
	}{
		{"OpenDKIM's field, with a ';' inside a comment",
			"Authentication-Results: mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=sel header.b=AbCd\r\n",
			[]AuthResult{{"mx.example.com", "dkim", "pass"}}, 0},
		{"several methods, version, case",
			"Authentication-Results: MX.example.com 1; SPF=Pass smtp.mailfrom=example.com; dkim=fail header.d=example.com; dmarc=fail (p=reject) header.from=example.com; arc=none; x-custom=neutral\r\n",
			[]AuthResult{{"mx.example.com", "spf", "pass"}, {"mx.example.com", "dkim", "fail"}, {"mx.example.com", "dmarc", "fail"}, {"mx.example.com", "arc", "none"}, {"mx.example.com", "x-custom", "neutral"}}, 0},
		{"a forged field from the sender is not read",
			"Authentication-Results: mx.example.com; dkim=fail\r\nAuthentication-Results: evil.example; dkim=pass; dmarc=pass\r\n",
			[]AuthResult{{"mx.example.com", "dkim", "fail"}}, 0},
		{"two signatures, one series",
			"Authentication-Results: mx.example.com; dkim=pass header.d=a.example; dkim=pass header.d=b.example\r\n",
			[]AuthResult{{"mx.example.com", "dkim", "pass"}}, 0},
		{"no result", "Authentication-Results: mx.example.com; none\r\n", nil, 0},
		{"unbalanced comment in a trusted field", "Authentication-Results: mx.example.com; dkim=pass (oops\r\n", nil, 1},
		{"unbalanced comment in an untrusted field", "Authentication-Results: other.example; dkim=pass (oops\r\n", nil, 0},
		{"garbage after a trusted id", "Authentication-Results: mx.example.com; dkim\r\n", nil, 1},
		{"unsupported version", "Authentication-Results: mx.example.com 2; dkim=pass\r\n", nil, 1},
		{"result with characters no label should carry", "Authentication-Results: mx.example.com; dkim=p{a}ss\r\n", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, err := headerFields([]byte(c.fields + "\r\nbody"))
			if err != nil {
				t.Fatal(err)
			}
			got, problems := authResults(fs, trusted)
			if !reflect.DeepEqual(got, c.want) || len(problems) != c.problems {
				t.Errorf("got %v %v, want %v and %d problems", got, problems, c.want, c.problems)
			}
		})
	}
}

func TestAuthResultsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Authentication-Results: mx.example.com")
	for i := range 50 {
		b.WriteString("; x-m" + strings.Repeat("a", i%26) + string(rune('a'+i%26)) + "=pass")
	}
	fs, _ := headerFields([]byte(b.String() + "\r\n\r\n"))
	got, problems := authResults(fs, []string{"mx.example.com"})
	if len(got) != MaxAuthResults || len(problems) != 1 {
		t.Errorf("%d results, %d problems; want %d and 1", len(got), len(problems), MaxAuthResults)
	}
}

func TestStripComments(t *testing.T) {
	good := map[string]string{
		"a (b) c":                          "a   c",
		"a (b (nested) ; x) c":             "a   c",
		`a "q (not) ; x" c`:                `a "q (not) ; x" c`,
		`a (esc \) still) c`:               "a   c",
		`a "esc \" still (x)" c`:           `a "esc \" still (x)" c`,
		"dkim=pass (1024-bit key; secure)": "dkim=pass  ",
	}
	for in, want := range good {
		if got, err := stripComments(in); err != nil || got != want {
			t.Errorf("stripComments(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a (b", "a ) b", `a "b`, `a (b \`, "((x)"} {
		if got, err := stripComments(in); err == nil {
			t.Errorf("stripComments(%q) = %q, want an error", in, got)
		}
	}
}

func TestHeaderFields(t *testing.T) {
	fs, err := headerFields([]byte("A: 1\r\nB:2\r\n  continued\r\n\tmore\nC: bare LF\r\n\r\nD: body\r\n"))
	want := []field{{"A", " 1"}, {"B", "2\r\n  continued\r\n\tmore"}, {"C", " bare LF"}}
	if err != nil || !reflect.DeepEqual(fs, want) {
		t.Errorf("got %q %v, want %q", fs, err, want)
	}
	for _, in := range []string{" starts folded: x\r\n\r\n", "no colon\r\n\r\n", ": empty name\r\n\r\n", "sp ace: x\r\n\r\n"} {
		if fs, err := headerFields([]byte(in)); err == nil {
			t.Errorf("%q: %q, want an error", in, fs)
		}
	}
}

func TestTagList(t *testing.T) {
	tags, err := tagList(" v=1; a=rsa-sha256;\r\n d = example.com ; s=sel;")
	if err != nil || tags["d"] != "example.com" || tags["s"] != "sel" || len(tags) != 4 {
		t.Errorf("got %v %v", tags, err)
	}
	for _, in := range []string{"v=1; v=1", "v=1; ; a=b", "novalue", "=x"} {
		if tags, err := tagList(in); err == nil {
			t.Errorf("%q: %v, want an error", in, tags)
		}
	}
}
