package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

// uptimeBar draws the kept samples as an inline SVG bar, newest on the
// right, one slot per sample the store can hold (empty slots on the left
// until it is full). Runs of equal results become one rectangle, with a
// <title> that a pointer shows; thin separators mark each sample.
func uptimeBar(samples []history.Sample, slots int, class string, separators bool) template.HTML {
	slots = max(slots, len(samples))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="%s" viewBox="0 0 %d 10" preserveAspectRatio="none" role="img" data-samples="%d" data-slots="%d" aria-label="%s">`,
		class, slots, len(samples), slots, template.HTMLEscapeString(barLabel(samples)))
	if pad := slots - len(samples); pad > 0 {
		fmt.Fprintf(&b, `<rect class="empty" x="0" y="0" width="%d" height="10"><title>not run yet (history starts when the exporter does)</title></rect>`, pad)
	}
	x := slots - len(samples)
	for i := 0; i < len(samples); {
		j := i
		for j < len(samples) && samples[j].OK == samples[i].OK && samples[j].Code == samples[i].Code {
			j++
		}
		cls, what := "up", "ok"
		if !samples[i].OK {
			cls, what = "down", samples[i].Code
		}
		title := fmt.Sprintf("%s %s", clock(samples[i].At), what)
		if j-i > 1 {
			title = fmt.Sprintf("%s–%s %s ×%d", clock(samples[i].At), clock(samples[j-1].At), what, j-i)
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="0" width="%d" height="10"><title>%s</title></rect>`, cls, x+i, j-i, template.HTMLEscapeString(title))
		i = j
	}
	if separators && slots > 1 {
		// One path of separators between the slots.
		b.WriteString(`<path class="sep" d="`)
		for i := 1; i < slots; i++ {
			fmt.Fprintf(&b, "M%d 0v10", i)
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func barLabel(samples []history.Sample) string {
	up := 0
	for _, s := range samples {
		if s.OK {
			up++
		}
	}
	return fmt.Sprintf("%d of the last %d results ok", up, len(samples))
}

// sparkline draws each sample's duration as a bar stacked by phase group
// (connect, TLS, the server's dialogue), or the whole duration where a
// check has no phases (domains, roundtrips). The scale is the largest
// duration shown. Each bar is a vertical stroke in a path per phase group,
// in whole units of a 10×100 grid per slot: a few bytes per bar.
func sparkline(samples []history.Sample, slots int, class string) template.HTML {
	slots = max(slots, len(samples))
	const h = 100
	var top time.Duration
	for _, s := range samples {
		top = max(top, s.Total, sumPhases(s))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="%s" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="latency by phase, up to %s">`,
		class, slots*10, h, fmtDur(top))
	if top <= 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	scale := float64(h) / float64(top)
	x0 := slots - len(samples)
	paths := make([]strings.Builder, history.NumPhases+1) // the phases, then "total" for checks without phases
	for i, s := range samples {
		x := (x0+i)*10 + 5
		if sumPhases(s) == 0 {
			if y := h - int(float64(s.Total)*scale+0.5); y < h {
				fmt.Fprintf(&paths[history.NumPhases], "M%d %dV%d", x, h, y)
			}
			continue
		}
		var sum time.Duration
		base := h
		for p := range history.NumPhases {
			sum += s.Phases[p]
			y := h - int(float64(sum)*scale+0.5)
			if y < base {
				fmt.Fprintf(&paths[p], "M%d %dV%d", x, base, y)
				base = y
			}
		}
	}
	for p := range paths {
		if paths[p].Len() == 0 {
			continue
		}
		name := "total"
		if p < history.NumPhases {
			name = history.PhaseNames[p]
		}
		fmt.Fprintf(&b, `<path class="ph-%s" d="%s"/>`, name, paths[p].String())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func sumPhases(s history.Sample) time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p
	}
	return d
}

func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// fmtDur is a duration for people: 0.4 ms, 12 ms, 1.3 s.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 ms"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'g', 3, 64) + " s"
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}
