package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestAgentForwardsToGateway runs agent.yaml as a sidecar in front of a
// gateway: spans sent to the agent and lines appended to a tailed file
// reach Tempo and Loki through the gateway, with the sender's tenant.
func TestAgentForwardsToGateway(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{})
	logDir := t.TempDir()
	agentEnv := agentEnv(t, gw, logDir)
	agent := harness.StartCollector(t, "collector-configs/agent.yaml", agentEnv)
	_ = agent

	sc := scenario.Scenario{Requests: 6, FailEvery: 3, Start: time.Now().Add(-time.Minute)}
	harness.SendTraces(t, agentEnv["OTLP_GRPC_ENDPOINT"], spanTenant, sc.Traces())

	tid := scenario.TraceID(99)
	line := fmt.Sprintf(`{"timestamp":"2026-11-27T10:00:00.123456789Z","level":"error","message":"provider timeout","trace_id":"%s","span_id":"%s"}`,
		tid, scenario.SpanID(99, 1))
	if err := os.WriteFile(filepath.Join(logDir, "api.log"), []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	gw.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)

	var got plog.LogRecord
	var res pcommon.Map
	harness.Eventually(t, 30*time.Second, func() error {
		for _, r := range gw.Loki.Requests() {
			for i := 0; i < r.Logs.ResourceLogs().Len(); i++ {
				rl := r.Logs.ResourceLogs().At(i)
				lrs := rl.ScopeLogs().At(0).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if lrs.At(k).Body().Str() == line {
						got, res = lrs.At(k), rl.Resource().Attributes()
						return nil
					}
				}
			}
		}
		return fmt.Errorf("the tailed line has not reached Loki")
	})
	if got.TraceID() != tid {
		t.Errorf("trace id %s, want %s lifted from the JSON line", got.TraceID(), tid)
	}
	if got.SeverityNumber() != plog.SeverityNumberError {
		t.Errorf("severity %v, want ERROR from the line's level", got.SeverityNumber())
	}
	if want := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC); !got.Timestamp().AsTime().Equal(want) {
		t.Errorf("timestamp %v, want %v from the line", got.Timestamp().AsTime(), want)
	}
	expectAttr(t, res, "service.name", "gatewayz-api")
	expectAttr(t, res, "deployment.environment", "production")
}

// agentEnv runs an agent that forwards to gw (through its DNS resolver: an
// IP address resolves to itself) and tails logDir/*.log, every listener on
// a free loopback port.
func agentEnv(t *testing.T, gw *harness.Gateway, logDir string) map[string]string {
	t.Helper()
	gwHost, gwPort, _ := net.SplitHostPort(gw.OTLPGRPC)
	return map[string]string{
		"OTLP_GRPC_ENDPOINT":        harness.FreeAddr(t),
		"OTLP_HTTP_ENDPOINT":        harness.FreeAddr(t),
		"LOKI_PUSH_ENDPOINT":        harness.FreeAddr(t),
		"PYROSCOPE_INGEST_ENDPOINT": harness.FreeAddr(t),
		"HEALTH_ENDPOINT":           harness.FreeAddr(t),
		"COLLECTOR_TELEMETRY_HOST":  "127.0.0.1",
		"COLLECTOR_TELEMETRY_PORT":  fmt.Sprint(harness.FreePort(t)),
		"COLLECTOR_STORAGE_DIR":     t.TempDir(),
		"COLLECTOR_INSTANCE_ID":     "agent-test",
		"GATEWAY_HOSTNAME":          gwHost,
		"GATEWAY_OTLP_PORT":         gwPort,
		"AGENT_LOG_GLOB":            filepath.Join(logDir, "*.log"),
		// Nothing listens on port 1: a test that wants the scrape sets its own.
		"AGENT_SCRAPE_TARGET":     "127.0.0.1:1",
		"FASTAPI_SCRAPE_INTERVAL": "1s",
		"FASTAPI_SCRAPE_TIMEOUT":  "1s",
		"BATCH_TIMEOUT":           "200ms",
	}
}

// staticResolver points an agent env at a fixed list of gateways instead of
// DNS (loopback gateways differ by port, which DNS cannot say).
func staticResolver(env map[string]string, gws ...*harness.Gateway) {
	endpoints := make([]string, len(gws))
	for i, gw := range gws {
		endpoints[i] = gw.OTLPGRPC
	}
	env["GATEWAY_DNS"] = "false"
	env["GATEWAY_STATIC"] = "true"
	env["GATEWAY_ENDPOINTS"] = "[" + strings.Join(endpoints, ", ") + "]"
}

// TestAgentTakesEverySignal: what the application hands its agent on each
// of its ingress ports (a Loki push, a Pyroscope upload, OTLP profiles) and
// what the agent scrapes from its /metrics reach the gateway's backends,
// under the sender's tenant, and the scraped series are named after the
// agent (COLLECTOR_INSTANCE_ID), not after "localhost".
func TestAgentTakesEverySignal(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true})
	env := agentEnv(t, gw, t.TempDir())
	env["AGENT_SCRAPE_TARGET"] = harness.StartFakeFastAPI(t)
	harness.StartCollector(t, "collector-configs/agent.yaml", env)

	line := "agent loki line " + time.Now().Format(time.RFC3339Nano)
	push := fmt.Sprintf(`{"streams":[{"stream":{"service_name":"gatewayz-api"},"values":[["%d",%q]]}]}`, time.Now().UnixNano(), line)
	req, err := http.NewRequest(http.MethodPost, "http://"+env["LOKI_PUSH_ENDPOINT"]+"/loki/api/v1/push", strings.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", spanTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("Loki push to the agent: %d, want 204", resp.StatusCode)
	}

	from := time.Now().Add(-10 * time.Second)
	q := url.Values{
		"name":   {"agent-app.cpu"},
		"format": {"folded"},
		"from":   {strconv.FormatInt(from.Unix(), 10)},
		"until":  {strconv.FormatInt(from.Add(10*time.Second).Unix(), 10)},
	}
	if status, msg := postPyroscopeIngest(t, http.DefaultClient, "http://"+env["PYROSCOPE_INGEST_ENDPOINT"], q.Encode(), "text/plain", []byte("main;handle 3\nmain;idle 2\n"), profileTenant); status != http.StatusOK {
		t.Fatalf("Pyroscope upload to the agent: %d %q, want 200", status, msg)
	}
	harness.SendProfiles(t, env["OTLP_GRPC_ENDPOINT"], profileTenant, smallProfiles())

	harness.Eventually(t, 30*time.Second, func() error {
		for _, r := range gw.Loki.Requests() {
			lrs := r.Logs.ResourceLogs()
			for i := 0; i < lrs.Len(); i++ {
				recs := lrs.At(i).ScopeLogs().At(0).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					if recs.At(k).Body().Str() == line {
						if r.Tenant() != spanTenant {
							return fmt.Errorf("the pushed line reached Loki as tenant %q, want %q", r.Tenant(), spanTenant)
						}
						return nil
					}
				}
			}
		}
		return fmt.Errorf("the pushed line has not reached Loki")
	})
	harness.Eventually(t, 30*time.Second, func() error {
		services := map[string]bool{}
		for _, r := range gw.Pyroscope.Requests() {
			if r.Tenant() != profileTenant {
				return fmt.Errorf("a profile reached Pyroscope as tenant %q, want %q", r.Tenant(), profileTenant)
			}
			rps := r.Profiles.ResourceProfiles()
			for i := 0; i < rps.Len(); i++ {
				name, _ := rps.At(i).Resource().Attributes().Get("service.name")
				services[name.AsString()] = true
			}
		}
		// smallProfiles names no service: its resource has none.
		if !services["agent-app"] || len(gw.Pyroscope.Requests()) != 2 {
			return fmt.Errorf("Pyroscope got %d requests from services %v, want the upload (agent-app) and the OTLP profile", len(gw.Pyroscope.Requests()), services)
		}
		return nil
	})
	gw.Prometheus.Expect(t, harness.PromQL{
		`up{job="gatewayz_production", instance="agent-test"}`:                            harness.Value(1),
		`sum(gatewayz_http_requests_total{instance="agent-test"})`:                        harness.Value(harness.FakeFastAPIRequests),
		`gatewayz_http_requests_total{job="gatewayz_production", instance!="agent-test"}`: harness.Series(0),
	})
}
