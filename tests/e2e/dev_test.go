package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// TestDevPipeline runs what `make dev` runs: gateway.yaml with the
// dev.yaml overlay, a real Prometheus as the metrics store, the load
// generator's /metrics as the FastAPI target, and every kind of the load
// generator at once for a few seconds. The files under the data dir must
// hold exactly the spans, log records and profiles the generator was told
// were accepted, and Prometheus (through the live summary's own queries)
// exactly what those spans imply.
func TestDevPipeline(t *testing.T) {
	data := t.TempDir()
	const series = 40
	fastapi := httptest.NewServer(loadgen.MetricsHandler(series))
	t.Cleanup(fastapi.Close)
	gw := harness.StartGateway(t, harness.GatewayOptions{
		Prometheus: true,
		Overlays:   []string{"collector-configs/dev.yaml"},
		Env: map[string]string{
			"DEV_DATA_DIR":   data,
			"FASTAPI_TARGET": strings.TrimPrefix(fastapi.URL, "http://"),
		},
	})

	const traceBatch = 400
	runs := []loadgen.Options{
		{Kind: loadgen.Traces, Target: gw.OTLPGRPC, Rate: 4000, BatchSize: traceBatch},
		{Kind: loadgen.Logs, Target: gw.OTLPHTTP, Rate: 500},
		{Kind: loadgen.LokiJSON, Target: gw.LokiPush, Rate: 500},
		{Kind: loadgen.LokiProto, Target: gw.LokiPush, Rate: 500},
		{Kind: loadgen.Pyroscope, Target: gw.PyroscopeIngest, Rate: 2},
		{Kind: loadgen.Profiles, Target: gw.OTLPGRPC, Rate: 2},
	}
	counts := make([]loadgen.Counts, len(runs))
	var wg sync.WaitGroup
	for i, o := range runs {
		o.Duration, o.Workers, o.Tenant = 3*time.Second, 2, "dev-tenant"
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := loadgen.Run(context.Background(), o, nil)
			if err != nil {
				t.Errorf("%s: %v", o.Kind, err)
			}
			counts[i] = c
		}()
	}
	wg.Wait()
	for i, c := range counts {
		t.Logf("%s: %+v", runs[i].Kind, c)
		if c.Accepted == 0 || c.Accepted != c.Sent {
			t.Errorf("%s: counts %+v: want everything accepted at this light load", runs[i].Kind, c)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	spans := counts[0].Accepted
	records := counts[1].Accepted + counts[2].Accepted + counts[3].Accepted
	profiles := counts[4].Accepted + counts[5].Accepted

	harness.Eventually(t, 30*time.Second, func() error {
		got := fileCounts(t, data)
		want := [3]int64{spans, records, profiles}
		if got != want {
			return fmt.Errorf("files under the data dir hold %d spans, %d log records, %d profiles; want %v", got[0], got[1], got[2], want)
		}
		return nil
	})

	requests := spans / scenario.SpansPerRequest
	batches := spans / traceBatch
	in, out := scenario.Scenario{Requests: traceBatch / scenario.SpansPerRequest}.Tokens("")
	gw.Prometheus.Expect(t, harness.PromQL{
		`sum(traces_spanmetrics_calls_total)`:         harness.Value(float64(spans)),
		`sum(traces_service_graph_request_total)`:     harness.Value(float64(requests * scenario.EdgesPerRequest)),
		`sum(gen_ai_client_token_usage_input_total)`:  harness.Value(float64(batches * int64(in))),
		`sum(gen_ai_client_token_usage_output_total)`: harness.Value(float64(batches * int64(out))),
		`up{job="gatewayz_production"}`:               harness.Value(1),
		// Every series the generator serves arrives, histogram included.
		`count({__name__=~"gatewayz_.+", job="gatewayz_production"})`: harness.Value(series),
	})

	// The live summary reads the same numbers.
	s, err := loadgen.Summarize(context.Background(), gw.Prometheus.URL)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	t.Logf("watch summary:\n%s", s)
	if s.Requests != float64(requests) || s.Failed != float64(requests/loadgen.TraceFailEvery) {
		t.Errorf("summary: %v requests, %v failed; want %d, %d", s.Requests, s.Failed, requests, requests/loadgen.TraceFailEvery)
	}
	if len(s.Edges) != scenario.EdgesPerRequest+1 { // two providers
		t.Errorf("summary edges %+v: want user, router, redis and two providers", s.Edges)
	}
	if len(s.P95ByModel) != 2 || len(s.TokensIn) != 2 {
		t.Errorf("summary p95 %v, tokens %v: want both models", s.P95ByModel, s.TokensIn)
	}
}

// fileCounts totals the spans, log records and profiles (one
// ResourceProfiles per pprof) in the file exporters' JSON lines.
func fileCounts(t *testing.T, dir string) (n [3]int64) {
	t.Helper()
	each := func(name string, count func([]byte) (int, error)) int64 {
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var total int64
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			c, err := count(sc.Bytes())
			if err != nil {
				// A line the exporter is still writing.
				return -1
			}
			total += int64(c)
		}
		return total
	}
	n[0] = each("traces.jsonl", func(b []byte) (int, error) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
		return td.SpanCount(), err
	})
	n[1] = each("logs.jsonl", func(b []byte) (int, error) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
		return ld.LogRecordCount(), err
	})
	n[2] = each("profiles.jsonl", func(b []byte) (int, error) {
		pd, err := (&pprofile.JSONUnmarshaler{}).UnmarshalProfiles(b)
		return pd.ResourceProfiles().Len(), err
	})
	return n
}
