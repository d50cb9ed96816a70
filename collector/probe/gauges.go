package probe

import (
	"bufio"
	"io"
)

// Gauge is one series of a gauge family that WriteGauges writes.
type Gauge struct {
	Labels string // rendered once, by Descs.Labels or Descs.SummaryLabels
	Value  float64
}

// WriteGauges writes one gauge family in the text format, as client_golang
// would: a family with one series per check is written here rather than
// gathered through the registry, which cost about 35 allocations a series
// on every scrape. Nothing is written when gauges is empty.
func WriteGauges(w io.Writer, name, help string, gauges []Gauge) error {
	if len(gauges) == 0 {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	b := appendHeader(nil, &familySpec{name: name, help: help})
	_, _ = bw.Write(b)
	for _, g := range gauges {
		b = append(b[:0], name...)
		b = append(b, '{')
		b = append(b, g.Labels...)
		b = append(b, '}', ' ')
		b = appendFloat(b, g.Value)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Labels renders a check's endpoint labels once (`a="x",b="y"`, names
// sorted), for WriteGauges; values are as for Collect.
func (d *Descs) Labels(values []string) string {
	rl, _ := d.layout.render(values, nil)
	return rl.base
}
