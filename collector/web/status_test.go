package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/fakes"
)

func TestStatusPage(t *testing.T) {
	exp := newExporter(t, "")
	exp.RunAll(context.Background())
	rec := httptest.NewRecorder()
	Status(exp, "test", discard).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	for _, want := range []string{"fake/imaps", "fake/submission", "OK", "days", "0 failing"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, fakes.Password) {
		t.Error("status page leaks the password")
	}
}
