package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// EnvScreenshots names a folder for the status page screenshots; default:
// the test's temporary folder (the paths are logged either way).
const EnvScreenshots = "MAIL_EXPORTER_SCREENSHOTS"

// chromium finds headless Chromium (Debian's `chromium`): a missing one
// fails the test under MAIL_EXPORTER_REAL_PEERS=1, as a missing Dovecot does.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" {
		t.Fatal("headless Chromium not installed (Debian package chromium); MAIL_EXPORTER_REAL_PEERS=1 requires it")
	}
	t.Skip("headless Chromium not installed (Debian package chromium)")
	return ""
}

// browse runs headless Chromium on url with extra flags (--dump-dom,
// --screenshot=…) and returns its standard output. Its own traffic stays
// on loopback: background services are off and every host name but
// 127.0.0.1 fails to resolve.
func browse(t *testing.T, bin, url string, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return string(out)
}

// statusWorld is a running exporter probing real Dovecot and Postfix: a
// healthy server, two whose certificates expire in 10 and 2 days, a login
// that fails, a closed port, a valid and a broken domain, a roundtrip.
type statusWorld struct {
	url, badPassword string
	hist             *history.Store
}

func startStatusWorld(t *testing.T, perCheck int) *statusWorld {
	t.Helper()
	ca := testpeers.NewCA(t)
	peer := func(name string, days int) *testpeers.Mail {
		cert, key, _ := ca.Issue(t, testpeers.CertOptions{DNSNames: []string{name},
			NotBefore: time.Now().Add(-80 * 24 * time.Hour), NotAfter: time.Now().Add(time.Duration(days)*24*time.Hour + time.Hour)})
		return testpeers.StartMail(t, testpeers.WithCA(ca), testpeers.WithCert(cert, key))
	}
	good := testpeers.StartMail(t, testpeers.WithCA(ca))
	soon := peer("soon.example.test", 10)
	urgent := peer("urgent.example.test", 2)
	closed := freePort(t)

	dns := dnstest.Start(t,
		dnstest.Zone{Name: "example.test", Records: fmt.Sprintf(`
@ MX 10 mail.example.test.
mail A %s
soon A %s
urgent A %s
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject"
`, good.Host, soon.Host, urgent.Host)},
		dnstest.Zone{Name: "broken.test", Records: "@ MX 10 mail.example.test.\n@ TXT \"v=spf1 +all\"\n"},
	)

	dir := t.TempDir()
	w := &statusWorld{badPassword: "Wr0ng-" + good.Password}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", string(ca.PEM()))
	gp := good.Ports
	cfg := write("targets.yaml", fmt.Sprintf(`
global: {interval: 2s, timeout: 1500ms, dns_interval: 3s, roundtrip_interval: 4s, resolver: "%s", ca_file: %s, ehlo_name: probe.example.test}
credentials:
  monitor: {username: %s, password_file: %s}
  wrong: {username: %s, password_file: %s}
servers:
  - name: mx1
    host: mail.example.test
    credential: monitor
    endpoints: [{name: smtp, port: %d}, {name: submission, port: %d}, {name: submissions, port: %d}, {name: imaps, port: %d}, {name: pop3s, port: %d}]
  - {name: soon, host: soon.example.test, endpoints: [{name: imaps, port: %d}]}
  - {name: urgent, host: urgent.example.test, endpoints: [{name: imaps, port: %d}]}
  - name: badlogin
    host: mail.example.test
    credential: wrong
    interval: 4s
    endpoints: [{name: imaps, port: %d, timeout: 3500ms}]
  - name: standalone
    host: %s
    tls_server_name: mail.example.test
    endpoints: [{name: pop3s, port: %d}, {name: smtp-closed, protocol: smtp, port: %d, tls: starttls}]
domains:
  - {domain: example.test, checks: [mx, spf, dmarc]}
  - {domain: broken.test, checks: [mx, spf, dmarc]}
roundtrips:
  - {name: loop, send: {server: mx1, endpoint: submission, from: %s, to: %s}, receive: {server: mx1, endpoint: imaps}, timeout: 3500ms}
`, dns.Resolver, caFile, good.User, write("pw", good.Password), good.User, write("wrong", w.badPassword),
		gp["smtp"], gp["submission"], gp["submissions"], gp["imaps"], gp["pop3s"], soon.Ports["imaps"], urgent.Ports["imaps"],
		gp["imaps"], good.Host, gp["pop3s"], closed, good.User, good.User))

	w.hist = history.New(perCheck)
	exp := collector.New(collector.Options{Hostname: "probe.example.test", Recorder: History{Store: w.hist}})
	if err := exp.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Stop)
	o := StatusOptions{Version: "test", History: w.hist, Refresh: 30 * time.Second}
	mux := http.NewServeMux()
	mux.Handle("/", Status(exp, o))
	mux.Handle("/check", CheckPage(exp, o))
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitResults waits until check id has at least n results.
func (w *statusWorld) waitResults(t *testing.T, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for len(w.hist.Samples(id)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d results after 90s, want %d", id, len(w.hist.Samples(id)), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitRuns waits until check id has more results than the history keeps,
// so that the bound is what the page shows.
func (w *statusWorld) waitRuns(t *testing.T, id string, interval time.Duration) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for len(w.hist.Samples(id)) < w.hist.PerCheck() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d results after 90s", id, len(w.hist.Samples(id)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2*interval + 500*time.Millisecond) // at least one more, overwriting the oldest
}

// TestStatusPageInChromium renders the status page of a running exporter
// in headless Chromium: screenshots at a wall display's and a phone's width,
// and the DOM Chromium built checked for the groups, the uptime figures,
// the expiry colours and the bounded history.
func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	const perCheck = 5
	w := startStatusWorld(t, perCheck)
	w.waitRuns(t, "endpoint/mx1/imaps@127.0.0.2", 2*time.Second)
	// A refused login backs off (2^n intervals after n refusals), so the
	// failing check is not waited for until its history is full: two
	// failures give it a history and a last failure's transcript.
	w.waitResults(t, "endpoint/badlogin/imaps@127.0.0.2", 2)

	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct{ name, size string }{{"status-desktop.png", "1920,1080"}, {"status-phone.png", "390,844"}} {
		path := filepath.Join(dir, shot.name)
		browse(t, bin, w.url+"/", "--window-size="+shot.size, "--screenshot="+path)
		st, err := os.Stat(path)
		if err != nil || st.Size() < 10<<10 {
			t.Fatalf("screenshot %s: %v (%v bytes)", path, err, st)
		}
		t.Logf("screenshot %s (%s): %s", shot.size, shot.name, path)
	}
	page := browse(t, bin, w.url+"/", "--dump-dom")
	if err := os.WriteFile(filepath.Join(dir, "status-dom.html"), []byte(page), 0o644); err == nil {
		t.Logf("DOM: %s", filepath.Join(dir, "status-dom.html"))
	}
	doc := parseDOM(t, page)

	// Grouped by domain, with the servers under it, and by server.
	for group, servers := range map[string][]string{
		"domain:example.test": {"mx1", "soon", "urgent", "badlogin"},
		"domain:broken.test":  nil,
		"server:standalone":   {"standalone"},
	} {
		g := doc.find("data-group", group)
		if g == nil {
			t.Errorf("no group %s", group)
			continue
		}
		for _, s := range servers {
			if g.find("data-server", s) == nil {
				t.Errorf("group %s lacks server %s", group, s)
			}
		}
	}
	if doc.find("data-group", "domain:example.test").find("data-check", "domain/example.test") == nil {
		t.Error("the domain check is not in its domain's group")
	}

	check := func(id string) *node {
		n := doc.find("data-check", id)
		if n == nil {
			t.Fatalf("no check %s in the page", id)
		}
		return n
	}
	// Uptime over the kept window, and its state.
	for id, want := range map[string]struct{ state, uptime string }{
		"endpoint/mx1/imaps@127.0.0.2":              {"ok", "100%"},
		"endpoint/mx1/submission@127.0.0.2":         {"ok", "100%"},
		"endpoint/badlogin/imaps@127.0.0.2":         {"fail", "0%"},
		"endpoint/standalone/smtp-closed@127.0.0.2": {"fail", "0%"},
		"domain/broken.test":                        {"fail", "0%"},
		"domain/example.test":                       {"ok", "100%"},
	} {
		n := check(id)
		if !n.hasClass(want.state) {
			t.Errorf("%s: classes %q, want %s", id, n.attr("class"), want.state)
		}
		if u := n.findClass("uptime"); u == nil || u.text() != want.uptime {
			t.Errorf("%s: uptime %q, want %s", id, u.text(), want.uptime)
		}
	}
	// Certificate days, coloured as the alerts: warning under 14 days,
	// critical under 3.
	for id, want := range map[string]string{"endpoint/mx1/imaps@127.0.0.2": "cert-ok", "endpoint/soon/imaps@127.0.0.2": "cert-warn", "endpoint/urgent/imaps@127.0.0.2": "cert-crit"} {
		c := check(id).findClass("cert")
		if c == nil || !c.hasClass(want) {
			t.Errorf("%s: certificate badge %v, want class %s", id, c.attr("class"), want)
		}
	}
	if got := check("endpoint/soon/imaps@127.0.0.2").findClass("cert").text(); got != "10 d" {
		t.Errorf("10-day certificate reads %q", got)
	}
	// The history on the page is bounded: no bar holds more than the
	// store keeps, and the busy checks hold exactly that.
	bars := doc.findAll(func(n *node) bool { return n.tag == "svg" && n.hasClass("bar") })
	if len(bars) < 12 {
		t.Errorf("%d uptime bars", len(bars))
	}
	for _, b := range bars {
		if n, _ := strconv.Atoi(b.attr("data-samples")); n > perCheck || b.attr("data-slots") != strconv.Itoa(perCheck) {
			t.Errorf("a bar holds %s samples in %s slots, want at most %d", b.attr("data-samples"), b.attr("data-slots"), perCheck)
		}
	}
	if got := check("endpoint/mx1/imaps@127.0.0.2").findTag("svg").attr("data-samples"); got != strconv.Itoa(perCheck) {
		t.Errorf("mx1/imaps bar holds %s samples, want %d", got, perCheck)
	}
	// Phases drawn in the sparkline of an endpoint.
	// (A connect on loopback is too short to draw beside the rest.)
	spark := check("endpoint/mx1/submission@127.0.0.2").findClass("spark")
	for _, ph := range []string{"ph-tls", "ph-server"} {
		if spark.findClass(ph) == nil {
			t.Errorf("submission sparkline draws no %s bars", ph)
		}
	}
	if n := strings.Count(spark.findClass("ph-server").attr("d"), "M"); n > 30 {
		t.Errorf("the sparkline draws %d bars, more than the 30 it shows", n)
	}
	// The summary and the problems with their fixes.
	sum := doc.find("id", "summary").text()
	for _, want := range []string{"expiring soon", "failing", "ok"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	if n := doc.find("id", "summary").findClass("n-warn").findTag("b").text(); n != "2" {
		t.Errorf("%s certificates expiring soon, want 2", n)
	}
	// Each failing or expiring check names its problem on its row, and
	// the "Needs attention" list gives the fix.
	if p := check("endpoint/badlogin/imaps@127.0.0.2").findClass("problem"); !strings.HasPrefix(p.text(), "auth ") {
		t.Errorf("badlogin's row names no problem: %q", p.text())
	}
	if p := check("endpoint/urgent/imaps@127.0.0.2").findClass("problem"); !strings.Contains(p.text(), "certificate expires in") {
		t.Errorf("urgent's row names no problem: %q", p.text())
	}
	att := doc.find("id", "attention").text()
	for _, want := range []string{"badlogin imaps", "Login failed. Check the username and password", "urgent imaps",
		"Renew the certificate now", "soon imaps", "standalone smtp-closed", "Nothing accepts connections", "broken.test"} {
		if !strings.Contains(att, want) {
			t.Errorf("'Needs attention' lacks %q: %s", want, att)
		}
	}
	if doc.findTag("script") != nil || strings.Contains(page, "src=\"http") {
		t.Error("the page loads a script or an external file")
	}

	// The failing login's own page: its kept history and its last
	// failure's transcript, masked.
	detailURL := w.url + "/check?id=endpoint/badlogin/imaps@127.0.0.2"
	shot := filepath.Join(dir, "check-desktop.png")
	browse(t, bin, detailURL, "--window-size=1920,1080", "--screenshot="+shot)
	t.Logf("screenshot 1920,1080 (check page): %s", shot)
	detail := browse(t, bin, detailURL, "--dump-dom")
	dd := parseDOM(t, detail)
	rows := dd.find("id", "samples").findAll(func(n *node) bool { return n.tag == "tr" && n.parentTag() == "tbody" })
	if len(rows) < 2 || len(rows) > perCheck { // the login backs off: see waitResults above
		t.Errorf("check page lists %d results, want 2 to %d", len(rows), perCheck)
	}
	tr := dd.findClass("transcript")
	if tr == nil || !strings.Contains(tr.text(), "****") || !strings.Contains(tr.text(), "LOGIN") && !strings.Contains(tr.text(), "AUTHENTICATE") {
		t.Errorf("no masked login in the kept transcript: %q", tr.text())
	}
	for name, text := range map[string]string{"status page": page, "check page": detail} {
		if strings.Contains(text, w.badPassword) {
			t.Errorf("the %s shows the password", name)
		}
	}
}
