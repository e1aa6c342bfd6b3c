package bench

import (
	"context"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// BenchmarkScaleOut measures, in one run, the spans per second the tier
// delivers to Tempo with one agent in front of one gateway and of three
// (collector-configs/agent.yaml with a static resolver, gateway.yaml with
// its defaults), the agent taking gateway-shaped traces as fast as it
// accepts them. Every process shares the machine's cores, so on a small
// machine this says what a gateway costs next to the agent, not how far
// the tier scales across machines (docs/scaling.md).
func BenchmarkScaleOut(b *testing.B) {
	const (
		warmup = 3 * time.Second
		window = 10 * time.Second
	)
	for range b.N {
		for _, n := range []int{1, 3} {
			r := scaleOutRate(b, n, warmup, window)
			b.ReportMetric(r.rate, map[int]string{1: "spans/s-1gw", 3: "spans/s-3gw"}[n])
			b.Logf("agent + %d gateway(s): %.0f spans/s delivered to Tempo; CPU per second of load: agent %.2f cores, gateways %.2f; %.0f spans per gateway CPU-second",
				n, r.rate, r.agentCores, r.gatewayCores, r.rate/r.gatewayCores)
		}
	}
}

type scaleOutResult struct {
	rate                     float64 // spans per second delivered to Tempo
	agentCores, gatewayCores float64 // CPU-seconds per second, all gateways together
}

// scaleOutRate starts an agent and n gateways, loads the agent for
// warmup+window, and measures the window: spans Tempo received per second
// and the processes' CPU.
func scaleOutRate(b *testing.B, n int, warmup, window time.Duration) scaleOutResult {
	b.Helper()
	gws := make([]*harness.Gateway, n)
	endpoints := ""
	for i := range gws {
		gws[i] = harness.StartGateway(b, harness.GatewayOptions{})
		// Set before any span arrives: millions of kept spans would cost
		// the machine more than the collectors do.
		gws[i].Tempo.DiscardPayloads = true
		if i > 0 {
			endpoints += ", "
		}
		endpoints += gws[i].OTLPGRPC
	}
	agentGRPC := harness.FreeAddr(b)
	agent := harness.StartCollector(b, "collector-configs/agent.yaml", map[string]string{
		"OTLP_GRPC_ENDPOINT":        agentGRPC,
		"OTLP_HTTP_ENDPOINT":        harness.FreeAddr(b),
		"LOKI_PUSH_ENDPOINT":        harness.FreeAddr(b),
		"PYROSCOPE_INGEST_ENDPOINT": harness.FreeAddr(b),
		"HEALTH_ENDPOINT":           harness.FreeAddr(b),
		"COLLECTOR_TELEMETRY_HOST":  "127.0.0.1",
		"COLLECTOR_TELEMETRY_PORT":  harness.FreeAddr(b)[len("127.0.0.1:"):],
		"COLLECTOR_STORAGE_DIR":     b.TempDir(),
		"AGENT_SCRAPE_TARGET":       "127.0.0.1:1",
		"AGENT_LOG_GLOB":            b.TempDir() + "/*.log",
		"GATEWAY_DNS":               "false",
		"GATEWAY_STATIC":            "true",
		"GATEWAY_ENDPOINTS":         "[" + endpoints + "]",
	})
	delivered := func() (sum int) {
		for _, gw := range gws {
			sum += gw.Tempo.SpanCount()
		}
		return sum
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := loadgen.Run(ctx, loadgen.Options{Kind: loadgen.Traces, Target: agentGRPC, Workers: 8, Duration: warmup + window}, nil)
		done <- err
	}()
	gatewaysCPU := func() (sum time.Duration) {
		for _, gw := range gws {
			sum += cpuTime(b, gw.Pid())
		}
		return sum
	}
	time.Sleep(warmup)
	start, t0, agent0, gws0 := delivered(), time.Now(), cpuTime(b, agent.Pid()), gatewaysCPU()
	time.Sleep(window)
	secs := time.Since(t0).Seconds()
	r := scaleOutResult{
		rate:         float64(delivered()-start) / secs,
		agentCores:   (cpuTime(b, agent.Pid()) - agent0).Seconds() / secs,
		gatewayCores: (gatewaysCPU() - gws0).Seconds() / secs,
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		b.Fatalf("load: %v", err)
	}
	return r
}
