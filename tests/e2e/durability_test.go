package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestOnDiskQueueSurvivesRestart: with EXPORT_QUEUE_STORAGE=file_storage,
// spans accepted while Tempo is down are still delivered after the gateway
// restarts, with the tenant they came with.
func TestOnDiskQueueSurvivesRestart(t *testing.T) {
	storage := t.TempDir()
	sc := scenario.Scenario{Requests: 20, FailEvery: 4, Start: time.Now().Add(-time.Minute)}

	first := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"EXPORT_QUEUE_STORAGE":  "file_storage",
		"COLLECTOR_STORAGE_DIR": storage,
		"TEMPO_OTLP_ENDPOINT":   "127.0.0.1:1", // Tempo is down
	}})
	sendTracesGRPC(t, first.OTLPGRPC, spanTenant, sc.Traces())
	harness.Eventually(t, 30*time.Second, func() error {
		if !first.HasLogLine("otlp_grpc/tempo", "Exporting failed. Will retry") {
			return fmt.Errorf("the Tempo exporter has not tried yet")
		}
		return nil
	})
	if err := first.Stop(); err != nil {
		t.Fatalf("first gateway did not stop cleanly: %v", err)
	}

	second := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"EXPORT_QUEUE_STORAGE":  "file_storage",
		"COLLECTOR_STORAGE_DIR": storage,
	}})
	harness.Eventually(t, 30*time.Second, func() error {
		if n := second.Tempo.SpanCount(); n != sc.SpanCount() {
			return fmt.Errorf("tempo has %d spans after the restart, want %d", n, sc.SpanCount())
		}
		return nil
	})
	for _, r := range second.Tempo.Requests() {
		if r.Tenant() != spanTenant {
			t.Errorf("replayed request tenant %q, want %q", r.Tenant(), spanTenant)
		}
	}
}
