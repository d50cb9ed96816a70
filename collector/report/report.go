// Package report turns check results into the report `mail_exporter check`
// prints: grouped the way mail admins think (incoming, outgoing, inbound
// MX, DNS), one line per check with the figure that matters, and for every
// warning or failure a plain sentence on what it means and how to fix it.
// The JSON form is a stable, documented schema (see README).
package report

import (
	"net/netip"
	"time"
)

// Status is the outcome of one item, and of the whole report.
type Status string

const (
	OK       Status = "ok"
	Warning  Status = "warning"
	Critical Status = "critical"
	Unknown  Status = "unknown" // the check could not judge: its lookups failed, or nothing was checked
	// NotApplicable: the check had nothing to look at (DANE for a domain
	// without MX hosts). It counts as OK for the overall status.
	NotApplicable Status = "not_applicable"
)

// rank orders statuses by severity when summarising items: a check that
// could not judge (Unknown) is worse than a warning, better than a
// failure. Only as an exit code does Unknown rank above Critical (3).
func (s Status) rank() int {
	switch s {
	case OK, NotApplicable:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	}
	return 3
}

// ExitCode is the monitoring-plugins convention: 0 OK, 1 warning,
// 2 critical, 3 unknown.
func (s Status) ExitCode() int {
	switch s {
	case OK, NotApplicable:
		return 0
	case Warning:
		return 1
	case Critical:
		return 2
	}
	return 3
}

// worse returns the more severe of a and b.
func worse(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Finding is one thing wrong with an item.
type Finding struct {
	Status  Status `json:"status"`
	Code    string `json:"code"`    // a result reason, a certificate error or a DNS problem code
	Message string `json:"message"` // what was found
	Advice  string `json:"advice"`  // what it means and what to do
}

// Item is one line of the report: an endpoint, or one DNS check.
type Item struct {
	Status     Status             `json:"status"`
	Name       string             `json:"name"`    // "imaps mail.example.com:993", "spf"
	Summary    string             `json:"summary"` // the figures that matter
	Findings   []Finding          `json:"findings"`
	Figures    map[string]float64 `json:"figures,omitempty"` // machine-readable figures, e.g. cert_days_left
	Transcript string             `json:"transcript,omitempty"`
	// Address is the IP an endpoint probe dialled; every address of a host
	// is an item of its own. Empty when the host did not resolve.
	Address string `json:"address,omitempty"`
}

// AtAddress names the address an endpoint item probed: "imaps
// mail.example.com:993 (imap, implicit) at 2001:db8::1 (ipv6)". An item of
// an IP literal host already names it and only gets Address.
func (it *Item) AtAddress(host string, a netip.Addr) {
	if !a.IsValid() {
		return
	}
	it.Address = a.String()
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap() == a.Unmap() {
		return
	}
	family := "ipv6"
	if a.Unmap().Is4() {
		family = "ipv4"
	}
	it.Name += " at " + a.String() + " (" + family + ")"
}

// Section groups items.
type Section struct {
	Name  string `json:"name"` // incoming, outgoing, mx, dns, roundtrip, other
	Title string `json:"title"`
	Items []Item `json:"items"`
}

// Report is what one `check` run found.
type Report struct {
	Schema   int       `json:"schema"` // 1; bumped on incompatible changes
	Target   string    `json:"target"`
	Status   Status    `json:"status"`
	ExitCode int       `json:"exit_code"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds"`
	Sections []Section `json:"sections"`
}

// Section names and titles, in report order.
var sectionTitles = []struct{ name, title string }{
	{"incoming", "Incoming (IMAP/POP3)"},
	{"outgoing", "Outgoing (submission)"},
	{"mx", "Inbound MX (port 25)"},
	{"dns", "DNS and authentication records"},
	{"roundtrip", "End-to-end delivery"},
}

// New starts an empty report.
func New(target string, started time.Time) *Report {
	r := &Report{Schema: 1, Target: target, Status: OK, Started: started}
	for _, s := range sectionTitles {
		r.Sections = append(r.Sections, Section{Name: s.name, Title: s.title})
	}
	return r
}

// Add puts item into the named section.
func (r *Report) Add(section string, item Item) {
	if item.Findings == nil {
		item.Findings = []Finding{}
	}
	for i := range r.Sections {
		if r.Sections[i].Name == section {
			r.Sections[i].Items = append(r.Sections[i].Items, item)
			return
		}
	}
	r.Sections = append(r.Sections, Section{Name: section, Title: section, Items: []Item{item}})
}

// Finish computes the overall status and drops empty sections.
func (r *Report) Finish(now time.Time) {
	r.Duration = now.Sub(r.Started).Seconds()
	st := OK
	var kept []Section
	for _, s := range r.Sections {
		if len(s.Items) == 0 {
			continue
		}
		kept = append(kept, s)
		for _, it := range s.Items {
			st = worse(st, it.Status)
		}
	}
	if kept == nil {
		st = Unknown // nothing was checked
		kept = []Section{}
	}
	r.Sections, r.Status, r.ExitCode = kept, st, st.ExitCode()
}

// itemStatus is the worst status of the findings, OK when none.
func itemStatus(fs []Finding) Status {
	st := OK
	for _, f := range fs {
		st = worse(st, f.Status)
	}
	return st
}
