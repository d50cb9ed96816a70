package web

import (
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

func TestFigures(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0 ms", 400 * time.Microsecond: "0.4 ms", 12 * time.Millisecond: "12 ms",
		1250 * time.Millisecond: "1.25 s", 7 * time.Second: "7 s", 12300 * time.Millisecond: "12.3 s", 134 * time.Second: "134 s", time.Hour: "3600 s"} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for _, tc := range []struct {
		up, n int
		want  string
	}{{5, 5, "100%"}, {0, 5, "0%"}, {1, 3, "33.3%"}, {1, 2, "50%"}, {9999, 10000, "99.9%"}, {59, 60, "98.3%"}} {
		if got := percent(tc.up, tc.n); got != tc.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tc.up, tc.n, got, tc.want)
		}
	}
	day := 24 * time.Hour
	for left, want := range map[time.Duration]string{90 * day: "cert-ok", 14 * day: "cert-ok", 14*day - time.Minute: "cert-warn",
		3 * day: "cert-warn", 3*day - time.Minute: "cert-crit", -day: "cert-crit"} {
		if got := certClass(left); got != want {
			t.Errorf("certClass(%v) = %s, want %s (the alerts: < 14 d warning, < 3 d critical)", left, got, want)
		}
	}
}

func TestBars(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	var ss []history.Sample
	for i := range 4 {
		ok := i != 2
		code := "ok"
		if !ok {
			code = "connect"
		}
		ss = append(ss, history.Sample{At: t0.Add(time.Duration(i) * time.Minute), OK: ok, Code: code, Total: 30 * time.Millisecond,
			Phases: [history.NumPhases]time.Duration{time.Millisecond, 9 * time.Millisecond, 20 * time.Millisecond}})
	}
	bar := string(uptimeBar(ss, 6, "bar", true))
	for _, want := range []string{`data-samples="4" data-slots="6"`, `<rect class="empty" x="0" y="0" width="2"`,
		`<rect class="up" x="2" y="0" width="2"`, `<rect class="down" x="4" y="0" width="1"`, `<rect class="up" x="5" y="0" width="1"`,
		"connect</title>", "3 of the last 4 results ok", `<path class="sep" d="M1 0v10M2 0v10M3 0v10M4 0v10M5 0v10"/>`} {
		if !strings.Contains(bar, want) {
			t.Errorf("bar lacks %q:\n%s", want, bar)
		}
	}
	if strings.Contains(string(uptimeBar(ss, 6, "bar", false)), "sep") {
		t.Error("separators drawn where none were asked for")
	}
	spark := string(sparkline(ss, 6, "spark"))
	// Bars stacked: connect 1 ms of 30 from 100 to 97, TLS to 67, the
	// server's dialogue to the top; slot 2 (the first sample) at x=25.
	for _, want := range []string{`<path class="ph-connect" d="M25 100V97`, `<path class="ph-tls" d="M25 97V67`, `<path class="ph-server" d="M25 67V0`, "up to 30 ms"} {
		if !strings.Contains(spark, want) {
			t.Errorf("sparkline lacks %q:\n%s", want, spark)
		}
	}
	if strings.Contains(spark, "ph-total") {
		t.Error("an endpoint's sparkline draws a whole-check bar")
	}
	if s := string(sparkline([]history.Sample{{Total: time.Second, OK: true}}, 3, "spark")); !strings.Contains(s, `class="ph-total"`) {
		t.Errorf("a check without phases draws no bar: %s", s)
	}
}

func TestEndpointTarget(t *testing.T) {
	for _, tc := range []struct {
		d    collector.Detail
		want string
	}{
		{collector.Detail{Host: "mail.example.com", Address: "192.0.2.7", Port: 993, Protocol: "imap", TLS: "implicit"}, "192.0.2.7:993 imap implicit"},
		{collector.Detail{Host: "mail.example.com", Address: "2001:db8::7", Port: 25, Protocol: "smtp", TLS: "starttls"}, "[2001:db8::7]:25 smtp starttls"},
		{collector.Detail{Host: "192.0.2.7", Address: "192.0.2.7", Port: 995, Protocol: "pop3", TLS: "implicit"}, ":995 pop3 implicit"},
		{collector.Detail{Host: "mail.example.com", Port: 587, Protocol: "smtp", TLS: "starttls"}, ":587 smtp starttls"},
	} {
		if got := endpointTarget(tc.d); got != tc.want {
			t.Errorf("endpointTarget(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestGrouping(t *testing.T) {
	views := []checkView{{ID: "domain/example.com", Kind: "domain"}, {ID: "e1", Kind: "endpoint", Title: "imaps", State: "fail"},
		{ID: "e2", Kind: "endpoint", Title: "smtp"}, {ID: "e3", Kind: "endpoint", Title: "imaps"},
		{ID: "e4", Kind: "endpoint", Title: "smtp"}, {ID: "r", Kind: "roundtrip", Title: "loop"}}
	details := []collector.Detail{{Domain: "example.com"}, {Server: "mx1", Host: "mail.example.com"}, {Server: "mx1", Host: "mail.example.com"},
		{Server: "other", Host: "imap.example.org"}, {Server: "gmail-smtp-in.l.google.com", Host: "gmail-smtp-in.l.google.com", Domain: "example.com"},
		{Server: "mx1", Host: "mail.example.com"}}
	gs := group(views, details)
	if len(gs) != 2 || gs[0].Key != "domain:example.com" || gs[1].Key != "server:other" {
		t.Fatalf("groups %+v", gs)
	}
	g := gs[0]
	if g.Total != 5 || g.Failing != 1 || g.State != "fail" || len(g.Servers) != 2 {
		t.Errorf("example.com: %d checks, %d failing, %d servers", g.Total, g.Failing, len(g.Servers))
	}
	// Standard endpoint order within a server, the roundtrip last;
	// an advertised MX host under its advertising domain.
	var order []string
	for _, c := range g.Servers[1].Checks {
		order = append(order, c.Title)
	}
	if g.Servers[1].Name != "mx1" || strings.Join(order, " ") != "smtp imaps loop" {
		t.Errorf("servers %s, %s: %v", g.Servers[0].Name, g.Servers[1].Name, order)
	}
}
