package roundtrip_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/dnstest"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
	"github.com/mail-exporter/mail_exporter/collector/msgauth"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/report"
	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
)

// check is a roundtrip on m: sent on the endpoint named send (with the login when
// login is set), read back over IMAPS, verified with the tests' resolver.
func check(m *peers.Mail, name, send string, login bool, dnsServer string) roundtrip.Check {
	cred := &config.Credential{Name: "monitor", Username: m.User, Password: config.Secret(m.Password)}
	target := func(name string, proto config.Protocol, mode config.TLSMode, cred *config.Credential) probe.Target {
		return probe.Target{
			Server: "real", Host: m.Host, ServerName: m.ServerName, RootCAs: m.CAPool, EHLOName: "probe.example.test",
			Endpoint: &config.Endpoint{Name: name, Protocol: proto, Port: m.Ports[name], TLS: mode,
				Credential: cred, VerifyCertificate: true, Timeout: 10 * time.Second},
		}
	}
	sendCred := cred
	if !login {
		sendCred = nil
	}
	res, _ := resolver.New(dnsServer)
	return roundtrip.Check{
		Name:               name,
		Send:               target(send, config.SMTP, config.TLSStartTLS, sendCred),
		Receive:            target("imaps", config.IMAP, config.TLSImplicit, cred),
		Mailbox:            "INBOX",
		From:               m.User,
		To:                 m.User,
		Timeout:            30 * time.Second,
		Resolver:           res,
		TrustedAuthservIDs: []string{peers.ServerName},
		Transcript:         probe.NewTranscript(),
	}
}

// descs adapts Descs.Collect to a prometheus.Collector for one result.
type collector struct {
	name string
	r    *roundtrip.Result
}

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c collector) Collect(ch chan<- prometheus.Metric) {
	roundtrip.NewDescs().Collect(ch, c.name, c.r, time.Time{})
}

// series returns the exposition text of a result's roundtrip series.
func series(t *testing.T, name string, r *roundtrip.Result) string {
	t.Helper()
	out, err := testutil.CollectAndFormat(collector{name, r}, expfmt.TypeTextPlain,
		"mail_roundtrip_result_info", "mail_roundtrip_success", "mail_roundtrip_dkim_result_info",
		"mail_roundtrip_dkim_aligned", "mail_roundtrip_auth_results_info")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// checkLines renders the report items that `mail_exporter check` prints for r.
func checkLines(t *testing.T, name string, r *roundtrip.Result) string {
	t.Helper()
	rep := report.New("targets.yaml", time.Now())
	rep.Add("roundtrip", report.Roundtrip(name, r))
	for _, it := range report.RoundtripAuth(name, r) {
		rep.Add("roundtrip", it)
	}
	rep.Finish(time.Now())
	var b strings.Builder
	if err := report.Text(&b, rep, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// dkimWorld is the DNS of example.test (the signer's selector "sel" and a DMARC policy)
// and a receiving OpenDKIM that verifies and adds Authentication-Results as
// mail.example.test.
type dkimWorld struct {
	key      *peers.DKIMKey
	dns      *dnstest.Peers
	verifier *peers.OpenDKIM
}

func newDKIMWorld(t *testing.T) *dkimWorld {
	key := peers.NewDKIMKey(t, peers.Domain, "sel")
	dns := dnstest.Start(t, dnstest.Zone{Name: peers.Domain,
		Records: key.Record + "\n_dmarc 300 IN TXT \"v=DMARC1; p=reject\"\n"})
	return &dkimWorld{key: key, dns: dns,
		verifier: peers.StartOpenDKIM(t, peers.OpenDKIMOptions{Resolver: dns.Resolver, AuthservID: peers.ServerName})}
}

// mail starts Postfix signing with key (none: unsigned) before the receiving verifier.
func (w *dkimWorld) mail(t *testing.T, key *peers.DKIMKey) *peers.Mail {
	milters := []string{w.verifier.Milter}
	if key != nil {
		milters = append([]string{peers.StartOpenDKIM(t, peers.OpenDKIMOptions{Sign: key}).Milter}, milters...)
	}
	return peers.StartMail(t, peers.WithMilters(milters...))
}

func wantSignature(t *testing.T, a *msgauth.Report, result msgauth.Result, aligned bool) {
	t.Helper()
	if a == nil || len(a.Signatures) != 1 {
		t.Fatalf("want one signature, got %+v", a)
	}
	s := a.Signatures[0]
	if s.Domain != peers.Domain || s.Selector != "sel" || s.Result != result || s.Aligned != aligned || a.Aligned != aligned {
		t.Errorf("signature %+v (aligned %v), want d=%s s=sel %s aligned %v", s, a.Aligned, peers.Domain, result, aligned)
	}
}

func wantAuthResult(t *testing.T, a *msgauth.Report, method, result string) {
	t.Helper()
	for _, ar := range a.AuthResults {
		if ar.AuthservID == peers.ServerName && ar.Method == method && ar.Result == result {
			return
		}
	}
	t.Errorf("no Authentication-Results %s %s=%s in %+v", peers.ServerName, method, result, a.AuthResults)
}

func logRun(t *testing.T, name string, r *roundtrip.Result) {
	t.Logf("roundtrip %s: %s %q\n--- series ---\n%s\n--- check ---\n%s", name, r.Reason, r.Error, series(t, name, r), checkLines(t, name, r))
}

// TestRoundtripDKIMRealPeers: real Postfix with the real OpenDKIM signing (a key in the
// knot zone, a key that does not match it, no signer) and a receiving OpenDKIM that
// verifies; the exporter's own verdict and the receiver's agree.
func TestRoundtripDKIMRealPeers(t *testing.T) {
	w := newDKIMWorld(t)

	t.Run("good key", func(t *testing.T) {
		m := w.mail(t, w.key)
		c := check(m, "good", "submission", true, w.dns.Resolver)
		c.DKIMDomain = peers.Domain
		r := roundtrip.Run(context.Background(), c)
		logRun(t, c.Name, r)
		if !r.Success {
			t.Fatalf("%s %s\n%s", r.Reason, r.Error, m.Logs(20))
		}
		wantSignature(t, r.Auth, msgauth.ResultPass, true)
		wantAuthResult(t, r.Auth, "dkim", "pass")
	})

	t.Run("key does not match DNS", func(t *testing.T) {
		m := w.mail(t, peers.NewDKIMKey(t, peers.Domain, "sel"))
		c := check(m, "stale", "submission", true, w.dns.Resolver)
		r := roundtrip.Run(context.Background(), c)
		logRun(t, c.Name, r)
		if !r.Success {
			t.Fatalf("without dkim_domain the run succeeds; got %s %s", r.Reason, r.Error)
		}
		wantSignature(t, r.Auth, msgauth.ResultFail, false)
		wantAuthResult(t, r.Auth, "dkim", "fail")

		c = check(m, "stale-required", "submission", true, w.dns.Resolver)
		c.DKIMDomain = peers.Domain
		r = roundtrip.Run(context.Background(), c)
		logRun(t, c.Name, r)
		if r.Reason != roundtrip.ReasonDKIM || !strings.Contains(r.Error, "d=example.test s=sel: fail (dkim: signature did not verify") {
			t.Errorf("got %s %q, want dkim naming the failing signature", r.Reason, r.Error)
		}
		if tr := c.Transcript.String(); !strings.Contains(tr, "dkim: d=example.test s=sel fail") {
			t.Errorf("transcript does not name the signature:\n%s", tr)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		m := w.mail(t, nil)
		c := check(m, "unsigned", "submission", true, w.dns.Resolver)
		r := roundtrip.Run(context.Background(), c)
		logRun(t, c.Name, r)
		if !r.Success || r.Auth == nil || len(r.Auth.Signatures) != 0 || r.Auth.Aligned {
			t.Fatalf("got %s %q %+v, want ok and no signature", r.Reason, r.Error, r.Auth)
		}
		if s := series(t, c.Name, r); !strings.Contains(s, `mail_roundtrip_dkim_result_info{domain="",result="none",roundtrip="unsigned",selector=""} 1`) {
			t.Errorf("no none series:\n%s", s)
		}
		wantAuthResult(t, r.Auth, "dkim", "none")

		c = check(m, "unsigned-required", "submission", true, w.dns.Resolver)
		c.DKIMDomain = peers.Domain
		r = roundtrip.Run(context.Background(), c)
		logRun(t, c.Name, r)
		if r.Reason != roundtrip.ReasonDKIM || !strings.Contains(r.Error, "no DKIM-Signature") || r.Delivery <= 0 {
			t.Errorf("got %s %q (delivery %v), want dkim, and the delivery measured", r.Reason, r.Error, r.Delivery)
		}
	})
}

// TestRoundtripPort25: sent on the MX port without a login, as another MTA does
// (STARTTLS, no AUTH), signed on the way in.
func TestRoundtripPort25(t *testing.T) {
	w := newDKIMWorld(t)
	m := w.mail(t, w.key)
	c := check(m, "mx", "smtp", false, w.dns.Resolver)
	c.DKIMDomain = peers.Domain
	r := roundtrip.Run(context.Background(), c)
	logRun(t, c.Name, r)
	if !r.Success {
		t.Fatalf("%s %s\n%s", r.Reason, r.Error, m.Logs(20))
	}
	if tr := c.Transcript.String(); strings.Contains(tr, "AUTH") && strings.Contains(tr, "C: AUTH") {
		t.Errorf("logged in on port 25:\n%s", tr)
	}
	wantSignature(t, r.Auth, msgauth.ResultPass, true)
}

// TestRoundtripSendTempfail: a Postfix whose milter is down defers everything
// (milter_default_action = tempfail): 454 to STARTTLS, 451 to MAIL FROM without TLS.
// That is send_tempfail, not a broken server.
func TestRoundtripSendTempfail(t *testing.T) {
	m := peers.StartMail(t, peers.WithMilters(fmt.Sprintf("inet:127.0.0.1:%d", closedPort(t))))
	for _, tls := range []config.TLSMode{config.TLSStartTLS, config.TLSNone} {
		c := check(m, "deferred", "smtp", false, "127.0.0.1:1")
		c.Send.Endpoint.TLS = tls
		r := roundtrip.Run(context.Background(), c)
		t.Logf("tls %s: %s %q", tls, r.Reason, r.Error)
		if r.Reason != roundtrip.ReasonSendTempfail || !strings.Contains(r.Error, " 45") {
			t.Errorf("tls %s: got %s %q, want send_tempfail", tls, r.Reason, r.Error)
		}
		if s := series(t, c.Name, r); !strings.Contains(s, `mail_roundtrip_result_info{result="send_tempfail",roundtrip="deferred"} 1`) {
			t.Errorf("series:\n%s", s)
		}
	}
}

// TestRoundtripGreylisted: an MX that greylists (450 at RCPT) gives send_tempfail on
// port 25, with the server's reply in the reason.
func TestRoundtripGreylisted(t *testing.T) {
	m := peers.StartMail(t, peers.WithGreylisting())
	c := check(m, "greylisted", "smtp", false, "127.0.0.1:1")
	r := roundtrip.Run(context.Background(), c)
	t.Logf("roundtrip: %s %q", r.Reason, r.Error)
	if r.Reason != roundtrip.ReasonSendTempfail || !strings.Contains(r.Error, "RCPT TO") || !strings.Contains(r.Error, "450") {
		t.Errorf("got %s %q, want send_tempfail at RCPT with 450", r.Reason, r.Error)
	}
}
