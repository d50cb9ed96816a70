package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// TextOptions shape the text report.
type TextOptions struct {
	Color   bool // ANSI colours, for a terminal
	Verbose bool // include transcripts
}

var marks = map[Status]string{OK: "✔", Warning: "⚠", Critical: "✘", Unknown: "?"}
var colors = map[Status]string{OK: "\x1b[32m", Warning: "\x1b[33m", Critical: "\x1b[31m", Unknown: "\x1b[35m"}

const (
	reset = "\x1b[0m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
)

// Text writes the report for people.
func Text(w io.Writer, r *Report, o TextOptions) error {
	paint := func(st Status, s string) string {
		if !o.Color {
			return s
		}
		return colors[st] + s + reset
	}
	style := func(code, s string) string {
		if !o.Color {
			return s
		}
		return code + s + reset
	}
	counts := map[Status]int{}
	for _, s := range r.Sections {
		for _, it := range s.Items {
			counts[it.Status]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s (%d ok, %d warning, %d critical) in %.1fs\n",
		style(bold, "mail_exporter check"), r.Target, paint(r.Status, strings.ToUpper(string(r.Status))),
		counts[OK], counts[Warning], counts[Critical], r.Duration)
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n%s\n", style(bold, s.Title))
		for _, it := range s.Items {
			fmt.Fprintf(&b, "  %s %s", paint(it.Status, marks[it.Status]), it.Name)
			if it.Summary != "" {
				fmt.Fprintf(&b, "  %s", style(dim, it.Summary))
			}
			b.WriteString("\n")
			for _, f := range it.Findings {
				fmt.Fprintf(&b, "      %s %s: %s\n", paint(f.Status, marks[f.Status]), f.Code, oneLine(f.Message))
				if f.Advice != "" {
					fmt.Fprintf(&b, "        → %s\n", f.Advice)
				}
			}
			if o.Verbose && it.Transcript != "" {
				for _, l := range strings.Split(strings.TrimRight(it.Transcript, "\n"), "\n") {
					fmt.Fprintf(&b, "        %s\n", style(dim, l))
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// JSON writes the report in the documented schema.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
