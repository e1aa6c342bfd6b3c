package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// TestSlowBackend: Tempo answers every export 2 s late while eight clients
// send as fast as they are answered for 15 s. The gateway's export queue
// fills, memory_limiter turns the pressure back on the clients (retryable
// refusals only, on gRPC and the HTTP receivers alike), the queue never
// reaches its capacity (so nothing is dropped for a full queue) and the
// anonymous RSS stays under the container limit. Once Tempo is fast again
// the queue drains and every span the gateway accepted arrives.
func TestSlowBackend(t *testing.T) {
	telemetryPort := harness.FreePort(t)
	env := memoryEnv(t, overloadContainerMiB)
	env["COLLECTOR_TELEMETRY_PORT"] = fmt.Sprint(telemetryPort)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: env})
	gw.Tempo.DiscardPayloads = true
	gw.Tempo.SetFault(harness.Fault{Delay: 2 * time.Second})
	conn := harness.DialOTLP(t, gw.OTLPGRPC)
	rss := watchRSS(t, gw.Pid())

	queue := func() float64 {
		return selfMetric(t, metricsURL, "otelcol_exporter_queue_size", `exporter="otlp_grpc/tempo"`)
	}
	capacity := selfMetric(t, metricsURL, "otelcol_exporter_queue_capacity", `exporter="otlp_grpc/tempo"`)
	if capacity == 0 {
		t.Fatal("the gateway reports no queue capacity for otlp_grpc/tempo")
	}

	stop := make(chan struct{})
	probe := newIngressProbe(gw, ingressRetryAfter)
	probing := probe.every(stop)
	var maxQueue float64
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
				maxQueue = max(maxQueue, queue())
			}
		}
	}()
	load := closedLoad(conn, 8, 15*time.Second, 20000)
	close(stop)
	<-probing
	<-sampling
	t.Logf("under a 2 s Tempo: %s; queue max %.0f of %.0f items; HTTP probes accepted %v, refused %v",
		load, maxQueue, capacity, probe.accepted, probe.refused)

	if len(load.fatal) != 0 {
		t.Errorf("non-retryable answers: %v", load.fatal[:min(5, len(load.fatal))])
	}
	if load.refused.Load() == 0 {
		t.Errorf("the slow backend never pushed back on the clients: %s", load)
	}
	if len(probe.wrong) != 0 {
		t.Errorf("HTTP receivers answered wrongly: %v", probe.wrong[:min(5, len(probe.wrong))])
	}
	if maxQueue == 0 {
		t.Error("the Tempo queue never held anything: the delay did not slow the exporter")
	}
	if maxQueue >= capacity {
		t.Errorf("the Tempo queue filled (%.0f of %.0f): spans were dropped for a full queue", maxQueue, capacity)
	}
	checkRSS(t, rss)

	gw.Tempo.SetFault(harness.Fault{})
	harness.Eventually(t, 60*time.Second, func() error {
		if q := queue(); q != 0 {
			return fmt.Errorf("the Tempo queue still holds %.0f items", q)
		}
		return nil
	})
	waitDelivered(t, gw.Tempo, load.accepted.Load(), load.uncertain.Load(), 30*time.Second)
	harness.Eventually(t, 30*time.Second, func() error {
		if got := gw.Loki.LogCount(); got != probe.logsAccepted {
			return fmt.Errorf("Loki has %d records, want the %d accepted", got, probe.logsAccepted)
		}
		return nil
	})
	checkNothingDroppedInside(t, gw.Collector)
}
