package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
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

// agentEnv runs an agent that forwards to gw and tails logDir/*.log, every
// listener on a free loopback port.
func agentEnv(t *testing.T, gw *harness.Gateway, logDir string) map[string]string {
	t.Helper()
	gwHost, gwPort, _ := net.SplitHostPort(gw.OTLPGRPC)
	return map[string]string{
		"OTLP_GRPC_ENDPOINT":       harness.FreeAddr(t),
		"OTLP_HTTP_ENDPOINT":       harness.FreeAddr(t),
		"HEALTH_ENDPOINT":          harness.FreeAddr(t),
		"COLLECTOR_TELEMETRY_HOST": "127.0.0.1",
		"COLLECTOR_TELEMETRY_PORT": fmt.Sprint(harness.FreePort(t)),
		"COLLECTOR_STORAGE_DIR":    t.TempDir(),
		"GATEWAY_HOSTNAME":         gwHost,
		"GATEWAY_OTLP_PORT":        gwPort,
		"AGENT_LOG_GLOB":           filepath.Join(logDir, "*.log"),
		"BATCH_TIMEOUT":            "200ms",
	}
}
