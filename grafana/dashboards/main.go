// Command dashboards writes the GatewayZ Grafana dashboards, built with the
// Grafana Foundation SDK, as provisioning JSON: one file per dashboard under
// <out>/<folder>/ (grafana/provisioning/dashboards/dashboards.yaml maps each
// folder to a Grafana folder). `make dashboards` runs it; the JSON is
// committed and `make check-generated` fails when it is stale.
//
// Every query names only metrics and labels the otelcol-gatewayz pipeline
// produces; tests/grafana checks that against the end-to-end Prometheus.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	out := flag.String("out", "grafana/provisioning/dashboards", "provisioning directory to write <folder>/<uid>.json into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

// spec is one dashboard and the provisioning folder it belongs in.
type spec struct {
	folder string
	build  func() *dashboard.DashboardBuilder
}

// all is every dashboard, in the order of the folder list.
var all = []spec{
	{"executive-overview", executiveOverview},
	{"four-golden-signals", fourGoldenSignals},
	{"model-performance", modelPerformance},
	{"logs", logsDashboard},
	{"traces", tracesDashboard},
	{"long-term", longTerm},
	{"collector", collectorDashboard},
	{"profiles", profilesDashboard},
	{"backend-services", backendServices},
}

func write(out string) error {
	for _, s := range all {
		d, err := s.build().Build()
		if err != nil {
			return fmt.Errorf("folder %s: %w", s.folder, err)
		}
		if d.Uid == nil {
			return fmt.Errorf("folder %s: a dashboard has no uid", s.folder)
		}
		// Stable panel ids: Grafana keys panel links (viewPanel=<id>) and
		// per-panel state on them.
		for i := range d.Panels {
			if p := d.Panels[i].Panel; p != nil && p.Id == nil {
				p.Id = cog.ToPtr(uint32(i + 1))
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		// Queries hold <, > and &: keep them readable in the committed JSON.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("dashboard %s: %w", *d.Uid, err)
		}
		dir := filepath.Join(out, s.folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// The file is named after the uid without the common prefix.
		name := filepath.Join(dir, strings.TrimPrefix(*d.Uid, "gatewayz-")+".json")
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
