// Command gen writes the mail_exporter Grafana dashboards as JSON:
//
//	cd grafana && go run ./cmd/gen        # or: go generate ./...
//
// The JSON is committed; TestDashboardsUpToDate fails when it is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mail-exporter/mail_exporter/grafana/internal/dash"
)

func main() {
	dir := flag.String("out", "dashboards", "folder to write the dashboard JSON files into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := dash.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.JSON, 0o644); err != nil {
			return err
		}
	}
	return nil
}
