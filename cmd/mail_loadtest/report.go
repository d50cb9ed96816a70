package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

func us(s float64) string  { return fmt.Sprintf("%.0f µs", s*1e6) }
func ms(s float64) string  { return fmt.Sprintf("%.1f ms", s*1e3) }
func mb(kb float64) string {
	if math.IsNaN(kb) {
		return "–"
	}
	return fmt.Sprintf("%.0f MB", kb/1024)
}
func mbB(b float64) string { return fmt.Sprintf("%.1f MB", b/(1<<20)) }

// printExporter prints one line per result (progress, on stderr).
func printExporter(w io.Writer, rs []exporterResult) {
	for _, r := range rs {
		fmt.Fprintf(w, "  exporter %d endpoints: %.1f probes/s ok %.1f%%, CPU %s/probe (%s excl. scrapes), lag p50 %s p99 %s, peak RSS %s, scrape %s (max %s, plain %s) %s raw %s gz, greeting %v, others %.2f cores\n",
			r.Endpoints, r.ProbesPerSec, r.SuccessRatio*100, us(r.CPUPerProbe), us(r.CPUPerProbeNoScr),
			ms(r.LagP50), ms(r.LagP99), mb(float64(r.PeakRSSKB)), ms(r.ScrapeP50), ms(r.ScrapeMax), ms(r.ScrapePlain),
			mbB(float64(r.RawBytes)), mbB(float64(r.WireBytes)), msList(r.Greeting), r.OthersCPU)
	}
}

func msList(v []float64) string {
	out := "["
	for i, x := range v {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%.1f", x*1e3)
	}
	return out + "] ms"
}

// med is the median over runs of one field of the results for n endpoints.
func med[T any](rs []T, keep func(T) bool, f func(T) float64) float64 {
	var v []float64
	for _, r := range rs {
		if keep(r) {
			if x := f(r); !math.IsNaN(x) {
				v = append(v, x)
			}
		}
	}
	return median(v)
}

// report prints the tables and the verdict on each target (markdown).
func report(w io.Writer, o *loadOpts, exps []exporterResult, bases []baselineResult) {
	fmt.Fprintf(w, "\n## mail_loadtest: %v interval, %d run(s), exporter window %v (+%v warm-up), baselines %v (+%v), scrape every %v\n\n",
		o.interval, o.runs, o.duration, o.warmup, o.baseDuration, o.baseWarmup, o.scrapeEvery)
	fmt.Fprintln(w, "| endpoints | probes/s | ok | CPU/probe | CPU/probe excl. scrapes | 15 s windows min–max | lag p50 | lag p99 (max bucket) | peak RSS | /metrics gzip p50 (max) | /metrics plain | size raw / gzip | series | CPU per scrape | delayed greeting p50 (min–max) | others' load |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.sizes {
		is := func(r exporterResult) bool { return r.Endpoints == n }
		m := func(f func(exporterResult) float64) float64 { return med(exps, is, f) }
		var wins, greet []float64
		for _, r := range exps {
			if is(r) {
				wins = append(wins, r.WindowCPU...)
				greet = append(greet, r.Greeting...)
			}
		}
		wmin, wmax, gmin, gmax := math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if len(wins) > 0 {
			wmin, wmax = slices.Min(wins), slices.Max(wins)
		}
		if len(greet) > 0 {
			gmin, gmax = slices.Min(greet), slices.Max(greet)
		}
		fmt.Fprintf(w, "| %d | %.1f | %.1f%% | %s | %s | %s–%s | %s | %s (≤%gs) | %s | %s (%s) | %s | %s / %s | %.0f | %s | %s (%s–%s) | %.2f cores |\n",
			n, m(func(r exporterResult) float64 { return r.ProbesPerSec }),
			100*m(func(r exporterResult) float64 { return r.SuccessRatio }),
			us(m(func(r exporterResult) float64 { return r.CPUPerProbe })),
			us(m(func(r exporterResult) float64 { return r.CPUPerProbeNoScr })),
			us(wmin), us(wmax),
			ms(m(func(r exporterResult) float64 { return r.LagP50 })),
			ms(m(func(r exporterResult) float64 { return r.LagP99 })),
			m(func(r exporterResult) float64 { return r.LagMax }),
			mb(m(func(r exporterResult) float64 { return float64(r.PeakRSSKB) })),
			ms(m(func(r exporterResult) float64 { return r.ScrapeP50 })),
			ms(m(func(r exporterResult) float64 { return r.ScrapeMax })),
			ms(m(func(r exporterResult) float64 { return r.ScrapePlain })),
			mbB(m(func(r exporterResult) float64 { return float64(r.RawBytes) })),
			mbB(m(func(r exporterResult) float64 { return float64(r.WireBytes) })),
			m(func(r exporterResult) float64 { return float64(r.Series) }),
			ms(m(func(r exporterResult) float64 { return r.ScrapeCPU })),
			ms(median(greet)), ms(gmin), ms(gmax),
			m(func(r exporterResult) float64 { return r.OthersCPU }))
	}

	if len(bases) > 0 {
		fmt.Fprintln(w, "\n| endpoints | mail_exporter CPU/probe | floor CPU/probe | ours ÷ floor | blackbox CPU/probe | ours ÷ blackbox | floor, X25519 only | blackbox ÷ floor X25519 | ok: floor, floor X, bb | peak RSS: floor, bb | others' load: floor, floor X, bb |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, n := range o.sizes {
			ours := med(exps, func(r exporterResult) bool { return r.Endpoints == n }, func(r exporterResult) float64 { return r.CPUPerProbe })
			b := func(name string, f func(baselineResult) float64) float64 {
				return med(bases, func(r baselineResult) bool { return r.Endpoints == n && r.Name == name && r.ProbesPerSec > 0 }, f)
			}
			cpu := func(r baselineResult) float64 { return r.CPUPerProbe }
			ok := func(r baselineResult) float64 { return 100 * r.SuccessRatio }
			rss := func(r baselineResult) float64 { return float64(r.PeakRSSKB) }
			oth := func(r baselineResult) float64 { return r.OthersCPU }
			fl, bb, fx := b("floor", cpu), b("blackbox", cpu), b("floor-x25519", cpu)
			fmt.Fprintf(w, "| %d | %s | %s | %.2f× | %s | %.2f× | %s | %.2f× | %.1f%%, %.1f%%, %.1f%% | %s, %s | %.2f, %.2f, %.2f cores |\n",
				n, us(ours), us(fl), ours/fl, us(bb), ours/bb, us(fx), bb/fx,
				b("floor", ok), b("floor-x25519", ok), b("blackbox", ok), mb(b("floor", rss)), mb(b("blackbox", rss)),
				b("floor", oth), b("floor-x25519", oth), b("blackbox", oth))
		}
		for _, r := range bases {
			if r.Err != "" {
				fmt.Fprintf(w, "\n%s at %d endpoints: %s\n", r.Name, r.Endpoints, r.Err)
			}
		}
	}

	// The targets of issue 7.
	fmt.Fprintln(w, "\n| target | figure | verdict |")
	fmt.Fprintln(w, "|---|---|---|")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	for _, n := range o.sizes {
		ours := med(exps, func(r exporterResult) bool { return r.Endpoints == n }, func(r exporterResult) float64 { return r.CPUPerProbe })
		fl := med(bases, func(r baselineResult) bool { return r.Endpoints == n && r.Name == "floor" && r.ProbesPerSec > 0 }, func(r baselineResult) float64 { return r.CPUPerProbe })
		bb := med(bases, func(r baselineResult) bool { return r.Endpoints == n && r.Name == "blackbox" && r.ProbesPerSec > 0 }, func(r baselineResult) float64 { return r.CPUPerProbe })
		if !math.IsNaN(fl) {
			fmt.Fprintf(w, "| CPU/probe ≤ 1.2× floor (%d) | %.2f× | %s |\n", n, ours/fl, verdict(ours/fl <= 1.2))
		}
		if !math.IsNaN(bb) {
			fmt.Fprintf(w, "| CPU/probe ≤ 0.5× blackbox (%d) | %.2f× | %s |\n", n, ours/bb, verdict(ours/bb <= 0.5))
		}
	}
	big := slices.Max(o.sizes)
	isBig := func(r exporterResult) bool { return r.Endpoints == big }
	p99 := med(exps, isBig, func(r exporterResult) float64 { return r.LagP99 })
	rss := med(exps, isBig, func(r exporterResult) float64 { return float64(r.PeakRSSKB) })
	scr := med(exps, isBig, func(r exporterResult) float64 { return r.ScrapeP50 })
	plain := med(exps, isBig, func(r exporterResult) float64 { return r.ScrapePlain })
	fmt.Fprintf(w, "| %d endpoints: schedule lag p99 ≤ 1 s | %s | %s |\n", big, ms(p99), verdict(p99 <= 1))
	fmt.Fprintf(w, "| %d endpoints: peak RSS ≤ 300 MB | %s | %s |\n", big, mb(rss), verdict(rss <= 300*1024))
	fmt.Fprintf(w, "| %d endpoints: /metrics ≤ 250 ms | gzip %s, plain %s | %s |\n", big, ms(scr), ms(plain), verdict(math.Max(scr, plain) <= 0.25))
	if len(o.sizes) > 1 {
		small := slices.Min(o.sizes)
		isSmall := func(r exporterResult) bool { return r.Endpoints == small }
		c0 := med(exps, isSmall, func(r exporterResult) float64 { return r.CPUPerProbe })
		c1 := med(exps, isBig, func(r exporterResult) float64 { return r.CPUPerProbe })
		fmt.Fprintf(w, "| linear: CPU/probe at %d vs %d endpoints | %s vs %s (%+.0f%%) | %s |\n",
			big, small, us(c1), us(c0), 100*(c1/c0-1), verdict(math.Abs(c1/c0-1) <= 0.2))
	}
	var greet []float64
	for _, r := range exps {
		greet = append(greet, r.Greeting...)
	}
	if len(greet) > 0 {
		g := median(greet)
		want := o.greetingDelay.Seconds()
		fmt.Fprintf(w, "| greeting phase of a %v-delayed server = %v ± 5 ms | median %s over %d samples (min %s, max %s) | %s |\n",
			o.greetingDelay, o.greetingDelay, ms(g), len(greet), ms(slices.Min(greet)), ms(slices.Max(greet)),
			verdict(math.Abs(g-want) <= (5*time.Millisecond).Seconds()))
	}
}
