package capacity

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// hosting is the case of issue 22: 10,000 endpoints on two addresses at
// the defaults.
func hosting(n int) string {
	var b strings.Builder
	b.WriteString("servers:\n")
	for i := range n {
		ep := "imaps"
		if i%2 == 1 {
			ep = "pop3s"
		}
		fmt.Fprintf(&b, "  - {name: c%05d, host: 127.0.0.%d, endpoints: [{name: %s, credential: none}]}\n", i, 1+(i/2)%2, ep)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "hosting.yaml")
	if err := os.WriteFile(big, []byte(hosting(10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	many := filepath.Join(dir, "many.yaml")
	var b strings.Builder
	b.WriteString("global: {concurrency: 500}\nservers:\n")
	for i := range 14 {
		fmt.Fprintf(&b, "  - {name: s%d, host: mx%02d.example.net, endpoints: [smtp]}\n", i, i)
	}
	os.WriteFile(many, []byte(b.String()), 0o600)
	for _, tc := range []struct{ name, file string }{
		{"small", "testdata/small.yaml"},
		{"hosting-10000", big},
		{"many-hosts", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := Write(&out, Of(cfg)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				os.WriteFile(golden, []byte(out.String()), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", out.String(), golden, want)
			}
		})
	}
}

func TestOfCountsWhatEachCheckAsks(t *testing.T) {
	cfg, err := config.Load("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := Of(cfg)
	// mx1: 3 endpoints at 1/60 s, two log in (smtp does not); mx2: 1 at
	// 1/20 s with a login, on the same host; edge: 1 at 1/60 s.
	wantProbes := 3.0/60 + 1.0/20 + 1.0/60
	wantLogins := 2.0 + 3.0 + 2*60.0/300 // roundtrip every 5 m: submission and IMAP
	if !near(l.ProbesPerSec, wantProbes) || !near(l.LoginsPerMin, wantLogins) || l.Endpoints != 5 {
		t.Errorf("load %+v, want %.4f probes/s, %.2f logins/min", l, wantProbes, wantLogins)
	}
	if len(l.Hosts) != 2 || l.Hosts[0].Host != "mail.example.com" || l.Hosts[0].Endpoints != 4 {
		t.Errorf("hosts %+v: a host spelt two ways is one host", l.Hosts)
	}
	if l.ShortestInterval != 20*time.Second || !near(l.DomainsPerMin, 60.0/900) || !near(l.RoundtripPerMin, 0.2) {
		t.Errorf("load %+v", l)
	}
	for _, c := range []struct {
		rate float64
		d    time.Duration
		want int
	}{{166.67, 100 * time.Millisecond, 17}, {166.67, time.Second, 167}, {10, 100 * time.Millisecond, 1}, {0, time.Second, 0}, {0.05, time.Second, 1}} {
		if got := Needed(c.rate, c.d); got != c.want {
			t.Errorf("Needed(%v, %v) = %d, want %d", c.rate, c.d, got, c.want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
