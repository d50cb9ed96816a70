// Package grafana holds the mail_exporter dashboards as code and the tests
// that keep them, and the Prometheus rules in ../deploy/prometheus, honest:
// the committed JSON is what the generator writes, every PromQL expression
// parses and names only metrics the exporter exports (metrics.txt), and
// promtool checks and unit-tests the rules.
//
// It is its own module so that the Grafana SDK and the PromQL parser stay out
// of the exporter's dependencies.
package grafana

//go:generate go run ./cmd/gen -out dashboards
