package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestOnDiskQueueSurvivesRestart: with EXPORT_QUEUE_STORAGE=file_storage,
// spans accepted while Tempo is down are still delivered after the gateway
// restarts, with the tenant they came with.
func TestOnDiskQueueSurvivesRestart(t *testing.T) {
	storage := t.TempDir()
	sc := scenario.Scenario{Requests: 20, FailEvery: 4, Start: time.Now().Add(-time.Minute)}
	queueOnDisk := map[string]string{
		"EXPORT_QUEUE_STORAGE":  "file_storage",
		"COLLECTOR_STORAGE_DIR": storage,
	}

	first := harness.StartGateway(t, harness.GatewayOptions{Env: queueOnDisk})
	first.Tempo.SetFault(harness.Fault{GRPCCode: codes.Unavailable}) // Tempo is down
	harness.SendTraces(t, first.OTLPGRPC, spanTenant, sc.Traces())
	harness.Eventually(t, 30*time.Second, func() error {
		if first.Tempo.Refused() == 0 {
			return fmt.Errorf("the Tempo exporter has not tried yet")
		}
		return nil
	})
	if err := first.Stop(); err != nil {
		t.Fatalf("first gateway did not stop cleanly: %v", err)
	}
	if n := first.Tempo.SpanCount(); n != 0 {
		t.Fatalf("the refusing Tempo recorded %d spans", n)
	}

	second := harness.StartGateway(t, harness.GatewayOptions{Env: queueOnDisk})
	second.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)
}

// TestBackendOutageLosesNothing: Tempo (gRPC UNAVAILABLE), Loki (HTTP 503,
// slowly) and Mimir (HTTP 503 to its OTLP writes) refuse everything for the
// first seconds, then recover; the gateway's retries deliver every span
// and every log record exactly once, and the span metrics in full.
func TestBackendOutageLosesNothing(t *testing.T) {
	const outage = 3 * time.Second
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true})
	gw.Tempo.SetFault(harness.Fault{GRPCCode: codes.Unavailable, For: outage})
	gw.Loki.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable, Delay: time.Second, For: outage})
	gw.Prometheus.SetFault(harness.Fault{HTTPStatus: http.StatusServiceUnavailable, For: outage})

	sc := scenario.Scenario{Requests: 30, FailEvery: 5, Start: time.Now().Add(-time.Minute)}
	harness.SendTraces(t, gw.OTLPGRPC, spanTenant, sc.Traces())
	harness.SendLogs(t, gw.OTLPHTTP, logTenant, sc.Logs())

	// Retries back off from 5 s: allow a few rounds.
	gw.Prometheus.WaitFor(t, 60*time.Second, harness.PromQL{
		`sum(traces_spanmetrics_calls_total)`: harness.Value(float64(sc.SpanCount())),
	})
	harness.Eventually(t, 60*time.Second, func() error {
		if n, m := gw.Tempo.SpanCount(), gw.Loki.LogCount(); n < sc.SpanCount() || m < sc.Requests {
			return fmt.Errorf("tempo has %d of %d spans, loki %d of %d records", n, sc.SpanCount(), m, sc.Requests)
		}
		return nil
	})

	for name, refused := range map[string]int{
		"tempo": gw.Tempo.Refused(), "loki": gw.Loki.Refused(), "mimir": gw.Prometheus.Refused(),
	} {
		if refused == 0 {
			t.Errorf("%s refused nothing: the outage began after the data had passed", name)
		}
	}
	assertOnce(t, gw, sc.SpanCount(), sc.Requests)
}

// countIDs counts every span of td by span id.
func countIDs(seen map[string]int, td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				seen[sp.SpanID().String()]++
			}
		}
	}
}

// countLogIDs counts every record of ld by its span id, which the
// scenario makes unique per record.
func countLogIDs(seen map[string]int, ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				seen[lr.SpanID().String()]++
			}
		}
	}
}
