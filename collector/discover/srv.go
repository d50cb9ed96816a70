package discover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/resolver"
)

// Service is one SRV service label for mail clients.
type Service struct {
	Label    string // "_imaps._tcp"
	Protocol config.Protocol
	TLS      config.TLSMode
	Family   string // "submission", "imap" or "pop3": what autoconfig is compared by
}

// Services are the labels of RFC 6186 3 (plaintext with STARTTLS expected)
// and RFC 8314 5.1 (implicit TLS).
var Services = []Service{
	{"_submission._tcp", config.SMTP, config.TLSStartTLS, "submission"},
	{"_submissions._tcp", config.SMTP, config.TLSImplicit, "submission"},
	{"_imap._tcp", config.IMAP, config.TLSStartTLS, "imap"},
	{"_imaps._tcp", config.IMAP, config.TLSImplicit, "imap"},
	{"_pop3._tcp", config.POP3, config.TLSStartTLS, "pop3"},
	{"_pop3s._tcp", config.POP3, config.TLSImplicit, "pop3"},
}

// SRVRecord is one SRV record of a service.
type SRVRecord struct {
	Priority, Weight, Port uint16
	Target                 string // lower-case, no trailing dot; "" for "."
}

func (r SRVRecord) String() string {
	t := r.Target
	if t == "" {
		t = "."
	}
	return fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, t)
}

// Selection is what one service's records advertise.
type Selection struct {
	// Preferred are the targets clients use (RFC 2782): those of the lowest
	// priority, and among them only those with a weight above 0 when any
	// has one (a weight-0 record is picked almost never while others have
	// weight, RFC 2782 "Weight"). Ordered by weight, heaviest first, then by
	// target and port. Targets of higher priority values are backups that
	// clients reach only when every preferred target fails: they are neither
	// offered for probing nor verified, so a monitored backup must be
	// configured as a server of its own.
	Preferred []SRVRecord
	// NotOffered: the only records are "." (RFC 2782, RFC 6186 3.4: the
	// service is decidedly not available).
	NotOffered bool
	// Invalid describes the records that were ignored: port 0 on a real
	// target, "." mixed with other records.
	Invalid []string
}

// SelectSRV applies RFC 2782 and RFC 6186 3.4 to one service's records.
func SelectSRV(recs []SRVRecord) Selection {
	var s Selection
	var usable []SRVRecord
	nulls := 0
	for _, r := range recs {
		switch {
		case r.Target == "":
			nulls++
		case r.Port == 0:
			s.Invalid = append(s.Invalid, fmt.Sprintf("%q: port 0", r.String()))
		case !slices.Contains(usable, r):
			usable = append(usable, r)
		}
	}
	if nulls > 0 && nulls == len(recs) {
		s.NotOffered = true
		return s
	}
	if nulls > 0 {
		s.Invalid = append(s.Invalid, fmt.Sprintf(`"." (not offered) mixed with %d other records`, len(recs)-nulls))
	}
	if len(usable) == 0 {
		return s
	}
	best := slices.MinFunc(usable, func(a, b SRVRecord) int { return cmp.Compare(a.Priority, b.Priority) }).Priority
	weighted := slices.ContainsFunc(usable, func(r SRVRecord) bool { return r.Priority == best && r.Weight > 0 })
	for _, r := range usable {
		if r.Priority == best && (r.Weight > 0 || !weighted) {
			s.Preferred = append(s.Preferred, r)
		}
	}
	slices.SortFunc(s.Preferred, func(a, b SRVRecord) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), strings.Compare(a.Target, b.Target), cmp.Compare(a.Port, b.Port))
	})
	return s
}

// srvService is one service as read.
type srvService struct {
	svc     Service
	records []SRVRecord
	sel     Selection
	err     error
}

// srvRead is the SRV source of one domain.
type srvRead struct {
	services []srvService
	err      error // lookups that failed
}

func readSRV(ctx context.Context, r resolver.Resolver, domain string) *srvRead {
	out := &srvRead{services: make([]srvService, len(Services))}
	done := make(chan struct{}, len(Services))
	for i, svc := range Services {
		go func() {
			defer func() { done <- struct{}{} }()
			s := srvService{svc: svc}
			defer func() {
				if p := recover(); p != nil {
					s.err = fmt.Errorf("internal error: %v", p)
				}
				out.services[i] = s
			}()
			a, err := r.Lookup(ctx, svc.Label+"."+domain, dns.TypeSRV)
			if err != nil {
				s.err = err
				return
			}
			for _, rr := range resolver.Of[*dns.SRV](a) {
				s.records = append(s.records, SRVRecord{Priority: rr.Priority, Weight: rr.Weight, Port: rr.Port,
					Target: strings.TrimSuffix(strings.ToLower(rr.Target), ".")})
			}
			s.sel = SelectSRV(s.records)
		}()
	}
	for range Services {
		<-done
	}
	var errs []error
	for _, s := range out.services {
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	out.err = errors.Join(errs...)
	return out
}

// adverts are the preferred targets of every service.
func (s *srvRead) adverts() []advert {
	var out []advert
	for _, svc := range s.services {
		for _, r := range svc.sel.Preferred {
			out = append(out, advert{
				ep:     Endpoint{Host: r.Target, Protocol: svc.svc.Protocol, Port: int(r.Port), TLS: svc.svc.TLS},
				source: SourceSRV, family: svc.svc.Family, where: svc.svc.Label,
			})
		}
	}
	return out
}

// present: at least one SRV record for one of the services.
func (s *srvRead) present() bool {
	return slices.ContainsFunc(s.services, func(svc srvService) bool { return len(svc.records) > 0 })
}

// view is what SRV says of a family: the host:port pairs of its preferred
// targets, or that it is not offered ("." for a label, no target for the
// other). known is false when SRV says nothing about the family.
func (s *srvRead) view(family string) (set map[string]bool, notOffered, known bool) {
	set = map[string]bool{}
	for _, svc := range s.services {
		if svc.svc.Family != family {
			continue
		}
		notOffered = notOffered || svc.sel.NotOffered
		for _, r := range svc.sel.Preferred {
			set[hostPort(r.Target, int(r.Port))] = true
		}
	}
	if len(set) > 0 {
		return set, false, true
	}
	return set, notOffered, notOffered
}

// check builds the srv check from the records, the verification outcomes
// and the autoconfig file (for disagreements).
func (s *srvRead) check(outcomes map[string]outcome, ac *acRead) *dnscheck.CheckResult {
	b := newBuilder()
	if s.err != nil {
		b.fail(s.err)
	}
	if s.err == nil && !s.present() {
		b.add("srv_missing", "no SRV record at _submission, _submissions, _imap, _imaps, _pop3 or _pop3s ._tcp")
	}
	for _, svc := range s.services {
		for _, inv := range svc.sel.Invalid {
			b.add("srv_invalid", svc.svc.Label+": "+inv)
		}
	}
	for _, a := range s.adverts() {
		o := outcomes[a.ep.Key()]
		if o.lookupErr != nil {
			b.fail(o.lookupErr)
			continue
		}
		if code := o.code(SourceSRV); code != "" {
			b.add(code, a.where+" "+hostPort(a.ep.Host, a.ep.Port)+": "+o.detail)
		}
	}
	if ac != nil {
		for _, d := range disagreements(s, ac) {
			b.add("srv_autoconfig_mismatch", d)
		}
	}
	return b.done(s.present())
}
