// Package capacity works out the load a configuration asks for, before it
// runs: probes per second and logins per minute, in total and per host, and
// the concurrency that needs at a given time per probe (Little's law: runs
// in flight = runs per second × seconds per run). `mail_exporter
// --config.check` prints it, so that a schedule the exporter cannot keep
// (SPEC 6.5) is seen before it is deployed.
package capacity

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// PerProbe are the times per probe the needed concurrency is given for.
var PerProbe = []time.Duration{100 * time.Millisecond, time.Second}

// Load is what one configuration asks for.
type Load struct {
	Endpoints        int
	ProbesPerSec     float64 // endpoint probes (each address of a host counts once more: see Hosts)
	LoginsPerMin     float64 // endpoint probes with a credential, plus two per roundtrip run
	DomainsPerMin    float64
	RoundtripPerMin  float64
	Concurrency      int // global.concurrency
	HostConcurrency  int // global.host_concurrency
	Hosts            []Host
	ShortestInterval time.Duration
}

// Host is the load on one configured host name (or address). A name that
// resolves to several addresses gets this load on each of them.
type Host struct {
	Host         string
	Endpoints    int
	ProbesPerSec float64
	LoginsPerMin float64
}

// Of returns the load cfg asks for. Hosts are sorted by probes per second,
// busiest first, then by name.
func Of(cfg *config.Config) Load {
	l := Load{Concurrency: cfg.Global.Concurrency, HostConcurrency: cfg.Global.HostConcurrency}
	hosts := map[string]*Host{}
	shortest := func(d time.Duration) {
		if d > 0 && (l.ShortestInterval == 0 || d < l.ShortestInterval) {
			l.ShortestInterval = d
		}
	}
	for _, s := range cfg.Servers {
		key := strings.ToLower(strings.TrimSuffix(s.Host, "."))
		h := hosts[key]
		if h == nil {
			h = &Host{Host: key}
			hosts[key] = h
		}
		for _, ep := range s.Endpoints {
			if ep.Interval <= 0 {
				continue
			}
			shortest(ep.Interval)
			rate := 1 / ep.Interval.Seconds()
			l.Endpoints++
			h.Endpoints++
			l.ProbesPerSec += rate
			h.ProbesPerSec += rate
			if ep.Credential != nil {
				l.LoginsPerMin += 60 * rate
				h.LoginsPerMin += 60 * rate
			}
		}
	}
	for _, d := range cfg.Domains {
		if d.Interval > 0 {
			shortest(d.Interval)
			l.DomainsPerMin += 60 / d.Interval.Seconds()
		}
	}
	for _, rt := range cfg.Roundtrips {
		if rt.Interval > 0 {
			shortest(rt.Interval)
			l.RoundtripPerMin += 60 / rt.Interval.Seconds()
			l.LoginsPerMin += 2 * 60 / rt.Interval.Seconds() // submission and IMAP
		}
	}
	for _, h := range hosts {
		if h.Endpoints > 0 {
			l.Hosts = append(l.Hosts, *h)
		}
	}
	sort.Slice(l.Hosts, func(i, j int) bool {
		if l.Hosts[i].ProbesPerSec != l.Hosts[j].ProbesPerSec {
			return l.Hosts[i].ProbesPerSec > l.Hosts[j].ProbesPerSec
		}
		return l.Hosts[i].Host < l.Hosts[j].Host
	})
	return l
}

// Needed is the concurrency rate runs per second need at perRun each,
// rounded up.
func Needed(rate float64, perRun time.Duration) int {
	return int(math.Ceil(rate*perRun.Seconds() - 1e-9))
}
