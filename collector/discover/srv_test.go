package discover

import (
	"fmt"
	"strings"
	"testing"
)

// srvs parses "prio weight port target" records separated by commas.
func srvs(s string) []SRVRecord {
	var out []SRVRecord
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var r SRVRecord
		if _, err := fmt.Sscanf(f, "%d %d %d %s", &r.Priority, &r.Weight, &r.Port, &r.Target); err != nil {
			panic(f + ": " + err.Error())
		}
		if r.Target == "." {
			r.Target = ""
		}
		out = append(out, r)
	}
	return out
}

func names(recs []SRVRecord) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}

func TestSelectSRV(t *testing.T) {
	for _, c := range []struct {
		in, want   string
		notOffered bool
		invalid    string
	}{
		{in: "", want: ""},
		{in: "0 1 993 imap.ex.test", want: "0 1 993 imap.ex.test"},
		{in: "0 0 0 .", notOffered: true},
		{in: "0 0 0 ., 0 0 0 .", notOffered: true},
		// The lowest priority wins; backups are not offered.
		{in: "20 0 993 backup.ex.test, 10 0 993 main.ex.test", want: "10 0 993 main.ex.test"},
		// Same priority: every weighted target, heaviest first; weight 0 drops out.
		{in: "10 0 993 z.ex.test, 10 20 993 b.ex.test, 10 60 993 c.ex.test, 20 90 993 d.ex.test",
			want: "10 60 993 c.ex.test, 10 20 993 b.ex.test"},
		// All weight 0: all of them, by name.
		{in: "5 0 993 b.ex.test, 5 0 993 a.ex.test", want: "5 0 993 a.ex.test, 5 0 993 b.ex.test"},
		// Equal weights: by name, then port.
		{in: "5 1 995 a.ex.test, 5 1 993 a.ex.test", want: "5 1 993 a.ex.test, 5 1 995 a.ex.test"},
		// Duplicates count once.
		{in: "0 1 993 a.ex.test, 0 1 993 a.ex.test", want: "0 1 993 a.ex.test"},
		// Unusable records are reported and ignored.
		{in: "0 1 0 a.ex.test, 10 1 993 b.ex.test", want: "10 1 993 b.ex.test", invalid: "port 0"},
		{in: "0 0 0 ., 10 1 993 b.ex.test", want: "10 1 993 b.ex.test", invalid: `"." (not offered) mixed with 1 other records`},
		{in: "0 1 0 a.ex.test", want: "", invalid: "port 0"},
	} {
		s := SelectSRV(srvs(c.in))
		if names(s.Preferred) != c.want || s.NotOffered != c.notOffered || !strings.Contains(strings.Join(s.Invalid, "; "), c.invalid) ||
			(c.invalid == "") != (len(s.Invalid) == 0) {
			t.Errorf("%q: preferred %q notOffered %v invalid %q; want %q %v %q", c.in, names(s.Preferred), s.NotOffered, s.Invalid, c.want, c.notOffered, c.invalid)
		}
	}
}

func TestEndpointName(t *testing.T) {
	for _, c := range []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{Protocol: "smtp", Port: 25, TLS: "starttls"}, "smtp"},
		{Endpoint{Protocol: "smtp", Port: 587, TLS: "starttls"}, "submission"},
		{Endpoint{Protocol: "smtp", Port: 465, TLS: "implicit"}, "submissions"},
		{Endpoint{Protocol: "imap", Port: 143, TLS: "starttls"}, "imap"},
		{Endpoint{Protocol: "imap", Port: 993, TLS: "implicit"}, "imaps"},
		{Endpoint{Protocol: "pop3", Port: 110, TLS: "starttls"}, "pop3"},
		{Endpoint{Protocol: "pop3", Port: 995, TLS: "implicit"}, "pop3s"},
		{Endpoint{Protocol: "imap", Port: 993, TLS: "starttls"}, "imap-993-starttls"},
		{Endpoint{Protocol: "imap", Port: 143, TLS: "none"}, "imap-143-none"},
		{Endpoint{Protocol: "smtp", Port: 2525, TLS: "starttls"}, "smtp-2525-starttls"},
	} {
		if got := EndpointName(c.ep.Protocol, c.ep.Port, c.ep.TLS); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ep, got, c.want)
		}
	}
}
