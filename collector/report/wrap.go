package report

import (
	"strings"
	"unicode/utf8"
)

// wrap lays tokens out in lines of at most width columns, joining them
// with sep and starting every line after the first with indent. A token
// longer than a line gets a line of its own (a URL is not cut). width 0
// puts everything on one line.
func wrap(tokens []string, sep string, first, indent string, width int) []string {
	var lines []string
	line, empty := first, true
	for _, tok := range tokens {
		switch {
		case empty:
			line += tok
			empty = false
		case width > 0 && cols(line)+cols(sep)+cols(tok) > width:
			lines = append(lines, strings.TrimRight(line+sep, " "))
			line = indent + tok
		default:
			line += sep + tok
		}
	}
	return append(lines, line)
}

// words splits prose at spaces, for wrap with sep " ".
func words(s string) []string { return strings.Fields(s) }

// chunks splits a summary at its commas ("TLS 1.3, connect 1ms, …"), so
// that a figure and its name stay on one line.
func chunks(s string) []string { return strings.Split(s, ", ") }

// cols is the display width of s, counting each rune as one column (the
// marks used here are single-width).
func cols(s string) int { return utf8.RuneCountInString(s) }
