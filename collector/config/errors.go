package config

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Error is one mistake in a config file. Its text is
// "<file>:<line>: <key path>: <message>", for example
//
//	targets.yaml:9: servers[0].endpoints[1].port: 70000 is out of range 1-65535
//
// The line is left out when unknown (0) and the key path when the mistake
// belongs to no key (a YAML syntax error). A message never contains a
// password. When a file has several mistakes, Load and Parse return them
// joined with errors.Join in file order; errors.As finds each one.
type Error struct {
	File string
	Line int
	Key  string // YAML key names and list indexes: servers[1].endpoints[0].port
	Msg  string
	Err  error // the underlying cause, if any (for errors.Is(err, fs.ErrNotExist))
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// report collects the errors and warnings of one parse.
type report struct {
	file  string
	errs  []*Error
	warns []*Error
	seen  map[string]bool
}

func (r *report) add(list *[]*Error, line int, key, format string, args ...any) {
	e := &Error{File: r.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			e.Err = err
		}
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	// The same inherited mistake shows up once per endpoint: say it once.
	if s := e.Error(); !r.seen[s] {
		r.seen[s] = true
		*list = append(*list, e)
	}
}

func (r *report) errorf(line int, key, format string, args ...any) {
	r.add(&r.errs, line, key, format, args...)
}

func (r *report) warnf(line int, key, format string, args ...any) {
	r.add(&r.warns, line, key, format, args...)
}

// err returns nil, the one error, or all of them joined, in file order.
func (r *report) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	sortByLine(r.errs)
	if len(r.errs) == 1 {
		return r.errs[0]
	}
	errs := make([]error, len(r.errs))
	for i, e := range r.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (r *report) warnings() []string {
	sortByLine(r.warns)
	var out []string
	for _, w := range r.warns {
		out = append(out, w.Error())
	}
	return out
}

func sortByLine(errs []*Error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

// cause is the reason of a file error without the path (the message names
// the path itself).
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return causeError{pe.Err, err}
	}
	return err
}

// causeError prints as the short reason but unwraps to the whole error.
type causeError struct{ short, full error }

func (c causeError) Error() string { return c.short.Error() }
func (c causeError) Unwrap() error { return c.full }

// fmtDur prints a duration the way people write it: 1m, not 1m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// show returns s as it is when it prints safely on one line, else quoted.
func show(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) {
		return s
	}
	return strconv.Quote(s)
}

// suggest returns " (did you mean x?)" for a near miss among known keys.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(got, k); d < bestD && 2*d <= len(k) {
			best, bestD = k, d
		}
	}
	if best != "" {
		return " (did you mean " + best + "?)"
	}
	return " (known keys: " + strings.Join(known, ", ") + ")"
}

// distance is the Levenshtein distance, capped for long inputs.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
