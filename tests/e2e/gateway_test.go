package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// The tenants the scenario is sent as; pushes of other tests use them too.
const (
	defaultTenant = harness.ScenarioDefaultTenant
	spanTenant    = harness.ScenarioSpanTenant
	logTenant     = harness.ScenarioLogTenant
)

// TestGatewayPipeline runs the whole gateway config against a real
// Prometheus and recording Loki/Tempo/Pyroscope sinks, sends one scenario
// and checks every derived number exactly: once with the defaults, once
// with derived metrics labelled by tenant (which makes the derive branch
// modify its copy of the spans, so Tempo's copy must stay untouched).
func TestGatewayPipeline(t *testing.T) {
	t.Run("defaults", func(t *testing.T) { testGatewayPipeline(t, false) })
	t.Run("tenant label", func(t *testing.T) { testGatewayPipeline(t, true) })
}

func testGatewayPipeline(t *testing.T, tenantLabel bool) {
	env := map[string]string{"DEPLOYMENT_ENV": "staging"}
	if tenantLabel {
		env["DERIVE_PROCESSORS"] = "[attributes/tenant]"
	}
	sc := scenario.Scenario{Requests: 40, FailEvery: 5, Start: time.Now().Add(-time.Minute)}
	gw := harness.StartScenarioGateway(t, sc, harness.GatewayOptions{Env: env})
	prom := gw.Prometheus
	harness.SendMetrics(t, gw.OTLPHTTP, spanTenant, pushedGauge("acme_pushed_gauge", 3))

	n, failed, total := float64(sc.Requests), float64(sc.Failures()), float64(sc.SpanCount())

	t.Run("span metric call counts equal spans sent", func(t *testing.T) {
		prom.Expect(t, harness.PromQL{
			`sum(traces_spanmetrics_calls_total{service="gatewayz-api"})`:                                                                           harness.Value(3 * n),
			`sum(traces_spanmetrics_calls_total{service="gatewayz-router"})`:                                                                        harness.Value(2 * n),
			`sum(traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR"})`:                                                                  harness.Value(2 * failed),
			`sum(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", http_route="/v1/chat/completions", http_response_status_code="502"})`: harness.Value(failed),
			`sum(traces_spanmetrics_calls_total{gen_ai_system="openai", gen_ai_request_model="gpt-4o"})`:                                            harness.Value(n / 2),
			`sum(traces_spanmetrics_calls_total{gen_ai_system="anthropic", gen_ai_request_model="claude-3-5-sonnet"})`:                              harness.Value(n / 2),
			// The connector's own name for the label must not leak through.
			`traces_spanmetrics_calls_total{service_name!=""}`: harness.Series(0),
		})
	})

	t.Run("latency histogram is in seconds under Tempo's names", func(t *testing.T) {
		const sel = `service="gatewayz-api", span_kind="SPAN_KIND_SERVER"`
		prom.Expect(t, harness.PromQL{
			`sum(traces_spanmetrics_latency_count{` + sel + `})`: harness.Value(n),
			`sum(traces_spanmetrics_latency_sum{` + sel + `})`:   harness.Approx(scenario.ServerLatency.Seconds() * n),
			// 300 ms spans sit in the (0.25, 0.5] bucket.
			`sum(traces_spanmetrics_latency_bucket{` + sel + `, le="0.25"})`:                                          harness.Value(0),
			`sum(traces_spanmetrics_latency_bucket{` + sel + `, le="0.5"})`:                                           harness.Value(n),
			`{__name__=~"traces_spanmetrics_duration.*|traces_span_metrics_.*|traces_spanmetrics_latency_seconds.*"}`: harness.Series(0),
		})
	})

	t.Run("service graph edges and virtual provider nodes", func(t *testing.T) {
		prom.Expect(t, harness.PromQL{
			`sum(traces_service_graph_request_total{client="gatewayz-api", server="openai"})`:           harness.Value(n / 2),
			`sum(traces_service_graph_request_total{client="gatewayz-api", server="anthropic"})`:        harness.Value(n / 2),
			`sum(traces_service_graph_request_total{client="gatewayz-api", server="gatewayz-router"})`:  harness.Value(n),
			`sum(traces_service_graph_request_total{client="gatewayz-router", server="redis"})`:         harness.Value(n),
			`sum(traces_service_graph_request_failed_total{client="gatewayz-api", server="openai"})`:    harness.Value(failed / 2),
			`sum(traces_service_graph_request_failed_total{client="gatewayz-api", server="anthropic"})`: harness.Value(failed / 2),
			`traces_service_graph_request_failed_total{server="gatewayz-router"}`:                       harness.Series(0),
			// A paired edge has both sides' latency; Grafana reads seconds.
			`sum(traces_service_graph_request_server_seconds_count{client="gatewayz-api", server="gatewayz-router"})`: harness.Value(n),
			`sum(traces_service_graph_request_server_seconds_sum{client="gatewayz-api", server="gatewayz-router"})`:   harness.Approx(0.010 * n),
			`sum(traces_service_graph_request_client_seconds_sum{client="gatewayz-api", server="gatewayz-router"})`:   harness.Approx(0.012 * n),
		})
	})

	t.Run("token sums equal the tokens sent", func(t *testing.T) {
		openaiIn, openaiOut := sc.Tokens("openai")
		anthropicIn, anthropicOut := sc.Tokens("anthropic")
		prom.Expect(t, harness.PromQL{
			`sum(gen_ai_client_token_usage_input_total{gen_ai_system="openai"})`:        harness.Value(float64(openaiIn)),
			`sum(gen_ai_client_token_usage_output_total{gen_ai_system="openai"})`:       harness.Value(float64(openaiOut)),
			`sum(gen_ai_client_token_usage_input_total{gen_ai_system="anthropic"})`:     harness.Value(float64(anthropicIn)),
			`sum(gen_ai_client_token_usage_output_total{gen_ai_system="anthropic"})`:    harness.Value(float64(anthropicOut)),
			`sum(gen_ai_client_token_usage_input_total{gen_ai_request_model="gpt-4o"})`: harness.Value(float64(openaiIn)),
		})
	})

	t.Run("exemplars carry trace ids that were sent", func(t *testing.T) {
		sentIDs := map[string]bool{}
		for i := 0; i < sc.Requests; i++ {
			sentIDs[scenario.TraceID(i).String()] = true
		}
		var ex []harness.Exemplar
		harness.Eventually(t, 30*time.Second, func() error {
			var err error
			ex, err = prom.QueryExemplars(`traces_spanmetrics_latency_bucket{service="gatewayz-api"}`)
			if err == nil && len(ex) == 0 {
				err = fmt.Errorf("no exemplars yet")
			}
			return err
		})
		for _, e := range ex {
			id := e.Labels["trace_id"]
			if !sentIDs[id] {
				t.Errorf("exemplar trace_id %q (labels %v) is not one of the sent trace ids", id, e.Labels)
			}
		}
	})

	t.Run("scraped backend series carry their job labels", func(t *testing.T) {
		prom.Expect(t, harness.PromQL{
			`sum(gatewayz_http_requests_total{job="gatewayz_production"})`:                                        harness.Value(harness.FakeFastAPIRequests),
			`gatewayz_http_requests_total{job="gatewayz_production", route="/v1/chat/completions", status="502"}`: harness.Value(harness.FakeFastAPIFailedRequests),
			`gatewayz_models_available{job="gatewayz_data_metrics_production"}`:                                   harness.Value(harness.FakeFastAPIModels),
			// The receiver reports the unreachable Redis exporter as down.
			`up{job="redis_exporter"}`: harness.Value(0),
		})
	})

	t.Run("every metrics write carries the right X-Scope-OrgID", func(t *testing.T) {
		// The pushed gauge is the last write this test waits for.
		prom.Expect(t, harness.PromQL{`acme_pushed_gauge`: harness.Value(3)})
		writes := prom.Writes()
		if len(writes) == 0 {
			t.Fatal("no metrics writes recorded")
		}
		tenantOf := map[string]map[string]bool{}
		for _, w := range writes {
			if w.Tenant() == "" {
				t.Errorf("metrics write without X-Scope-OrgID: %v", w.Header)
			}
			if w.Status/100 != 2 {
				t.Errorf("metrics write answered %d", w.Status)
			}
			for name := range w.Metrics {
				if tenantOf[name] == nil {
					tenantOf[name] = map[string]bool{}
				}
				tenantOf[name][w.Tenant()] = true
			}
		}
		want := map[string]string{
			"acme_pushed_gauge":                     spanTenant,    // sender's own header
			"gatewayz_http_requests_total":          defaultTenant, // scrapes have no request
			"traces_spanmetrics_calls_total":        defaultTenant, // aggregated across requests
			"traces_service_graph_request_total":    defaultTenant,
			"gen_ai_client_token_usage_input_total": spanTenant, // derived per request, keeps its context
		}
		for name, tenant := range want {
			got := keys(tenantOf[name])
			if len(got) != 1 || got[0] != tenant {
				t.Errorf("%s written with tenants %v, want only %q", name, got, tenant)
			}
		}
		if tenantLabel {
			// The source tenant of span-derived metrics survives as a label.
			prom.Expect(t, harness.PromQL{
				`sum(traces_spanmetrics_calls_total{tenant="acme"})`: harness.Value(total),
				// Every edge but the one from the virtual "user", which has no
				// client span to take a tenant from.
				`sum(traces_service_graph_request_total{client_tenant="acme"})`: harness.Value((scenario.EdgesPerRequest - 1) * n),
			})
		} else {
			prom.Expect(t, harness.PromQL{
				`{__name__=~"traces_spanmetrics_calls_total|traces_service_graph_request_total", tenant=~".+"}`: harness.Series(0),
				`traces_service_graph_request_total{client_tenant=~".+"}`:                                       harness.Series(0),
			})
		}
	})

	t.Run("all spans reach Tempo unchanged with the sender's tenant", func(t *testing.T) {
		gw.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)
		got := map[string]string{}
		for _, r := range gw.Tempo.Requests() {
			for k, v := range flattenSpans(r.Traces) {
				got[k] = v
			}
		}
		want := flattenSpans(sc.Traces())
		if len(got) != len(want) {
			t.Fatalf("tempo has %d distinct spans, want %d", len(got), len(want))
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("span %s changed on the way:\n got  %s\n want %s", id, got[id], w)
			}
		}
	})

	t.Run("logs reach Loki with trace ids, service.name and tenant", func(t *testing.T) {
		harness.Eventually(t, 30*time.Second, func() error {
			if n := gw.Loki.LogCount(); n != sc.Requests {
				return fmt.Errorf("loki has %d records, want %d", n, sc.Requests)
			}
			return nil
		})
		seen := map[string]bool{}
		for _, r := range gw.Loki.Requests() {
			if r.Tenant() != logTenant {
				t.Errorf("loki request tenant %q, want %q", r.Tenant(), logTenant)
			}
			if !strings.HasSuffix(r.Path, "/otlp/v1/logs") {
				t.Errorf("loki request path %q, want Loki's native OTLP endpoint", r.Path)
			}
			// lz4compression's, the exporter itself sending no encoding.
			if enc := r.Header.Get("Content-Encoding"); enc != "lz4" {
				t.Errorf("loki request Content-Encoding %q, want lz4", enc)
			}
			for i := 0; i < r.Logs.ResourceLogs().Len(); i++ {
				rl := r.Logs.ResourceLogs().At(i)
				attrs := rl.Resource().Attributes()
				expectAttr(t, attrs, "service.name", scenario.GatewayService)
				expectAttr(t, attrs, "service.instance.id", scenario.GatewayService+"-0")
				// The sender set no environment: normalisation adds it.
				expectAttr(t, attrs, "deployment.environment", "staging")
				for j := 0; j < rl.ScopeLogs().Len(); j++ {
					lrs := rl.ScopeLogs().At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						seen[lrs.At(k).TraceID().String()] = true
					}
				}
			}
		}
		for i := 0; i < sc.Requests; i++ {
			if !seen[scenario.TraceID(i).String()] {
				t.Errorf("trace id %s of request %d missing from Loki", scenario.TraceID(i), i)
			}
		}
	})
}

func pushedGauge(name string, v float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", scenario.GatewayService)
	rm.Resource().Attributes().PutStr("service.instance.id", scenario.GatewayService+"-0")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetDoubleValue(v)
	return md
}

// flattenSpans renders each span with its resource and scope, keyed by
// span id, so two payloads compare whatever their batching.
func flattenSpans(td ptrace.Traces) map[string]string {
	out := map[string]string{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := fmt.Sprint(rs.Resource().Attributes().AsRaw())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				out[sp.SpanID().String()] = fmt.Sprintf("res=%s scope=%s trace=%s parent=%s name=%q kind=%s start=%d end=%d status=%s/%q attrs=%v",
					res, ss.Scope().Name(), sp.TraceID(), sp.ParentSpanID(), sp.Name(), sp.Kind(),
					sp.StartTimestamp(), sp.EndTimestamp(), sp.Status().Code(), sp.Status().Message(), sp.Attributes().AsRaw())
			}
		}
	}
	return out
}

func expectAttr(t *testing.T, attrs pcommon.Map, key, want string) {
	t.Helper()
	v, ok := attrs.Get(key)
	if !ok || v.AsString() != want {
		t.Errorf("resource attribute %s = %q (present %v), want %q", key, v.AsString(), ok, want)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
