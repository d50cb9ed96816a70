package web

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/report"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// Certificate thresholds, as in the shipped alerts
// (deploy/prometheus/alerts.yml, MailCertificateExpiring): warning under
// 14 days, critical under 3.
const (
	certWarnDays     = 14
	certCriticalDays = 3
)

// checkView is one check as the pages show it.
type checkView struct {
	ID, Kind       string
	Title, Target  string
	Label          string // the check named on its own: "mx1 imaps", "example.com"
	State          string // "ok", "fail", "pending"
	Result, Reason string
	Age            string
	Link, Probe    string

	HasCert   bool
	CertDays  float64
	CertClass string // cert-ok, cert-warn, cert-crit
	CertDate  string

	Samples  []history.Sample
	Slots    int
	Uptime   string // "99.2%", "" before any sample
	UpCount  int
	Latency  string // of the last sample
	Problems []report.Finding
	Failure  *history.Failure
}

// buildView turns a check into its view.
func buildView(c collector.Check, hist *history.Store, now time.Time) (checkView, collector.Detail) {
	st, d := c.Status(), c.Detail(now)
	v := checkView{ID: c.ID(), Kind: st.Kind, Target: st.Target, Result: st.Result, Reason: st.Reason,
		Link: "/check?id=" + url.QueryEscape(c.ID()), Probe: "/probe?" + d.ProbeQuery + "&debug=true"}
	v.Title, v.Label = st.Name, st.Name
	if d.Endpoint != "" {
		v.Label = d.Server + " " + d.Endpoint
		v.Title = d.Endpoint
		v.Target = endpointTarget(d)
	}
	switch {
	case !st.Ran:
		v.State, v.Age = "pending", "not run yet"
	case st.OK:
		v.State = "ok"
	default:
		v.State = "fail"
	}
	if st.Ran {
		v.Age = age(now, st.Finished)
	}
	if !d.ChainNotAfter.IsZero() {
		v.HasCert = true
		v.CertDays = float64(int(d.ChainNotAfter.Sub(now).Hours()/24*10)) / 10
		v.CertDate = d.ChainNotAfter.UTC().Format("2006-01-02")
		v.CertClass = certClass(d.ChainNotAfter.Sub(now))
	}
	for _, it := range d.Items {
		for _, f := range it.Findings {
			if f.Status != report.OK {
				v.Problems = append(v.Problems, f)
			}
		}
	}
	// The worst first: a failing domain leads with its error, not a warning.
	sort.SliceStable(v.Problems, func(i, j int) bool {
		return v.Problems[i].Status == report.Critical && v.Problems[j].Status != report.Critical
	})
	if hist != nil {
		v.Slots = hist.PerCheck()
		v.Samples = hist.Samples(c.ID())
		if f, ok := hist.LastFailure(c.ID()); ok {
			v.Failure = &f
		}
	}
	if n := len(v.Samples); n > 0 {
		for _, s := range v.Samples {
			if s.OK {
				v.UpCount++
			}
		}
		v.Uptime = percent(v.UpCount, n)
		v.Latency = fmtDur(v.Samples[n-1].Total)
	}
	return v, d
}

// endpointTarget is an endpoint row's target under its server's heading,
// which names the host: ":993 imap implicit", with the address dialled
// when the host is a name ("192.0.2.7:993 …", "[2001:db8::7]:993 …").
func endpointTarget(d collector.Detail) string {
	hp := ":" + strconv.Itoa(d.Port)
	if d.Address != "" && d.Address != d.Host {
		hp = net.JoinHostPort(d.Address, strconv.Itoa(d.Port))
	}
	return hp + " " + d.Protocol + " " + d.TLS
}

func certClass(left time.Duration) string {
	switch days := left.Hours() / 24; {
	case days < certCriticalDays:
		return "cert-crit"
	case days < certWarnDays:
		return "cert-warn"
	}
	return "cert-ok"
}

// percent is an uptime for people: 100%, 99.2%, 0%; never rounded up to
// 100% while a failure is in the window.
func percent(up, n int) string {
	if up == n {
		return "100%"
	}
	p := float64(up) * 100 / float64(n)
	s := fmt.Sprintf("%.1f", p)
	if s == "100.0" {
		s = "99.9"
	}
	return strings.TrimSuffix(s, ".0") + "%"
}

func age(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// serverView is one server's checks within a group.
type serverView struct {
	Name, Host string
	Checks     []checkView
}

// groupView is one card of the status page: a domain with its DNS checks
// and the servers under it, or a server under no configured domain.
type groupView struct {
	Key, Kind, Title, Sub string // Kind: "domain" or "server"
	Domain                []checkView
	Servers               []serverView
	Failing, Total        int
	State                 string
}

// endpointOrder is the standard endpoints' order (SPEC section 1 table).
var endpointOrder = map[string]int{"smtp": 1, "submission": 2, "submissions": 3, "imap": 4, "imaps": 5, "pop3": 6, "pop3s": 7}

// group arranges checks by domain and by server. An endpoint belongs to
// the domain that advertised it, else to the configured domain its host is
// in (the longest match); a roundtrip goes with its sending server.
func group(views []checkView, details []collector.Detail) []groupView {
	byKey := map[string]*groupView{}
	get := func(key, kind, title, sub string) *groupView {
		g := byKey[key]
		if g == nil {
			g = &groupView{Key: key, Kind: kind, Title: title, Sub: sub}
			byKey[key] = g
		}
		return g
	}
	var domains []string
	for i, v := range views {
		if v.Kind == "domain" {
			dom := strings.ToLower(details[i].Domain)
			domains = append(domains, dom)
			g := get("domain:"+dom, "domain", dom, "")
			g.Domain = append(g.Domain, v)
		}
	}
	sort.Slice(domains, func(i, j int) bool { return len(domains[i]) > len(domains[j]) })
	for i, v := range views {
		if v.Kind == "domain" {
			continue
		}
		d := details[i]
		dom := strings.ToLower(d.Domain)
		if dom == "" {
			host := strings.ToLower(strings.TrimSuffix(d.Host, "."))
			for _, cand := range domains {
				if host == cand || strings.HasSuffix(host, "."+cand) {
					dom = cand
					break
				}
			}
		}
		var g *groupView
		if dom != "" {
			g = get("domain:"+dom, "domain", dom, "")
		} else {
			g = get("server:"+d.Server, "server", d.Server, d.Host)
		}
		addToServer(g, d.Server, d.Host, v)
	}
	out := make([]groupView, 0, len(byKey))
	for _, g := range byKey {
		for _, s := range g.Servers {
			sort.SliceStable(s.Checks, func(i, j int) bool { return checkLess(s.Checks[i], s.Checks[j]) })
		}
		sort.Slice(g.Servers, func(i, j int) bool { return g.Servers[i].Name < g.Servers[j].Name })
		for _, v := range allChecks(*g) {
			g.Total++
			if v.State == "fail" {
				g.Failing++
			}
		}
		g.State = "ok"
		if g.Failing > 0 {
			g.State = "fail"
		}
		out = append(out, *g)
	}
	// Domains first, then servers on their own, each alphabetically: a
	// wall display keeps every card in its place.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == "domain"
		}
		return out[i].Title < out[j].Title
	})
	return out
}

func addToServer(g *groupView, name, host string, v checkView) {
	for i := range g.Servers {
		if g.Servers[i].Name == name {
			g.Servers[i].Checks = append(g.Servers[i].Checks, v)
			return
		}
	}
	g.Servers = append(g.Servers, serverView{Name: name, Host: host, Checks: []checkView{v}})
}

// checkLess orders endpoints as the standard table does, then others by
// name, then roundtrips.
func checkLess(a, b checkView) bool {
	if (a.Kind == "roundtrip") != (b.Kind == "roundtrip") {
		return b.Kind == "roundtrip"
	}
	oa, ob := endpointOrder[a.Title], endpointOrder[b.Title]
	if oa == 0 {
		oa = 100
	}
	if ob == 0 {
		ob = 100
	}
	if oa != ob {
		return oa < ob
	}
	return a.Title < b.Title
}

func allChecks(g groupView) []checkView {
	out := append([]checkView(nil), g.Domain...)
	for _, s := range g.Servers {
		out = append(out, s.Checks...)
	}
	return out
}
