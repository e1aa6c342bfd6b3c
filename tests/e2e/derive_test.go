package e2e

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// The series Grafana's views, the dashboards and the alerts read.
var derivedMetrics = []string{
	"traces_spanmetrics_calls_total",
	"traces_spanmetrics_latency_bucket", "traces_spanmetrics_latency_sum", "traces_spanmetrics_latency_count",
	"traces_service_graph_request_total", "traces_service_graph_request_failed_total",
	"traces_service_graph_request_server_seconds_bucket", "traces_service_graph_request_server_seconds_sum", "traces_service_graph_request_server_seconds_count",
	"traces_service_graph_request_client_seconds_bucket", "traces_service_graph_request_client_seconds_sum", "traces_service_graph_request_client_seconds_count",
	"gen_ai_client_token_usage_input_total", "gen_ai_client_token_usage_output_total",
}

// TestDeriveMatchesStockConnectors runs the same spans (errors, virtual
// nodes for the AI providers and Redis, the "user" client of root spans,
// two tenants) through gateway.yaml, which derives with our spanderive
// connector, and through gateway.yaml with the stock connectors
// (testdata/stock-derive.yaml), and requires every derived series, label
// for label and value for value, to be the same in Prometheus.
func TestDeriveMatchesStockConnectors(t *testing.T) {
	stock := stockDeriveConfig(t)
	for _, tenantLabel := range []bool{false, true} {
		t.Run(fmt.Sprintf("tenant label %v", tenantLabel), func(t *testing.T) {
			env := map[string]string{}
			if tenantLabel {
				env["DERIVE_PROCESSORS"] = "[attributes/tenant]"
			}
			ours, oursEx := deriveSnapshot(t, "collector-configs/gateway.yaml", env)
			theirs, theirsEx := deriveSnapshot(t, stock, env)
			for _, name := range derivedMetrics {
				if !slices.ContainsFunc(slices.Collect(maps.Keys(ours)), func(k string) bool { return strings.HasPrefix(k, name+"{") }) {
					t.Errorf("no %s series at all", name)
				}
			}
			for k, want := range theirs {
				got, ok := ours[k]
				switch {
				case !ok:
					t.Errorf("stock connectors wrote %s = %v; spanderive did not write the series", k, want)
				case math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)):
					t.Errorf("%s = %v, stock connectors %v", k, got, want)
				}
			}
			for k, got := range ours {
				if _, ok := theirs[k]; !ok {
					t.Errorf("spanderive wrote %s = %v; the stock connectors have no such series", k, got)
				}
			}
			if !slices.Equal(oursEx, theirsEx) {
				t.Errorf("latency series with trace-id exemplars differ:\nspanderive %v\nstock      %v", oursEx, theirsEx)
			}
			t.Logf("%d series compared, %d latency series with exemplars", len(theirs), len(theirsEx))
		})
	}
}

// deriveSnapshot starts config, sends the scenario as one tenant and a
// second burst as another, waits until every derived count is complete and
// stable, and returns each derived series (name and every label) with its
// value, and the latency series that carry trace-id exemplars.
func deriveSnapshot(t *testing.T, config string, env map[string]string) (map[string]float64, []string) {
	t.Helper()
	start := time.Now().Add(-time.Minute)
	sc := scenario.Scenario{Requests: 40, FailEvery: 5, Start: start}
	gw := harness.StartScenarioGateway(t, sc, harness.GatewayOptions{Config: config, Env: env})
	second := scenario.Scenario{Requests: 30, FailEvery: 3, Start: start, IDBase: 1000}
	harness.SendTraces(t, gw.OTLPGRPC, logTenant, second.Traces())
	in1, out1 := sc.Tokens("")
	in2, out2 := second.Tokens("")
	gw.Prometheus.WaitFor(t, 60*time.Second, harness.PromQL{
		`sum(traces_spanmetrics_calls_total)`:         harness.Value(float64(sc.SpanCount() + second.SpanCount())),
		`sum(traces_service_graph_request_total)`:     harness.Value(float64((sc.Requests + second.Requests) * scenario.EdgesPerRequest)),
		`sum(gen_ai_client_token_usage_input_total)`:  harness.Value(float64(in1 + in2)),
		`sum(gen_ai_client_token_usage_output_total)`: harness.Value(float64(out1 + out2)),
	})
	var prev map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap := map[string]float64{}
		for _, name := range derivedMetrics {
			samples, err := gw.Prometheus.Query(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range samples {
				snap[seriesKey(s.Metric)] = s.Value
			}
		}
		// Two reads two flushes apart that agree: nothing is still arriving.
		if prev != nil && maps.Equal(prev, snap) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: derived series still changing after 30 s", config)
		}
		prev = snap
		time.Sleep(2500 * time.Millisecond)
	}
	ex, err := gw.Prometheus.QueryExemplars(`traces_spanmetrics_latency_bucket`)
	if err != nil {
		t.Fatal(err)
	}
	withExemplars := map[string]bool{}
	for _, e := range ex {
		if e.Labels["trace_id"] == "" {
			t.Errorf("%s: exemplar without trace_id: %v", config, e)
			continue
		}
		l := maps.Clone(e.SeriesLabels)
		delete(l, "le")
		withExemplars[seriesKey(l)] = true
	}
	return prev, slices.Sorted(maps.Keys(withExemplars))
}

func seriesKey(labels map[string]string) string {
	keys := slices.Collect(maps.Keys(labels))
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(labels["__name__"])
	b.WriteByte('{')
	for _, k := range keys {
		if k != "__name__" {
			fmt.Fprintf(&b, "%s=%q,", k, labels[k])
		}
	}
	b.WriteByte('}')
	return b.String()
}

// stockDeriveConfig writes gateway.yaml with testdata/stock-derive.yaml laid
// over it and the spanderive connector removed.
func stockDeriveConfig(t *testing.T) string {
	t.Helper()
	var base, overlay map[string]any
	for path, into := range map[string]*map[string]any{
		filepath.Join(harness.RepoRoot(), "collector-configs/gateway.yaml"):       &base,
		filepath.Join(harness.RepoRoot(), "tests/e2e/testdata/stock-derive.yaml"): &overlay,
	} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	pipelines := func(m map[string]any) map[string]any {
		p, _ := m["service"].(map[string]any)["pipelines"].(map[string]any)
		return p
	}
	gatewaySpans, _ := pipelines(base)["metrics/spans"].(map[string]any)
	instance, _ := gatewaySpans["processors"].([]any)
	mergeYAML(base, overlay)
	for _, name := range []string{"metrics/spans", "metrics/tokens"} {
		p := pipelines(base)[name].(map[string]any)
		p["processors"] = append(p["processors"].([]any), instance...)
	}
	connectors, _ := base["connectors"].(map[string]any)
	if _, ok := connectors["spanderive"]; !ok {
		t.Fatal("gateway.yaml has no spanderive connector: this comparison is out of date")
	}
	delete(connectors, "spanderive")
	out, err := yaml.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gateway-stock-derive.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mergeYAML(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeYAML(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}
