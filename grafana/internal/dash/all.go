package dash

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// File is one generated dashboard: its file name under grafana/dashboards/
// and its JSON.
type File struct {
	Name string
	JSON []byte
}

var all = []struct {
	name  string
	build func() *dashboard.DashboardBuilder
}{
	{"fleet-overview.json", fleet},
	{"server-detail.json", server},
	{"domain-detail.json", domain},
	{"exporter.json", exporter},
}

// Files builds every dashboard and renders it as indented JSON, the bytes
// that are committed under grafana/dashboards/.
func Files() ([]File, error) {
	out := make([]File, 0, len(all))
	for _, a := range all {
		d, err := a.build().Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		number(&d)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		out = append(out, File{Name: a.name, JSON: b.Bytes()})
	}
	return out, nil
}
