package dnspeers

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A record removed from a zone by Reload is gone from unbound's answers once its TTL
// runs out.
func TestReloadRemovesRecord(t *testing.T) {
	p := Start(t, Zone{Name: "reload.test", Records: "mail 1 A 127.0.0.2\nmail 1 AAAA ::1\n"})
	aaaa := func() int {
		r, err := query(p.Resolver, "mail.reload.test", dns.TypeAAAA)
		if err != nil {
			t.Fatal(err)
		}
		return len(r.Answer)
	}
	if n := aaaa(); n != 1 {
		t.Fatalf("%d AAAA records before the reload, want 1", n)
	}
	if err := p.Reload(Zone{Name: "reload.test", Records: "mail 1 A 127.0.0.2\n", Serial: 1}); err == nil {
		t.Error("a reload without a higher serial was accepted")
	}
	if err := p.Reload(Zone{Name: "reload.test", Records: "mail 1 A 127.0.0.2\n", Serial: 2}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for aaaa() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("unbound still answers the removed AAAA 5s after the reload")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
