// Package bench measures the built collector as a process: how many spans
// each pipeline handles per CPU-second of the collector, and its peak RSS.
// Run with `make bench`; compare configs within one run, as ratios.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

const (
	requestsPerExport = 80 // 5 spans each: 400 spans per export
	exportsPerRound   = 250
	senders           = 4
)

// BenchmarkPipeline sends the same GatewayZ spans through three configs:
// plain pass-through, pass-through plus upstream-default span_metrics and
// service_graph, and the full gateway.yaml.
func BenchmarkPipeline(b *testing.B) {
	cases := []struct{ name, config string }{
		{"passthrough", "tests/bench/testdata/passthrough.yaml"},
		{"plain-spanmetrics", "tests/bench/testdata/plain-spanmetrics.yaml"},
		{"gateway", "collector-configs/gateway.yaml"},
	}
	// BENCH_GATEWAY_VARIANTS=/path/a.yaml,/path/b.yaml compares edited copies
	// of gateway.yaml in the same run.
	for _, v := range strings.Split(os.Getenv("BENCH_GATEWAY_VARIANTS"), ",") {
		if v != "" {
			cases = append(cases, struct{ name, config string }{"gateway-" + strings.TrimSuffix(filepath.Base(v), ".yaml"), v})
		}
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var tempo *harness.OTLPSink
			var pid int
			addr := ""
			if strings.HasPrefix(tc.name, "gateway") {
				gw := harness.StartGateway(b, harness.GatewayOptions{Config: tc.config, Env: map[string]string{
					// Production cadence, not the tests' one-second flushes.
					"SPANMETRICS_FLUSH_INTERVAL":   "15s",
					"SERVICE_GRAPH_FLUSH_INTERVAL": "15s",
					"BATCH_TIMEOUT":                "1s",
					"COLLECTOR_LOG_LEVEL":          "warn",
				}})
				gw.Tempo.DiscardPayloads = true
				tempo, pid, addr = gw.Tempo, gw.Pid(), gw.OTLPGRPC
			} else {
				tempo = harness.StartOTLPSink(b)
				tempo.DiscardPayloads = true
				addr = harness.FreeAddr(b)
				c := harness.StartCollector(b, tc.config, map[string]string{
					"OTLP_GRPC_ENDPOINT":     addr,
					"HEALTH_ENDPOINT":        harness.FreeAddr(b),
					"TEMPO_OTLP_ENDPOINT":    tempo.GRPCAddr,
					"MIMIR_REMOTE_WRITE_URL": harness.DiscardingRemoteWrite(b),
				})
				pid = c.Pid()
			}
			exports := buildExports(exportsPerRound)
			client := harness.DialOTLP(b, addr)
			perRound := exportsPerRound * requestsPerExport * scenario.SpansPerRequest

			send(b, client, exports[:10]) // warm-up: connections, caches
			waitSpans(b, tempo, 10*requestsPerExport*scenario.SpansPerRequest)
			cpu0 := cpuTime(b, pid)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				send(b, client, exports)
			}
			waitSpans(b, tempo, 10*requestsPerExport*scenario.SpansPerRequest+b.N*perRound)
			b.StopTimer()
			cpu := cpuTime(b, pid) - cpu0
			b.ReportMetric(float64(b.N*perRound)/cpu.Seconds(), "spans/cpu-s")
			b.ReportMetric(peakRSSMiB(b, pid), "peak-RSS-MiB")
		})
	}
}

func buildExports(n int) []ptraceotlp.ExportRequest {
	out := make([]ptraceotlp.ExportRequest, n)
	start := time.Now().Add(-time.Minute)
	for i := range out {
		sc := scenario.Scenario{Requests: requestsPerExport, FailEvery: 10, Start: start, IDBase: i * requestsPerExport}
		out[i] = ptraceotlp.NewExportRequestFromTraces(sc.Traces())
	}
	return out
}

func send(b *testing.B, client *harness.OTLPConn, exports []ptraceotlp.ExportRequest) {
	errs := make(chan error, senders)
	for w := 0; w < senders; w++ {
		go func(w int) {
			for i := w; i < len(exports); i += senders {
				if err := client.ExportTraces("bench", exports[i]); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < senders; w++ {
		if err := <-errs; err != nil {
			b.Fatalf("export: %v", err)
		}
	}
}

func waitSpans(b *testing.B, sink *harness.OTLPSink, want int) {
	deadline := time.Now().Add(2 * time.Minute)
	for sink.SpanCount() < want {
		if time.Now().After(deadline) {
			b.Fatalf("sink has %d spans, want %d", sink.SpanCount(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime is the process's user+system CPU time from /proc.
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func peakRSSMiB(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
