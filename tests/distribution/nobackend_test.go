package distribution

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// TestStaysUpWithoutBackends: with no backend reachable the gateway stays
// healthy, keeps retrying, says so in one readable line per failing
// exporter (no stack traces), and stops on SIGTERM within SHUTDOWN_TIMEOUT.
func TestStaysUpWithoutBackends(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"MIMIR_OTLP_URL":          "http://127.0.0.1:1/otlp",
		"LOKI_OTLP_URL":           "http://127.0.0.1:1/otlp",
		"TEMPO_OTLP_ENDPOINT":     "127.0.0.1:1",
		"PYROSCOPE_OTLP_ENDPOINT": "127.0.0.1:1",
	}})

	// Both receivers must take data while every exporter fails: the
	// sending queues hold it. No tenant: the default applies.
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3})
	sp.SetSpanID(pcommon.SpanID{4, 5, 6})
	sp.SetName("GET /health")
	harness.SendTraces(t, gw.OTLPGRPC, "", td)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("backend down")
	harness.SendLogs(t, gw.OTLPHTTP, "", ld)

	// Every exporter says so at its first failed try; Mimir's gets the
	// collector's self-scrape (SELF_SCRAPE_INTERVAL, 5s here).
	for _, exporter := range []string{"otlp_grpc/tempo", "otlp_http/loki", "otlp_http/mimir"} {
		harness.Eventually(t, 30*time.Second, func() error {
			if gw.HasLogLine(exporter, "127.0.0.1:1", "failed") {
				return nil
			}
			return fmt.Errorf("no log line names %s and its unreachable endpoint", exporter)
		})
	}
	if err := harness.WaitHTTP200(gw.Health, 2*time.Second); err != nil {
		t.Fatalf("unhealthy while backends are down: %v", err)
	}
	logs := gw.Logs()
	for _, bad := range []string{"panic", "goroutine ", "stacktrace", ".go:" + "\n\t"} {
		if strings.Contains(logs, bad) {
			t.Errorf("collector output contains %q:\n%s", bad, logs)
		}
	}
	// The span's derived metrics are flushed into Mimir's exporter at the
	// stop and cannot be sent, so the stop ends at SHUTDOWN_TIMEOUT (5 s) with a
	// line naming what was still queued, or completes if nothing was.
	start := time.Now()
	if err := gw.Stop(); err != nil {
		t.Fatalf("did not stop on SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 7*time.Second {
		t.Errorf("stop took %v, want at most SHUTDOWN_TIMEOUT (5s) and a margin", took)
	}
	if logs := gw.Logs(); !strings.Contains(logs, "Shutdown complete") && !strings.Contains(logs, "exporter still holds queued data") {
		t.Error("neither 'Shutdown complete' nor the bounded stop's queued-data line after SIGTERM")
	}
}
