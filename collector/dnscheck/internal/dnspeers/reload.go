package dnspeers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/miekg/dns"
)

// knotcBin controls the running knotd.
const knotcBin = "/usr/sbin/knotc"

// Reload replaces a served zone's records: it rewrites the zone file (z.Serial must be
// higher than the served one), has knot reload it (knotc zone-reload) and waits until
// knot serves the new serial. unbound keeps what it cached until the records' TTL runs
// out: give records that a test changes a short TTL ("mail 1 A 127.0.0.2").
func (p *Peers) Reload(z Zone) error {
	if z.Serial <= 1 {
		return fmt.Errorf("dnspeers: reload %s: give a serial above 1", z.Name)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "zones", fqdn(z.Name)+"zone"), []byte(zoneFile(z)), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, knotcBin, "-s", filepath.Join(p.Dir, "knot.sock"), "zone-reload", fqdn(z.Name)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("dnspeers: knotc zone-reload %s: %v: %s", z.Name, err, out)
	}
	for ctx.Err() == nil {
		r, err := query(p.Auth, z.Name, dns.TypeSOA)
		if err == nil && len(r.Answer) > 0 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == z.Serial {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("dnspeers: knot never served serial %d of %s", z.Serial, z.Name)
}
