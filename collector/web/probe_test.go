package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

func TestProbeHandler(t *testing.T) {
	exp := newQuietExporter(t, "")
	h := Probe(exp)
	get := func(q string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?"+q, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	for _, q := range []string{"server=fake&endpoint=nope", "server=other&endpoint=imaps", "domain=example.org", "roundtrip=x"} {
		if code, _ := get(q); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", q, code)
		}
	}
	if code, _ := get("host=127.0.0.1"); code != http.StatusBadRequest {
		t.Errorf("no check named: status %d, want 400", code)
	}
	code, body := get("server=fake&endpoint=submission&debug=true")
	if code != 200 || !strings.Contains(body, "C: AUTH PLAIN ****") || !strings.Contains(body, "mail_probe_success") {
		t.Errorf("debug answer %d:\n%s", code, body)
	}
	if strings.Contains(body, fakes.Password) || strings.Contains(body, "AG1vbml0b3JA") {
		t.Errorf("debug output leaks the password:\n%s", body)
	}
	// It logs in: within probe_min_spacing the next request is answered
	// from that run.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?server=fake&endpoint=submission", nil))
	body = rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("X-Mail-Exporter-Cached") == "" ||
		!strings.Contains(body, `mail_probe_success{address="127.0.0.1",endpoint="submission",family="ipv4"`) ||
		!strings.Contains(body, `mail_probe_addresses_up{endpoint="submission"`) || strings.Contains(body, `endpoint="imaps"`) {
		t.Errorf("probe answer %d, cached %q:\n%s", rec.Code, rec.Header().Get("X-Mail-Exporter-Cached"), body)
	}
	// An on-demand probe is not stored: /metrics shows the schedule's results.
	if n := testutil.CollectAndCount(exp, "mail_probe_success"); n != 0 {
		t.Errorf("/probe stored a result (%d series)", n)
	}
}
