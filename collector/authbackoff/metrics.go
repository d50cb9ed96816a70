package authbackoff

import "github.com/prometheus/client_golang/prometheus"

// The endpoint family's name and help, for /metrics' text path.
const (
	EndpointName = "mail_auth_backoff_seconds"
	EndpointHelp = "Seconds between the login attempts of this endpoint while the server refuses its credential " +
		"(2^n intervals after n refusals in a row, at most 1h); 0 when it runs at its own interval."
)

// EndpointDesc is mail_auth_backoff_seconds with the given endpoint label
// names.
func EndpointDesc(labels []string) *prometheus.Desc {
	return prometheus.NewDesc(EndpointName, EndpointHelp, labels, nil)
}

// RoundtripDesc is mail_roundtrip_auth_backoff_seconds.
func RoundtripDesc() *prometheus.Desc {
	return prometheus.NewDesc("mail_roundtrip_auth_backoff_seconds",
		"Seconds between the runs of this roundtrip while a server refuses one of its credentials "+
			"(2^n intervals after n refusals in a row, at most 1h); 0 when it runs at its own interval.",
		[]string{"roundtrip"}, nil)
}

// Metric is s's gap as a gauge of desc.
func (s *State) Metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.Gap().Seconds(), labels...)
}
