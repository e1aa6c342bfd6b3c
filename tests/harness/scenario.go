package harness

import (
	"maps"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// The tenants StartScenarioGateway sends as, and the gateway's TENANT_ID
// unless the options set another: three different ones, so a test can
// tell which tenant each backend write took.
const (
	ScenarioSpanTenant    = "acme"
	ScenarioLogTenant     = "globex"
	ScenarioDefaultTenant = "gatewayz-default"
)

// StartScenarioGateway starts the fake FastAPI backend and the gateway with
// a real Prometheus (opts.Prometheus is forced on; opts.Env may override
// TENANT_ID, FASTAPI_TARGET and FASTAPI_DATA_METRICS_PATH), sends sc's
// traces over OTLP/gRPC as ScenarioSpanTenant and its logs over OTLP/HTTP
// as ScenarioLogTenant, and returns once Prometheus answers for everything
// derived from them (span metrics, service graph and token totals equal to
// what sc implies) and for both FastAPI scrape jobs.
func StartScenarioGateway(t testing.TB, sc scenario.Scenario, opts GatewayOptions) *Gateway {
	t.Helper()
	opts.Prometheus = true
	env := map[string]string{
		"TENANT_ID":                 ScenarioDefaultTenant,
		"FASTAPI_TARGET":            StartFakeFastAPI(t),
		"FASTAPI_DATA_METRICS_PATH": FakeFastAPIDataPath,
	}
	maps.Copy(env, opts.Env)
	opts.Env = env
	gw := StartGateway(t, opts)

	SendTraces(t, gw.OTLPGRPC, ScenarioSpanTenant, sc.Traces())
	sentAt := time.Now()
	SendLogs(t, gw.OTLPHTTP, ScenarioLogTenant, sc.Logs())

	gw.Prometheus.WaitFor(t, 60*time.Second, PromQL{
		`sum(traces_spanmetrics_calls_total)`: Value(float64(sc.SpanCount())),
	})
	t.Logf("spans sent %d (%d requests, %d failed); span metrics queryable %s after the export returned",
		sc.SpanCount(), sc.Requests, sc.Failures(), time.Since(sentAt).Round(10*time.Millisecond))
	in, out := sc.Tokens("")
	gw.Prometheus.WaitFor(t, 30*time.Second, PromQL{
		`sum(traces_service_graph_request_total)`:     Value(float64(sc.Requests * scenario.EdgesPerRequest)),
		`sum(gen_ai_client_token_usage_input_total)`:  Value(float64(in)),
		`sum(gen_ai_client_token_usage_output_total)`: Value(float64(out)),
		`up{job="gatewayz_production"}`:               Series(1),
		`up{job="gatewayz_data_metrics_production"}`:  Series(1),
	})
	return gw
}
