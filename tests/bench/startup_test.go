package bench

import (
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// BenchmarkStartupToHealthy: from exec of the binary with gateway.yaml to
// the health check's first 200, backends absent.
func BenchmarkStartupToHealthy(b *testing.B) {
	var total time.Duration
	for n := 0; n < b.N; n++ {
		start := time.Now()
		gw := harness.StartGateway(b, harness.GatewayOptions{})
		total += time.Since(start)
		if err := gw.Stop(); err != nil {
			b.Fatalf("stop: %v", err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-healthy")
}
