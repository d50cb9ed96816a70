package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/internal/testpki"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

const goodPolicy = "version: STSv1\nmode: enforce\nmx: mx.ex.test\nmx: *.backup.ex.test\nmax_age: 604800\n"

// policyServer serves handler over HTTPS on loopback with a certificate for
// names, and returns a client that reaches it whatever host it dials.
func policyServer(t *testing.T, ca *testpki.CA, handler http.HandlerFunc, names ...string) *http.Client {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Leaf(t, time.Time{}, time.Time{}, names...)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	c := NewHTTPClient(ca.Pool(), func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func serve(ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write([]byte(body))
	}
}

func TestFetch(t *testing.T) {
	ca := testpki.NewCA(t)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		names   []string
		want    error
	}{
		{"good", serve("text/plain; charset=utf-8", goodPolicy), []string{"mta-sts.ex.test"}, nil},
		{"wrong name", serve("text/plain", goodPolicy), []string{"mta-sts.other.test"}, ErrCertificate},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, []string{"mta-sts.ex.test"}, ErrHTTPStatus},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://mta-sts.ex.test/elsewhere", http.StatusFound)
		}, []string{"mta-sts.ex.test"}, ErrHTTPStatus},
		{"html", serve("text/html", goodPolicy), []string{"mta-sts.ex.test"}, ErrContentType},
		{"too large", serve("text/plain", goodPolicy+strings.Repeat("x: y\n", MaxPolicySize/5+1)), []string{"mta-sts.ex.test"}, ErrTooLarge},
		{"syntax", serve("text/plain", "version: STSv1\n"), []string{"mta-sts.ex.test"}, ErrPolicySyntax},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := policyServer(t, ca, c.handler, c.names...)
			p, _, err := Fetch(ctx, client, "ex.test")
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if c.want == nil && p.Mode != ModeEnforce {
				t.Errorf("policy %+v", p)
			}
		})
	}
}

func TestFetchUntrusted(t *testing.T) {
	ca := testpki.NewCA(t)
	client := policyServer(t, ca, serve("text/plain", goodPolicy), "mta-sts.ex.test")
	other := testpki.NewCA(t)
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs = other.Pool()
	if _, _, err := Fetch(context.Background(), client, "ex.test"); !errors.Is(err, ErrCertificate) {
		t.Fatalf("err %v, want ErrCertificate", err)
	}
}

func TestFetchUnreachable(t *testing.T) {
	client := NewHTTPClient(nil, func(ctx context.Context, network, _ string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	})
	if _, _, err := Fetch(context.Background(), client, "ex.test"); !errors.Is(err, ErrFetch) {
		t.Fatalf("err %v, want ErrFetch", err)
	}
}

func TestCheck(t *testing.T) {
	ca := testpki.NewCA(t)
	ctx := context.Background()
	rec := `_mta-sts.ex.test. 300 IN TXT "v=STSv1; id=20240101;"`
	for _, c := range []struct {
		name    string
		records []string
		policy  string
		mx      []string
		want    []error
	}{
		{"good", []string{rec}, goodPolicy, []string{"mx.ex.test", "b1.backup.ex.test"}, nil},
		{"not covered", []string{rec}, goodPolicy, []string{"mx.ex.test", "other.ex.test", "a.b.backup.ex.test"}, []error{ErrMXNotCovered, ErrMXNotCovered}},
		{"missing", nil, goodPolicy, []string{"mx.ex.test"}, []error{ErrNoRecord}},
		{"multiple", []string{rec, `_mta-sts.ex.test. 300 IN TXT "v=STSv1; id=2;"`}, goodPolicy, nil, []error{ErrMultipleRecords}},
		{"record syntax", []string{`_mta-sts.ex.test. 300 IN TXT "v=STSv1; id=no-dashes;"`}, goodPolicy, nil, []error{ErrRecordSyntax}},
		{"testing", []string{rec}, strings.Replace(goodPolicy, "enforce", "testing", 1), []string{"mx.ex.test"}, []error{ErrModeTesting}},
		{"none", []string{rec}, "version: STSv1\nmode: none\nmax_age: 86400\n", []string{"mx.ex.test"}, []error{ErrModeNone}},
		{"short max_age", []string{rec}, strings.Replace(goodPolicy, "604800", "3600", 1), []string{"mx.ex.test"}, []error{ErrMaxAgeShort}},
		{"policy syntax", []string{rec}, "version: STSv1\n", []string{"mx.ex.test"}, []error{ErrPolicySyntax}},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := policyServer(t, ca, serve("text/plain", c.policy), "mta-sts.ex.test")
			rep, err := Check(ctx, resolver.NewMock(c.records...), client, "ex.test", c.mx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %v", rep.Problems, c.want)
			}
			for i, w := range c.want {
				if !errors.Is(rep.Problems[i], w) {
					t.Errorf("problem %d: %v, want %v", i, rep.Problems[i], w)
				}
			}
		})
	}
}

func TestCheckMXCertificate(t *testing.T) {
	ca := testpki.NewCA(t)
	now := time.Now()
	state := func(c tls.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf}}
	}
	good := ca.Leaf(t, time.Time{}, time.Time{}, "mx.ex.test")
	expired := ca.Leaf(t, now.Add(-48*time.Hour), now.Add(-time.Hour), "mx.ex.test")
	if err := CheckMXCertificate(state(good), "mx.ex.test", ca.Pool(), now); err != nil {
		t.Errorf("good: %v", err)
	}
	for name, err := range map[string]error{
		"wrong name": CheckMXCertificate(state(good), "other.ex.test", ca.Pool(), now),
		"expired":    CheckMXCertificate(state(expired), "mx.ex.test", ca.Pool(), now),
		"untrusted":  CheckMXCertificate(state(good), "mx.ex.test", testpki.NewCA(t).Pool(), now),
		"none":       CheckMXCertificate(nil, "mx.ex.test", ca.Pool(), now),
	} {
		if !errors.Is(err, ErrMXCertificate) {
			t.Errorf("%s: %v, want ErrMXCertificate", name, err)
		}
	}
}
