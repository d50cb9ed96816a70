package resolver

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Mock is an in-memory resolver for tests: records in zone-file syntax, names
// that fail, and zones whose answers carry the AD bit.
//
// A name exists when it or a name below it owns a record (RFC 8020); other
// names are NXDOMAIN. CNAMEs are followed as a recursive resolver would.
type Mock struct {
	mu      sync.Mutex
	rrs     []dns.RR
	fail    map[string]bool // "name" or "name TYPE" answers SERVFAIL
	secure  []string        // zones with authenticated answers
	queries []string
}

// NewMock returns a mock serving the records, given in zone-file syntax
// ("a.example. 300 IN MX 10 mx.example."); it panics on a bad record.
func NewMock(records ...string) *Mock {
	m := &Mock{fail: map[string]bool{}}
	m.Add(records...)
	return m
}

// Add adds records in zone-file syntax; it panics on a bad one.
func (m *Mock) Add(records ...string) *Mock {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil || rr == nil {
			panic(fmt.Sprintf("mock record %q: %v", s, err))
		}
		m.rrs = append(m.rrs, rr)
	}
	return m
}

// Fail makes lookups fail with SERVFAIL: "name" for every type, "name TYPE"
// for one type.
func (m *Mock) Fail(keys ...string) *Mock {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		name, typ, _ := strings.Cut(k, " ")
		m.fail[strings.TrimSpace(dns.CanonicalName(name)+" "+strings.ToUpper(typ))] = true
	}
	return m
}

// Secure marks zones whose answers (positive and negative) carry the AD bit.
func (m *Mock) Secure(zones ...string) *Mock {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, z := range zones {
		m.secure = append(m.secure, dns.CanonicalName(z))
	}
	return m
}

// Queries returns the lookups made so far, as "name TYPE".
func (m *Mock) Queries() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.queries...)
}

// Lookup implements Resolver.
func (m *Mock) Lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	if err := ctx.Err(); err != nil {
		return Answer{}, fmt.Errorf("%w: %v", ErrDNS, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	name = dns.CanonicalName(name)
	tname := dns.TypeToString[qtype]
	m.queries = append(m.queries, name+" "+tname)

	a := Answer{AuthenticatedData: true}
	for hops := 0; hops < 8; hops++ {
		if m.fail[name] || m.fail[name+" "+tname] {
			return Answer{Rcode: dns.RcodeServerFailure}, rcodeError(name, qtype, dns.RcodeServerFailure)
		}
		a.AuthenticatedData = a.AuthenticatedData && m.isSecure(name)
		var cname *dns.CNAME
		found := false
		for _, rr := range m.rrs {
			h := rr.Header()
			if dns.CanonicalName(h.Name) != name {
				continue
			}
			if h.Rrtype == qtype {
				a.Records = append(a.Records, dns.Copy(rr))
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				cname = c
			}
		}
		if found || cname == nil {
			if !found && !m.exists(name) {
				a.Rcode = dns.RcodeNameError
			}
			return a, nil
		}
		a.Records = append(a.Records, dns.Copy(cname))
		name = dns.CanonicalName(cname.Target)
	}
	return Answer{Rcode: dns.RcodeServerFailure}, rcodeError(name, qtype, dns.RcodeServerFailure)
}

func (m *Mock) exists(name string) bool {
	for _, rr := range m.rrs {
		if dns.IsSubDomain(name, dns.CanonicalName(rr.Header().Name)) {
			return true
		}
	}
	return false
}

func (m *Mock) isSecure(name string) bool {
	for _, z := range m.secure {
		if dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}
