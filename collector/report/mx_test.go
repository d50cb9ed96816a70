package report

import (
	"strings"
	"testing"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
)

// TestBannerFindings: the greeting's and the EHLO reply's host names are each held
// against the PTR names of the address and the MX name (the EHLO name only where it
// differs from the greeting's).
func TestBannerFindings(t *testing.T) {
	smtp := &config.Endpoint{Name: "smtp", Protocol: config.SMTP, Port: 25, TLS: config.TLSStartTLS}
	ptr := []string{"mx1.example.com"}
	for _, tc := range []struct {
		name, host string
		b          banner.Facts
		want       []string // "code: message" of each banner finding, in order
	}{
		{"all agree", "mx1.example.com", banner.Facts{GreetingHost: "mx1.example.com", EHLOHost: "mx1.example.com", PTRChecked: true, PTRNames: ptr}, nil},
		{"no EHLO name", "mx1.example.com", banner.Facts{GreetingHost: "mx1.example.com", PTRChecked: true, PTRNames: ptr}, nil},
		{"EHLO differs from PTR and MX", "mx1.example.com",
			banner.Facts{GreetingHost: "mx1.example.com", EHLOHost: "other.example.net", PTRChecked: true, PTRNames: ptr},
			[]string{"banner_ptr_mismatch: EHLO reply names other.example.net, but the address dialled has PTR mx1.example.com",
				"banner_mx_mismatch: EHLO reply names other.example.net, not the MX name mx1.example.com"}},
		{"greeting differs, EHLO agrees", "mx1.example.com",
			banner.Facts{GreetingHost: "smtp.example.net", EHLOHost: "mx1.example.com", PTRChecked: true, PTRNames: ptr},
			[]string{"banner_ptr_mismatch: greeting names smtp.example.net, but the address dialled has PTR mx1.example.com",
				"banner_mx_mismatch: greeting names smtp.example.net, not the MX name mx1.example.com"}},
		{"no PTR record, address literal", "192.0.2.25",
			banner.Facts{GreetingHost: "mx1.example.com", EHLOHost: "mx1.example.com", PTRChecked: true},
			[]string{"banner_ptr_mismatch: greeting names mx1.example.com, but the address dialled has no PTR record"}},
		{"PTR not looked up", "MX1.example.com.", banner.Facts{GreetingHost: "mx1.example.com", EHLOHost: "mx1.example.com"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			var got []string
			for _, f := range mxFindings(tc.host, smtp, &probe.Result{Success: true, Banner: &b}) {
				got = append(got, f.Code+": "+f.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
