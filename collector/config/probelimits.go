package config

import "time"

// DefaultMaxProbeSpacing caps the default probe_min_spacing.
const DefaultMaxProbeSpacing = time.Minute

// MinSpacing is the probe_min_spacing of a check that logs in or sends mail
// and runs every interval: the configured value, else min(interval, 60s).
func (g Global) MinSpacing(interval time.Duration) time.Duration {
	if g.ProbeMinSpacing > 0 {
		return g.ProbeMinSpacing
	}
	return min(interval, DefaultMaxProbeSpacing)
}

// probeLimits reads probe_min_spacing and probe_max_in_flight (SPEC 6.1).
func (p *parser) probeLimits(fs fields) {
	g := &p.cfg.Global
	if f := fs["probe_min_spacing"]; f.present() {
		if d := p.duration(f, 1, dur{}); !d.bad {
			g.ProbeMinSpacing = d.d
		}
	}
	if n, ok := p.integer(fs["probe_max_in_flight"]); ok {
		if n < 1 {
			p.errorf(fs["probe_max_in_flight"].line, fs["probe_max_in_flight"].path, "must be at least 1, got %d", n)
		}
		g.ProbeMaxInFlight = n
	}
}
