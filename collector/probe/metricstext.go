package probe

// The endpoint series in the text exposition format, rendered directly
// rather than through client_golang's registry: once per stored result, and
// written out as they are on every scrape.

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// textLayout says where each label goes when a series is written with its
// label names sorted, as client_golang writes them.
type textLayout struct {
	order []int                     // indexes into the label values, by sorted name
	names []string                  // the sorted names
	extra [numFamilies][]extraLabel // a family's extra labels, sorted by name
}

// extraLabel is one extra label of a family: its name, its index in
// extraValues, and the position among the sorted base labels it goes before.
type extraLabel struct {
	name   string
	xi, at int
}

func newTextLayout(base []string) textLayout {
	var l textLayout
	l.order = make([]int, len(base))
	for i := range l.order {
		l.order[i] = i
	}
	slices.SortStableFunc(l.order, func(a, b int) int { return strings.Compare(base[a], base[b]) })
	for _, i := range l.order {
		l.names = append(l.names, base[i])
	}
	for f, spec := range families {
		for xi, name := range spec.extra {
			at, _ := slices.BinarySearch(l.names, name)
			l.extra[f] = append(l.extra[f], extraLabel{name: name, xi: xi, at: at})
		}
		slices.SortStableFunc(l.extra[f], func(a, b extraLabel) int { return strings.Compare(a.name, b.name) })
	}
	return l
}

// renderedLabels are one endpoint's base labels, rendered once per Render:
// `a="x",b="y"` in sorted name order, with cut[i] the offset of pair i.
type renderedLabels struct {
	base string
	cut  []int // len = pairs+1; cut[len-1] = len(base)+1
}

func (l *textLayout) render(values []string, scratch []byte) (renderedLabels, []byte) {
	b := scratch[:0]
	cut := make([]int, 0, len(l.order)+1)
	for k, i := range l.order {
		if k > 0 {
			b = append(b, ',')
		}
		cut = append(cut, len(b))
		b = appendPair(b, l.names[k], values[i])
	}
	cut = append(cut, len(b)+1)
	return renderedLabels{base: string(b), cut: cut}, b
}

// pairs returns base pairs [a, b) as they appear in base, commas included.
func (r *renderedLabels) pairs(a, b int) string { return r.base[r.cut[a] : r.cut[b]-1] }

func appendPair(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value)
	return append(b, '"')
}

// appendEscaped escapes a label value for the text format (backslash,
// double quote, line feed) and replaces invalid UTF-8.
func appendEscaped(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] != '\\' && s[i] != '"' && s[i] != '\n'
	}
	if clean {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat writes v as client_golang's text encoder does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, '-', '1')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Rendered is one stored result's series in the text exposition format,
// family by family, label names sorted as client_golang writes them. It is
// made once, when the result is stored (Descs.Render), so that a scrape
// only copies bytes: with 10k endpoints a scrape has ~230k endpoint series,
// and building a client_golang metric for each took seconds and hundreds
// of MB per scrape; rendering them at every scrape still walked every
// result once per family, a cache miss each time.
type Rendered struct {
	buf []byte
	end [numFamilies]uint32 // family f is buf[end[f-1]:end[f]]
}

func (t *Rendered) family(f family) []byte {
	var start uint32
	if f > 0 {
		start = t.end[f-1]
	}
	return t.buf[start:t.end[f]]
}

// Size is the rendered text's length in bytes.
func (t *Rendered) Size() int { return len(t.buf) }

var renderScratch = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// Render renders r with label values labels (EndpointLabels then the extra
// keys, as for Collect).
func (d *Descs) Render(r *Result, labels []string) *Rendered {
	sp := renderScratch.Get().(*[]byte)
	var rl renderedLabels
	rl, *sp = d.layout.render(labels, *sp)
	b := (*sp)[:0]
	t := &Rendered{}
	for f := range numFamilies {
		name, extra := families[f].name, d.layout.extra[f]
		eachSample(r, f, func(v float64, x extraValues) {
			b = append(b, name...)
			b = append(b, '{')
			b = appendLabels(b, &rl, extra, &x)
			b = append(b, '}', ' ')
			b = appendFloat(b, v)
			b = append(b, '\n')
		})
		t.end[f] = uint32(len(b))
	}
	t.buf = append(make([]byte, 0, len(b)), b...)
	*sp = b[:0]
	renderScratch.Put(sp)
	return t
}

// WriteText writes the series of every item in the text exposition format
// (version 0.0.4): family by family, each family's series in item order.
func WriteText(w io.Writer, items []*Rendered) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var header []byte
	for f := range numFamilies {
		started := false
		for _, t := range items {
			chunk := t.family(f)
			if len(chunk) == 0 {
				continue
			}
			if !started {
				started = true
				header = appendHeader(header[:0], &families[f])
				_, _ = bw.Write(header)
			}
			if _, err := bw.Write(chunk); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func appendHeader(b []byte, spec *familySpec) []byte {
	b = append(b, "# HELP "...)
	b = append(b, spec.name...)
	b = append(b, ' ')
	for i := 0; i < len(spec.help); i++ {
		switch c := spec.help[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	b = append(b, "\n# TYPE "...)
	b = append(b, spec.name...)
	return append(b, " gauge\n"...)
}

// appendLabels merges the rendered base labels with a family's extra
// labels, keeping names sorted.
func appendLabels(b []byte, rl *renderedLabels, extra []extraLabel, x *extraValues) []byte {
	n := len(rl.cut) - 1
	pos, first := 0, true
	comma := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, e := range extra {
		if e.at > pos {
			comma()
			b = append(b, rl.pairs(pos, e.at)...)
			pos = e.at
		}
		comma()
		b = appendPair(b, e.name, x.v[e.xi])
	}
	if pos < n {
		comma()
		b = append(b, rl.pairs(pos, n)...)
	}
	return b
}
