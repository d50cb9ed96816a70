package capacity

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// MaxHosts is how many hosts Write lists; the rest are summed up.
const MaxHosts = 10

// Write prints l for a terminal: the totals, the concurrency they need
// against global.concurrency, and the busiest hosts against
// host_concurrency. A "!" marks a need above the configured limit.
func Write(w io.Writer, l Load) error {
	var b strings.Builder
	fmt.Fprintf(&b, "load asked for: %d endpoint probes, %.2f/s; %.1f logins/min; %.1f domain checks/min; %.1f roundtrips/min\n",
		l.Endpoints, l.ProbesPerSec, l.LoginsPerMin, l.DomainsPerMin, l.RoundtripPerMin)
	fmt.Fprintf(&b, "probes in flight needed (global.concurrency %d):", l.Concurrency)
	for i, d := range PerProbe {
		n := Needed(l.ProbesPerSec, d)
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %d at %v per probe%s", sep, n, d, mark(n, l.Concurrency))
	}
	b.WriteString("\n")
	if len(l.Hosts) > 0 {
		fmt.Fprintf(&b, "per host (host_concurrency %d; a host with several addresses gets this on each):\n", l.HostConcurrency)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  host\tendpoints\tprobes/s\tlogins/min")
		for _, d := range PerProbe {
			fmt.Fprintf(tw, "\tneeded at %v", d)
		}
		fmt.Fprintln(tw)
		for i, h := range l.Hosts {
			if i == MaxHosts {
				break
			}
			fmt.Fprintf(tw, "  %s\t%d\t%.2f\t%.1f", h.Host, h.Endpoints, h.ProbesPerSec, h.LoginsPerMin)
			for _, d := range PerProbe {
				n := Needed(h.ProbesPerSec, d)
				fmt.Fprintf(tw, "\t%d%s", n, mark(n, l.HostConcurrency))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		if rest := l.Hosts[min(len(l.Hosts), MaxHosts):]; len(rest) > 0 {
			var p float64
			for _, h := range rest {
				p += h.ProbesPerSec
			}
			fmt.Fprintf(&b, "  ... and %d more hosts, %.2f probes/s together\n", len(rest), p)
		}
	}
	if over(l) {
		b.WriteString("! = above the limit: at that time per probe the schedule cannot be kept (runs would be skipped);\n" +
			"  raise global.concurrency or host_concurrency, add a shard (--shard.count), or lengthen intervals.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mark(need, limit int) string {
	if need > limit {
		return " !"
	}
	return ""
}

func over(l Load) bool {
	for _, d := range PerProbe {
		if Needed(l.ProbesPerSec, d) > l.Concurrency {
			return true
		}
		for _, h := range l.Hosts {
			if Needed(h.ProbesPerSec, d) > l.HostConcurrency {
				return true
			}
		}
	}
	return false
}
