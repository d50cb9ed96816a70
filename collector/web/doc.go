// Package web serves the exporter over HTTP (SPEC section 4): /metrics from
// the stored results, /probe running one configured check on demand, and
// the status page. It sees the running checks through small interfaces
// that collector.Exporter satisfies; collector never imports it.
package web
