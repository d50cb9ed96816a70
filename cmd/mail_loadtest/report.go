package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

func us(s float64) string { return fmt.Sprintf("%.0f µs", s*1e6) }
func ms(s float64) string { return fmt.Sprintf("%.1f ms", s*1e3) }
func mb(kb float64) string {
	if math.IsNaN(kb) {
		return "–"
	}
	return fmt.Sprintf("%.0f MB", kb/1024)
}
func mbB(b float64) string { return fmt.Sprintf("%.1f MB", b/(1<<20)) }
func x(r float64) string   { return fmt.Sprintf("%.2f×", r) }

// printExporter prints one line per result (progress, on stderr).
func printExporter(w io.Writer, rs []exporterResult) {
	for _, r := range rs {
		fmt.Fprintf(w, "  exporter %d endpoints: %.1f probes/s ok %.1f%%, CPU %s/probe (%s excl. scrapes), lag p50 %s p99 %s, peak RSS %s, scrape %s (max %s, plain %s) %s raw %s gz, greeting %v, others %.2f (max %.2f) cores\n",
			r.Endpoints, r.ProbesPerSec, r.SuccessRatio*100, us(r.CPUPerProbe), us(r.CPUPerProbeNoScr),
			ms(r.LagP50), ms(r.LagP99), mb(float64(r.PeakRSSKB)), ms(r.ScrapeP50), ms(r.ScrapeMax), ms(r.ScrapePlain),
			mbB(float64(r.RawBytes)), mbB(float64(r.WireBytes)), msList(r.Greeting), r.OthersCPU, r.OthersMax)
		if f := r.Floor; f != nil {
			fmt.Fprintf(w, "  floor in the same window: %.1f probes/s ok %.1f%%, CPU %s/probe %s → mail_exporter ÷ floor = %s\n",
				f.ProbesPerSec, f.SuccessRatio*100, us(f.CPUPerProbe), f.Err, x(r.CPUPerProbe/f.CPUPerProbe))
		}
	}
}

func printBaseline(w io.Writer, b baselineResult) {
	fmt.Fprintf(w, "  %s: %.1f probes/s ok %.1f%%, CPU %s/probe, peak RSS %s %s\n",
		b.Name, b.ProbesPerSec, b.SuccessRatio*100, us(b.CPUPerProbe), mb(float64(b.PeakRSSKB)), b.Err)
	if f := b.Floor; f != nil {
		fmt.Fprintf(w, "  floor in the same window: %.1f probes/s, CPU %s/probe %s → %s ÷ floor = %s\n",
			f.ProbesPerSec, us(f.CPUPerProbe), f.Err, b.Name, x(b.CPUPerProbe/f.CPUPerProbe))
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

// med is the median of f over the results rs that keep selects.
func med[T any](rs []T, keep func(T) bool, f func(T) float64) float64 {
	var v []float64
	for _, r := range rs {
		if keep(r) {
			if x := f(r); !math.IsNaN(x) && !math.IsInf(x, 0) {
				v = append(v, x)
			}
		}
	}
	return median(v)
}

// cpuFigures are one size's CPU-per-probe figures, medians over runs.
type cpuFigures struct {
	ours, floorE, bb, floorB float64 // floorE, floorB: the floor next to ours, next to blackbox
	oursFloor, bbFloor       float64 // ratios within one window
	oursBB                   float64 // ours ÷ blackbox: via the floor when paired, else direct
	oursBBDirect             float64
}

func figures(o *loadOpts, n int, exps []exporterResult, bases []baselineResult) cpuFigures {
	isN := func(r exporterResult) bool { return r.Endpoints == n }
	bb := func(r baselineResult) bool { return r.Endpoints == n && r.Name == "blackbox" && r.ProbesPerSec > 0 }
	var f cpuFigures
	f.ours = med(exps, isN, func(r exporterResult) float64 { return r.CPUPerProbe })
	f.bb = med(bases, bb, func(r baselineResult) float64 { return r.CPUPerProbe })
	f.oursBBDirect = f.ours / f.bb
	if o.paired {
		fl := func(b *baselineResult) float64 {
			if b == nil || b.ProbesPerSec <= 0 {
				return math.NaN()
			}
			return b.CPUPerProbe
		}
		f.floorE = med(exps, isN, func(r exporterResult) float64 { return fl(r.Floor) })
		f.floorB = med(bases, bb, func(r baselineResult) float64 { return fl(r.Floor) })
		f.oursFloor = med(exps, isN, func(r exporterResult) float64 { return r.CPUPerProbe / fl(r.Floor) })
		f.bbFloor = med(bases, bb, func(r baselineResult) float64 { return r.CPUPerProbe / fl(r.Floor) })
		// Per run: (ours ÷ its floor) ÷ (blackbox ÷ its floor).
		var v []float64
		for _, e := range exps {
			for _, b := range bases {
				if e.Endpoints == n && bb(b) && b.Run == e.Run {
					if r := (e.CPUPerProbe / fl(e.Floor)) / (b.CPUPerProbe / fl(b.Floor)); !math.IsNaN(r) {
						v = append(v, r)
					}
				}
			}
		}
		f.oursBB = median(v)
	} else {
		alone := func(r baselineResult) bool { return r.Endpoints == n && r.Name == "floor" && r.ProbesPerSec > 0 }
		f.floorE = med(bases, alone, func(r baselineResult) float64 { return r.CPUPerProbe })
		f.floorB = f.floorE
		f.oursFloor, f.bbFloor, f.oursBB = f.ours/f.floorE, f.bb/f.floorE, f.oursBBDirect
	}
	return f
}

// report prints the tables and the verdict on each target (markdown).
func report(w io.Writer, o *loadOpts, exps []exporterResult, bases []baselineResult) {
	target := "the farm"
	if o.realServer != "" {
		target = "real Postfix submission"
	}
	fmt.Fprintf(w, "\n## mail_loadtest: %s, %s certificate, %v interval, %d run(s), exporter window %v (+%v warm-up), blackbox window %v (+%v), scrape every %v, floor %s\n\n",
		target, o.cert, o.interval, o.runs, o.duration, o.warmup, o.baseDuration, o.baseWarmup, o.scrapeEvery,
		map[bool]string{true: "paired (same windows)", false: "in its own window"}[o.paired]+
			map[bool]string{true: ", X25519 only", false: ""}[o.floorX25519])
	fmt.Fprintln(w, "| endpoints | probes/s | ok | CPU/probe | excl. scrapes | 15 s windows min–max | lag p50 | lag p99 (max bucket) | peak RSS | /metrics gzip p50 (max) | /metrics plain | size raw / gzip | series | CPU per scrape | delayed greeting p50 (min–max) | others' load mean (max) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.sizes {
		is := func(r exporterResult) bool { return r.Endpoints == n }
		m := func(f func(exporterResult) float64) float64 { return med(exps, is, f) }
		var wins, greet, others []float64
		for _, r := range exps {
			if is(r) {
				wins = append(wins, r.WindowCPU...)
				greet = append(greet, r.Greeting...)
				others = append(others, r.OthersMax)
			}
		}
		mm := func(v []float64) (float64, float64) {
			if len(v) == 0 {
				return math.NaN(), math.NaN()
			}
			return slices.Min(v), slices.Max(v)
		}
		wmin, wmax := mm(wins)
		gmin, gmax := mm(greet)
		_, omax := mm(others)
		fmt.Fprintf(w, "| %d | %.1f | %.1f%% | %s | %s | %s–%s | %s | %s (≤%gs) | %s | %s (%s) | %s | %s / %s | %.0f | %s | %s (%s–%s) | %.2f (%.2f) cores |\n",
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
			m(func(r exporterResult) float64 { return r.OthersCPU }), omax)
	}

	if o.floor || o.bbOn {
		fmt.Fprintln(w, "\nCPU per probe, medians over runs. With --paired the floor runs in the same window as mail_exporter, and again as blackbox_exporter's; ours ÷ blackbox is then (ours ÷ floor) ÷ (blackbox ÷ floor) per run, which cancels drifts in the machine's speed between windows.")
		fmt.Fprintln(w, "\n| endpoints | mail_exporter | floor (same window) | ours ÷ floor | blackbox | floor (same window) | blackbox ÷ floor | ours ÷ blackbox | ours ÷ blackbox, direct | ok: floor, blackbox | peak RSS: floor, blackbox |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, n := range o.sizes {
			f := figures(o, n, exps, bases)
			okFloor := med(exps, func(r exporterResult) bool { return r.Endpoints == n && r.Floor != nil },
				func(r exporterResult) float64 { return 100 * r.Floor.SuccessRatio })
			rssFloor := med(exps, func(r exporterResult) bool { return r.Endpoints == n && r.Floor != nil },
				func(r exporterResult) float64 { return float64(r.Floor.PeakRSSKB) })
			if !o.paired {
				alone := func(r baselineResult) bool { return r.Endpoints == n && r.Name == "floor" }
				okFloor = med(bases, alone, func(r baselineResult) float64 { return 100 * r.SuccessRatio })
				rssFloor = med(bases, alone, func(r baselineResult) float64 { return float64(r.PeakRSSKB) })
			}
			isBB := func(r baselineResult) bool { return r.Endpoints == n && r.Name == "blackbox" }
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %.1f%%, %.1f%% | %s, %s |\n",
				n, us(f.ours), us(f.floorE), x(f.oursFloor), us(f.bb), us(f.floorB), x(f.bbFloor), x(f.oursBB), x(f.oursBBDirect),
				okFloor, med(bases, isBB, func(r baselineResult) float64 { return 100 * r.SuccessRatio }),
				mb(rssFloor), mb(med(bases, isBB, func(r baselineResult) float64 { return float64(r.PeakRSSKB) })))
		}
		for _, r := range bases {
			if r.Err != "" {
				fmt.Fprintf(w, "\n%s at %d endpoints, run %d: %s\n", r.Name, r.Endpoints, r.Run, r.Err)
			}
		}
	}

	// The targets of issue 7, with issue 18's tighter bound against
	// blackbox_exporter (0.45, was 0.5).
	fmt.Fprintln(w, "\n| target | figure | verdict |")
	fmt.Fprintln(w, "|---|---|---|")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	for _, n := range o.sizes {
		f := figures(o, n, exps, bases)
		if o.floor {
			fmt.Fprintf(w, "| %d endpoints: CPU/probe ≤ 1.2× the floor | %s | %s |\n", n, x(f.oursFloor), verdict(f.oursFloor <= 1.2))
		}
		if o.bbOn {
			fmt.Fprintf(w, "| %d endpoints: CPU/probe ≤ 0.45× blackbox_exporter | %s (direct %s) | %s |\n", n, x(f.oursBB), x(f.oursBBDirect), verdict(f.oursBB <= 0.45))
		}
	}
	big := slices.Max(o.sizes)
	isBig := func(r exporterResult) bool { return r.Endpoints == big }
	p99 := med(exps, isBig, func(r exporterResult) float64 { return r.LagP99 })
	rss := med(exps, isBig, func(r exporterResult) float64 { return float64(r.PeakRSSKB) })
	scr := med(exps, isBig, func(r exporterResult) float64 { return r.ScrapeP50 })
	scrMax := med(exps, isBig, func(r exporterResult) float64 { return r.ScrapeMax })
	plain := med(exps, isBig, func(r exporterResult) float64 { return r.ScrapePlain })
	fmt.Fprintf(w, "| %d endpoints: schedule lag p99 ≤ 1 s | %s | %s |\n", big, ms(p99), verdict(p99 <= 1))
	fmt.Fprintf(w, "| %d endpoints: peak RSS ≤ 300 MB | %s | %s |\n", big, mb(rss), verdict(rss <= 300*1024))
	fmt.Fprintf(w, "| %d endpoints: /metrics ≤ 250 ms | gzip p50 %s (max %s), plain %s | %s |\n", big, ms(scr), ms(scrMax), ms(plain), verdict(math.Max(scr, plain) <= 0.25))
	if len(o.sizes) > 1 {
		small := slices.Min(o.sizes)
		f0, f1 := figures(o, small, exps, bases), figures(o, big, exps, bases)
		isSmall := func(r exporterResult) bool { return r.Endpoints == small }
		r0 := med(exps, isSmall, func(r exporterResult) float64 { return float64(r.PeakRSSKB) })
		fig := fmt.Sprintf("CPU/probe %s at %d, %s at %d (%+.0f%%)", us(f0.ours), small, us(f1.ours), big, 100*(f1.ours/f0.ours-1))
		ok := math.Abs(f1.ours/f0.ours-1) <= 0.2
		if o.paired {
			fig += fmt.Sprintf("; ÷ floor %s vs %s", x(f0.oursFloor), x(f1.oursFloor))
			ok = math.Abs(f1.oursFloor/f0.oursFloor-1) <= 0.2
		}
		fig += fmt.Sprintf("; RSS %s → %s", mb(r0), mb(rss))
		fmt.Fprintf(w, "| cost linear in endpoints (per-probe CPU flat within 20%%) | %s | %s |\n", fig, verdict(ok))
	}
	var greet []float64
	for _, r := range exps {
		greet = append(greet, r.Greeting...)
	}
	if len(greet) > 0 {
		g := median(greet)
		fmt.Fprintf(w, "| greeting phase of a %v-delayed server reads %v ± 5 ms | median %s over %d samples (min %s, max %s) | %s |\n",
			o.greetingDelay, o.greetingDelay, ms(g), len(greet), ms(slices.Min(greet)), ms(slices.Max(greet)),
			verdict(math.Abs(g-o.greetingDelay.Seconds()) <= (5*time.Millisecond).Seconds()))
	}
}
