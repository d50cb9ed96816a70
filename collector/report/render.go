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
	// Width wraps lines at this many columns where they can be broken
	// (between the figures of a summary, between the words of a sentence);
	// 0 = one line per item and per finding, as for a pipe.
	Width int
}

var marks = map[Status]string{OK: "✔", Warning: "⚠", Critical: "✘", Unknown: "?", NotApplicable: "–"}
var colors = map[Status]string{OK: "\x1b[32m", Warning: "\x1b[33m", Critical: "\x1b[31m", Unknown: "\x1b[35m", NotApplicable: "\x1b[2m"}

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
	verdict := strings.ToUpper(string(r.Status))
	tally := fmt.Sprintf("(%d ok, %d warning, %d critical", counts[OK], counts[Warning], counts[Critical])
	if n := counts[Unknown]; n > 0 {
		tally += fmt.Sprintf(", %d unknown", n)
	}
	if n := counts[NotApplicable]; n > 0 {
		tally += fmt.Sprintf(", %d not applicable", n)
	}
	tally += fmt.Sprintf(") in %.1fs", r.Duration)
	sep := " "
	if o.Width > 0 && cols("mail_exporter check "+r.Target+": "+verdict+" "+tally) > o.Width {
		sep = "\n  "
	}
	fmt.Fprintf(&b, "%s %s: %s%s%s\n", style(bold, "mail_exporter check"), r.Target, paint(r.Status, verdict), sep, tally)
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n%s\n", style(bold, s.Title))
		for _, it := range s.Items {
			head := "  " + marks[it.Status] + " " + it.Name
			b.WriteString("  " + paint(it.Status, marks[it.Status]) + " " + it.Name)
			if it.Summary != "" {
				if o.Width == 0 || cols(head)+2+cols(it.Summary) <= o.Width {
					b.WriteString("  " + style(dim, it.Summary))
				} else {
					for _, l := range wrap(chunks(it.Summary), ", ", "", "", o.Width-6) {
						b.WriteString("\n      " + style(dim, l))
					}
				}
			}
			b.WriteString("\n")
			for _, f := range it.Findings {
				msg := wrap(words(f.Code+": "+oneLine(f.Message)), " ", "", "", o.Width-8*sign(o.Width))
				fmt.Fprintf(&b, "      %s %s\n", paint(f.Status, marks[f.Status]), strings.Join(msg, "\n        "))
				if f.Advice != "" {
					adv := wrap(words(f.Advice), " ", "", "", o.Width-10*sign(o.Width))
					fmt.Fprintf(&b, "        → %s\n", strings.Join(adv, "\n          "))
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

// sign is 1 for a positive width, 0 for none: a width of 0 stays 0 after
// taking an indent off.
func sign(width int) int {
	if width > 0 {
		return 1
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// JSON writes the report in the documented schema.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
