package roundtrip

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/mail-exporter/mail_exporter/collector/msgauth"
)

type oneResult struct{ r *Result }

func (c oneResult) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c oneResult) Collect(ch chan<- prometheus.Metric) {
	NewDescs().Collect(ch, "loop", c.r, time.Time{})
}

func TestAuthSeries(t *testing.T) {
	names := []string{"mail_roundtrip_dkim_result_info", "mail_roundtrip_dkim_aligned", "mail_roundtrip_auth_results_info"}
	for _, c := range []struct {
		name string
		r    *Result
		want string
	}{
		{"not verified: no series", &Result{Reason: ReasonNotDelivered}, ""},
		{"unsigned: one none series", &Result{Reason: ReasonOK, Success: true, Auth: &msgauth.Report{}}, `
mail_roundtrip_dkim_aligned{roundtrip="loop"} 0
mail_roundtrip_dkim_result_info{domain="",result="none",roundtrip="loop",selector=""} 1
`},
		{"signed twice with one key, and a failing one", &Result{Reason: ReasonOK, Success: true, Auth: &msgauth.Report{
			Aligned: true,
			Signatures: []msgauth.Signature{
				{Domain: "example.com", Selector: "a", Result: msgauth.ResultPass, Aligned: true},
				{Domain: "example.com", Selector: "a", Result: msgauth.ResultPass, Aligned: true},
				{Domain: "example.net", Selector: "b", Result: msgauth.ResultFail, Err: "dkim: body hash did not verify"},
			},
			AuthResults: []msgauth.AuthResult{{AuthservID: "mx.example.com", Method: "dkim", Result: "pass"}},
		}}, `
mail_roundtrip_auth_results_info{authserv_id="mx.example.com",method="dkim",result="pass",roundtrip="loop"} 1
mail_roundtrip_dkim_aligned{roundtrip="loop"} 1
mail_roundtrip_dkim_result_info{domain="example.com",result="pass",roundtrip="loop",selector="a"} 1
mail_roundtrip_dkim_result_info{domain="example.net",result="fail",roundtrip="loop",selector="b"} 1
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.r.Finished = time.Unix(1790000000, 0)
			got, err := testutil.CollectAndFormat(oneResult{c.r}, expfmt.TypeTextPlain, names...)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(got), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if g, w := strings.Join(lines, "\n"), strings.TrimSpace(c.want); g != w {
				t.Errorf("got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
