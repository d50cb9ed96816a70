package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/report"
	"github.com/mail-exporter/mail_exporter/collector/testpeers"
)

var update = flag.Bool("update", false, "rewrite the golden files of the check command")

// httpsOn443 listens on port 443 of a loopback address of this test's own
// (127.160.0.0/11; other packages' tests use other ranges). Root is needed,
// as for the mail peers.
func httpsOn443(t *testing.T) net.Listener {
	pid := os.Getpid()
	var last error
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:443", 160+(pid>>16)%32, (pid>>8)%256, 1+(pid+i)%250))
		if err == nil {
			return l
		}
		last = err
		if errors.Is(err, syscall.EACCES) {
			break
		}
	}
	if os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" {
		t.Fatalf("cannot listen on a loopback port 443: %v", last)
	}
	t.Skipf("cannot listen on a loopback port 443: %v", last)
	return nil
}

// checkWorld is a healthy and a broken mail domain on real servers.
type checkWorld struct {
	resolver, caFile string
	mail             *testpeers.Mail
	certDir          string
}

func startCheckWorld(t *testing.T) *checkWorld {
	t.Helper()
	ln := httpsOn443(t)
	httpsIP := ln.Addr().(*net.TCPAddr).IP.String()
	ca := testpeers.NewCA(t)
	// The mail server's certificate covers the good domain's names only.
	certPEM, keyPEM, leaf := ca.Issue(t, testpeers.CertOptions{DNSNames: []string{"mail.good.test", "mx.good.test"}})
	m := testpeers.StartMail(t, testpeers.WithCA(ca), testpeers.WithCert(certPEM, keyPEM),
		// It greets as the MX the good domain names, which is its PTR too.
		testpeers.WithMyHostname("mx.good.test"))
	p := m.Ports

	// HTTPS for MTA-STS and autoconfig.
	webPEM, webKey, _ := ca.Issue(t, testpeers.CertOptions{DNSNames: []string{"mta-sts.good.test", "autoconfig.good.test"}})
	webCert, _ := tls.X509KeyPair(webPEM, webKey)
	files := map[string]string{
		"mta-sts.good.test/.well-known/mta-sts.txt": "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n",
		"autoconfig.good.test/mail/config-v1.1.xml": fmt.Sprintf(`<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="good.test"><domain>good.test</domain>
<incomingServer type="imap"><hostname>mail.good.test</hostname><port>%d</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%%EMAILADDRESS%%</username></incomingServer>
<outgoingServer type="smtp"><hostname>mail.good.test</hostname><port>%d</port><socketType>STARTTLS</socketType><authentication>password-cleartext</authentication><username>%%EMAILADDRESS%%</username></outgoingServer>
</emailProvider></clientConfig>
`, p["imaps"], p["submission"]),
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[strings.Split(r.Host, ":")[0]+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		if strings.HasSuffix(r.URL.Path, ".xml") {
			w.Header().Set("Content-Type", "text/xml")
		}
		fmt.Fprint(w, body)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{webCert}}, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })

	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	good := fmt.Sprintf(`
@ MX 10 mx.good.test.
mx A %[1]s
mail A %[1]s
mta-sts A %[2]s
autoconfig A %[2]s
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
s1._domainkey TXT "v=DKIM1; k=ed25519; p=%[3]s"
_mta-sts TXT "v=STSv1; id=20261126"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@good.test"
_%[4]d._tcp.mx TLSA 3 1 1 %[5]s
_imaps._tcp SRV 0 1 %[6]d mail.good.test.
_submission._tcp SRV 0 1 %[7]d mail.good.test.
`, m.Host, httpsIP, base64.StdEncoding.EncodeToString(edPub), p["smtp"], hex.EncodeToString(spki[:]), p["imaps"], p["submission"])
	// The broken domain: a certificate for another name, SPF +all, DMARC
	// p=none, no MTA-STS, TLS-RPT or autoconfig, unsigned, a PTR that
	// does not confirm.
	bad := fmt.Sprintf(`
@ MX 10 mx.bad.test.
mx A %[1]s
mail A %[1]s
@ TXT "v=spf1 mx +all"
_dmarc TXT "v=DMARC1; p=none"
_imaps._tcp SRV 0 1 %[2]d mail.bad.test.
`, m.Host, p["imaps"])
	d := dnstest.Start(t,
		dnstest.Zone{Name: "good.test", Signed: true, Records: good},
		dnstest.Zone{Name: "bad.test", Records: bad},
		dnstest.Zone{Name: "127.in-addr.arpa", Records: "2.0.0 PTR mx.good.test.\n"},
	)
	return &checkWorld{resolver: d.Resolver, caFile: m.CAFile, mail: m}
}

// runCheck runs the built binary's check command.
func runCheckCmd(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"check"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String() + errOut.String(), code
}

// normaliseText replaces what changes from run to run: timings, ports,
// days left, durations.
func normaliseText(s string, w *checkWorld) string {
	for name, port := range w.mail.Ports {
		s = strings.ReplaceAll(s, fmt.Sprint(port), "<"+name+">")
	}
	for _, re := range []struct{ re, with string }{
		{`resolve \d+(\.\d+)?ms, `, ""}, // under a millisecond it is left out
		{`\d+(\.\d+)?ms`, "Nms"},
		{`in \d+\.\ds`, "in Ns"},
		{`valid \d+ more days`, "valid N more days"},
		{`127\.\d+\.\d+\.\d+`, "127.x.x.x"},
	} {
		s = regexp.MustCompile(re.re).ReplaceAllString(s, re.with)
	}
	return s
}

func normaliseJSON(t *testing.T, b string, w *checkWorld) string {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, b)
	}
	r.Started, r.Duration = time.Time{}, 0
	for i := range r.Sections {
		for j := range r.Sections[i].Items {
			it := &r.Sections[i].Items[j]
			for k := range it.Figures {
				it.Figures[k] = 0
			}
			for k := range it.Findings {
				it.Findings[k].Message = normaliseText(it.Findings[k].Message, w)
			}
			it.Name, it.Summary = normaliseText(it.Name, w), normaliseText(it.Summary, w)
		}
	}
	out, _ := json.MarshalIndent(r, "", "  ")
	return string(out) + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCheckCommand -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s", name, got)
	}
}

func TestCheckCommandDomains(t *testing.T) {
	w := startCheckWorld(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(w.mail.Password), 0o600)
	common := []string{"--resolver=" + w.resolver, "--ca-file=" + w.caFile, "--smtp-port=" + fmt.Sprint(w.mail.Ports["smtp"]),
		"--timeout=5s", "--ehlo-name=probe.example.test"}
	for _, tc := range []struct {
		domain string
		extra  []string
		code   int
	}{
		{"good.test", []string{"--dkim-selector=s1", "--user=" + w.mail.User, "--password-file=" + pwFile}, 0},
		{"bad.test", nil, 2},
	} {
		args := append(append([]string{tc.domain}, common...), tc.extra...)
		text, code := runCheckCmd(t, nil, args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.domain, code, tc.code, text)
		}
		golden(t, "check-"+tc.domain+".txt", normaliseText(text, w))
		js, code := runCheckCmd(t, nil, append(args, "--output=json")...)
		if code != tc.code {
			t.Errorf("%s json: exit %d, want %d", tc.domain, code, tc.code)
		}
		golden(t, "check-"+tc.domain+".json", normaliseJSON(t, js, w))
		for _, out := range []string{text, js} {
			if strings.Contains(out, w.mail.Password) {
				t.Errorf("%s: the password appears in the report", tc.domain)
			}
		}
	}
}

func TestCheckCommandEndpoint(t *testing.T) {
	ca := testpeers.NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, testpeers.CertOptions{DNSNames: []string{"mail.example.test"},
		NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	m := testpeers.StartMail(t, testpeers.WithCA(ca), testpeers.WithCert(certPEM, keyPEM))
	t.Setenv("CHECK_PASSWORD", m.Password)
	url := fmt.Sprintf("imaps://%s:%d", m.Host, m.Ports["imaps"])
	out, code := runCheckCmd(t, nil, url, "--ca-file="+m.CAFile, "--user="+m.User, "--password-env=CHECK_PASSWORD", "--verbose")
	if code != 2 {
		t.Errorf("expired certificate: exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{"✘ expired: certificate does not verify", "The certificate expired on", "verify_error=expired"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, m.Password) {
		t.Error("the password appears in the verbose report")
	}
	// A healthy endpoint with the right password, JSON, then usage errors.
	good := testpeers.StartMail(t)
	js, code := runCheckCmd(t, nil, fmt.Sprintf("imaps://%s:%d", good.Host, good.Ports["imaps"]), "--ca-file="+good.CAFile,
		"--user="+good.User, "--password-env=GOOD_PASSWORD", "--output=json")
	if code != 3 || js != "" && !strings.Contains(js, "GOOD_PASSWORD is not set") {
		t.Errorf("an unset password variable: exit %d, want 3 (unknown)", code)
	}
	t.Setenv("GOOD_PASSWORD", good.Password)
	js, code = runCheckCmd(t, []string{"GOOD_PASSWORD=" + good.Password}, fmt.Sprintf("imaps://mail.example.test:%d", good.Ports["imaps"]),
		"--ca-file="+good.CAFile, "--user="+good.User, "--password-env=GOOD_PASSWORD", "--output=json", "--resolver=127.0.0.1:1")
	if code != 2 || !strings.Contains(js, `"code": "dns"`) {
		t.Errorf("an unresolvable host: exit %d\n%s", code, js)
	}
	js, code = runCheckCmd(t, nil, fmt.Sprintf("imaps://%s:%d", good.Host, good.Ports["imaps"]), "--ca-file="+good.CAFile,
		"--user="+good.User, "--password-env=GOOD_PASSWORD", "--output=json", "--verbose")
	if code != 0 || !strings.Contains(js, "login ok") || !strings.Contains(js, "AUTHENTICATE PLAIN ****") || strings.Contains(js, good.Password) {
		t.Errorf("healthy endpoint: exit %d\n%s", code, js)
	}
	if _, code := runCheckCmd(t, nil, "ftp://x"); code != 3 {
		t.Errorf("bad scheme: exit %d, want 3", code)
	}
}

// TestCheckCommandConfig: --config.file runs every configured check once,
// so a config can be tested before it is deployed.
func TestCheckCommandConfig(t *testing.T) {
	m := testpeers.StartMail(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte(m.Password), 0o600)
	cfg := writeConfig(t, dir, fmt.Sprintf(`credentials:
  monitor: {username: %s, password_file: pw}
servers:
  - {name: real, host: %s, tls_server_name: %s, ca_file: %s, credential: monitor,
     endpoints: [{name: imaps, port: %d}, {name: submission, port: %d}]}
  - {name: closed, host: 127.0.0.1, endpoints: [{name: smtp, port: 9}]}
roundtrips:
  - {name: loop, send: {server: real, endpoint: submission, from: %s, to: %s}, receive: {server: real, endpoint: imaps}, timeout: 10s}
`, m.User, m.Host, m.ServerName, m.CAFile, m.Ports["imaps"], m.Ports["submission"], m.User, m.User))
	out, code := runCheckCmd(t, nil, "--config.file="+cfg)
	if code != 2 {
		t.Errorf("exit %d, want 2 (the closed port)\n%s", code, out)
	}
	for _, want := range []string{"✔ real: imaps", "✔ real: submission", "✘ closed: smtp", "End-to-end delivery", "✔ loop  delivered in"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, m.Password) {
		t.Error("the password appears in the report")
	}
}

// TestCheckCommandTerminal: colour and a progress line on a terminal,
// plain text when piped. script(1) gives the command a pseudo-terminal.
func TestCheckCommandTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("MAIL_EXPORTER_REAL_PEERS") == "1" {
			t.Fatal("script(1) not installed (Debian's bsdutils)")
		}
		t.Skip("script(1) not installed")
	}
	piped, _ := runCheckCmd(t, nil, "smtp://127.0.0.1:9")
	if strings.Contains(piped, "\x1b[") {
		t.Errorf("escape codes in piped output:\n%q", piped)
	}
	out, _ := exec.Command(scriptBin, "-qec", binary+" check smtp://127.0.0.1:9", "/dev/null").CombinedOutput()
	if !strings.Contains(string(out), "\x1b[31m✘") {
		t.Errorf("no colour on a terminal:\n%q", out)
	}

	// On a 60-column terminal the report wraps to fit; piped, each
	// finding stays on one line.
	out, _ = exec.Command(scriptBin, "-qec", "stty cols 60; "+binary+" check smtp://127.0.0.1:9", "/dev/null").CombinedOutput()
	plain := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`).ReplaceAllString(strings.ReplaceAll(string(out), "\r", ""), "")
	wrapped := 0
	for _, l := range strings.Split(plain, "\n") {
		if n := len([]rune(l)); n > 60 {
			t.Errorf("a line of %d columns on a 60-column terminal: %q", n, l)
		}
		if strings.HasPrefix(l, "          ") {
			wrapped++
		}
	}
	if wrapped == 0 {
		t.Errorf("nothing wrapped on a 60-column terminal:\n%s", plain)
	}
	if !strings.Contains(piped, "→ Nothing accepts connections on 127.0.0.1:9. Check that the service runs") {
		t.Errorf("piped output is wrapped:\n%s", piped)
	}
}
