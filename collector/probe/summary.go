package probe

import (
	"io"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// The per-endpoint address summary (SPEC section 6.2): how many addresses
// the host resolved to under the `addresses` rule, and how many of them
// succeeded on their last probe. These series carry the endpoint labels
// without `address` and `family`, so that "all up" is one comparison:
// mail_probe_addresses_up == mail_probe_addresses.

// Summary is one endpoint's address counts.
type Summary struct {
	Addresses int // selected by the rule at the last resolution; 0 when it failed
	Up        int // of those, how many succeeded on their last probe
}

var summaryFamilies = [2]familySpec{
	{"mail_probe_addresses", "Addresses the endpoint's host resolved to under the addresses rule, each probed as its own check.", nil},
	{"mail_probe_addresses_up", "How many of the endpoint's addresses succeeded on their last probe.", nil},
}

type summaryDescs struct {
	descs  [2]*prometheus.Desc
	layout textLayout
}

// SummaryLabelNames are the label names of the summary series for a set of
// extra (server `labels:`) keys.
func SummaryLabelNames(extra []string) []string {
	return append(slices.Clip(EndpointLabels[:len(EndpointLabels)-addressLabels]), extra...)
}

func newSummaryDescs(extra []string) summaryDescs {
	names := SummaryLabelNames(extra)
	d := summaryDescs{layout: newTextLayout(names)}
	for i, spec := range summaryFamilies {
		d.descs[i] = prometheus.NewDesc(spec.name, spec.help, names, nil)
	}
	return d
}

// SummaryValues drops the address labels from an endpoint's label values
// (EndpointLabels then the extra keys, as for Collect).
func SummaryValues(labels []string) []string {
	n := len(EndpointLabels) - addressLabels
	return append(slices.Clip(labels[:n]), labels[len(EndpointLabels):]...)
}

// CollectSummary writes s as metrics; values are SummaryValues.
func (d *Descs) CollectSummary(ch chan<- prometheus.Metric, s Summary, values []string) {
	lv := make([]string, len(values))
	for i, v := range values {
		lv[i] = validUTF8(v)
	}
	ch <- prometheus.MustNewConstMetric(d.summary.descs[0], prometheus.GaugeValue, float64(s.Addresses), lv...)
	ch <- prometheus.MustNewConstMetric(d.summary.descs[1], prometheus.GaugeValue, float64(s.Up), lv...)
}

// SummaryLabels renders an endpoint's summary labels once (`a="x",b="y"`,
// names sorted), for WriteSummaries; values are SummaryValues.
func (d *Descs) SummaryLabels(values []string) string {
	rl, _ := d.summary.layout.render(values, nil)
	return rl.base
}

// SummaryItem is one endpoint's summary for WriteSummaries.
type SummaryItem struct {
	Labels string // from Descs.SummaryLabels
	Summary
}

// WriteSummaries writes both summary families in the text format.
func WriteSummaries(w io.Writer, items []SummaryItem) error {
	addrs, up := make([]Gauge, len(items)), make([]Gauge, len(items))
	for i, it := range items {
		addrs[i] = Gauge{Labels: it.Labels, Value: float64(it.Addresses)}
		up[i] = Gauge{Labels: it.Labels, Value: float64(it.Up)}
	}
	for i, g := range [2][]Gauge{addrs, up} {
		if err := WriteGauges(w, summaryFamilies[i].name, summaryFamilies[i].help, g); err != nil {
			return err
		}
	}
	return nil
}
