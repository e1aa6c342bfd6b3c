package bench

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// These tests check the bench's own machinery without a collector: a
// stub stands in for the load generator and the collector behind it.

func TestSearchRate(t *testing.T) {
	for _, tc := range []struct{ start, capacity float64 }{
		{20000, 300000}, // doubles up, then bisects
		{20000, 20000},  // the start is the capacity
		{50000, 9000},   // halves down first
		{100, 450},
	} {
		got, steps := searchRate(tc.start, tc.start*1024, 3, func(r float64) (bool, string) {
			if r <= tc.capacity {
				return true, ""
			}
			return false, "over capacity"
		})
		// Three geometric bisections of a factor-2 bracket: within 2^(1/8).
		if got > tc.capacity || got < tc.capacity/math.Pow(2, 1.0/8) {
			t.Errorf("start %v capacity %v: found %v (steps %+v)", tc.start, tc.capacity, got, steps)
		}
		for _, s := range steps {
			if s.OK != (s.Rate <= tc.capacity) || (s.OK != (s.Reason == "")) {
				t.Errorf("step %+v recorded wrongly", s)
			}
		}
	}
	if got, _ := searchRate(100, 1000, 3, func(float64) (bool, string) { return false, "down" }); got != 0 {
		t.Errorf("nothing passes: found %v, want 0", got)
	}
	if got, _ := searchRate(100, 1000, 3, func(float64) (bool, string) { return true, "" }); got != 800 {
		t.Errorf("everything passes: found %v, want the last doubling under the cap, 800", got)
	}
}

// stubCollector accepts up to capacity items per second, refuses the rest
// and delivers what it accepted to its sink after a delay; loss drops a
// share of the accepted items, as a collector losing data would.
type stubCollector struct {
	capacity float64
	delay    time.Duration
	loss     float64
	perItem  int // sink units per item
	sink     atomic.Int64
}

func (s *stubCollector) load(_ context.Context, o loadOptions) (loadCounts, error) {
	sent := int64(o.Rate * o.Duration.Seconds())
	accepted := min(sent, int64(s.capacity*o.Duration.Seconds()))
	delivered := int64(float64(accepted)*(1-s.loss)) * int64(s.perItem)
	time.AfterFunc(s.delay, func() { s.sink.Add(delivered) })
	time.Sleep(o.Duration)
	return loadCounts{Sent: sent, Accepted: accepted, Refused: sent - accepted}, nil
}

func TestWindowAgainstStub(t *testing.T) {
	st := &stubCollector{capacity: 5000, delay: 50 * time.Millisecond, perItem: 3}
	l := &live{pid: os.Getpid(), load: st.load, count: func() int { return int(st.sink.Load()) }}
	l.warm(t, 1000)
	if l.factor != 3 {
		t.Fatalf("factor %v, want the stub's 3 sink units per item", l.factor)
	}
	rate, steps := searchRate(1000, 1e6, 2, func(r float64) (bool, string) {
		w := l.run(t, r, 200*time.Millisecond)
		return w.verdict() == "", w.verdict()
	})
	if rate > 5000 || rate < 5000/math.Pow(2, 0.25) {
		t.Errorf("found %v, want close under the stub's capacity 5000 (steps %+v)", rate, steps)
	}
	refused := false
	for _, s := range steps {
		refused = refused || strings.Contains(s.Reason, "refused")
	}
	if !refused {
		t.Errorf("no step over capacity was failed for refusals: %+v", steps)
	}

	// A collector that accepts everything but loses some fails on export.
	st.loss = 0.01
	w := l.run(t, 1000, 200*time.Millisecond)
	if why := w.verdict(); !strings.Contains(why, "exported") {
		t.Errorf("lossy collector: verdict %q, want an export shortfall", why)
	}
}

func TestWindowVerdict(t *testing.T) {
	base := window{Rate: 1000, Duration: time.Second, Counts: loadCounts{Sent: 1000, Accepted: 1000}, Want: 1000, Exported: 1000}
	if why := base.verdict(); why != "" {
		t.Fatalf("clean window judged %q", why)
	}
	slow := base
	slow.Counts.Accepted, slow.Counts.Sent, slow.Want, slow.Exported = 900, 900, 900, 900
	failed := base
	failed.Counts.Failed = 1
	for name, w := range map[string]window{"generator short of the rate": slow, "a failed item": failed} {
		if w.verdict() == "" {
			t.Errorf("%s passed", name)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (otel col (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 100 0 0"
	d, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if d != (1234+56)*10*time.Millisecond {
		t.Errorf("cpu %v, want 12.9s", d)
	}
	if _, err := parseStatCPU("4242 (truncated) S 1"); err == nil {
		t.Error("a short stat line parsed")
	}
	if own := cpuTime(t, os.Getpid()); own <= 0 {
		t.Errorf("this process's CPU time %v", own)
	}
}

func TestPromSum(t *testing.T) {
	text := `# HELP otelcol_exporter_queue_size x
otelcol_exporter_queue_size{data_type="metrics",exporter="prometheus_remote_write/mimir"} 7
otelcol_exporter_queue_size{data_type="traces",exporter="otlp_grpc/tempo"} 100
otelcol_exporter_queue_size_capacity{exporter="prometheus_remote_write/mimir"} 10000
prometheus_tsdb_head_samples_appended_total{type="float"} 1.5e+06
prometheus_tsdb_head_samples_appended_total{type="histogram"} 10
up 1
`
	for _, tc := range []struct {
		metric string
		match  []string
		want   float64
		found  bool
	}{
		{"otelcol_exporter_queue_size", []string{rwExporter}, 7, true},
		{"otelcol_exporter_queue_size", nil, 107, true},
		{"prometheus_tsdb_head_samples_appended_total", nil, 1500010, true},
		{"up", nil, 1, true},
		{"otelcol_exporter_send_failed_metric_points_total", nil, 0, false},
	} {
		got, found, err := promSum(strings.NewReader(text), tc.metric, tc.match...)
		if err != nil || got != tc.want || found != tc.found {
			t.Errorf("%s %v: %v %v %v, want %v %v", tc.metric, tc.match, got, found, err, tc.want, tc.found)
		}
	}
	if _, _, err := promSum(strings.NewReader("up{a=\"b\"} x\n"), "up"); err == nil {
		t.Error("a malformed value parsed")
	}
}

func TestPlot(t *testing.T) {
	var buf bytes.Buffer
	err := plot(&buf, "test", []panel{{Title: "ratios", Bars: []bar{
		{Label: "meets", Value: 0.95, Goal: 0.9, AtLeast: true, Text: "0.95"},
		{Label: "misses", Value: 0.5, Goal: 0.9, AtLeast: true, Text: "0.50"},
		{Label: "not measured", Value: math.NaN(), Text: "n/a"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	for name, c := range map[string][3]uint32{"green (met)": {46, 139, 87}, "red (missed)": {205, 92, 92}, "text": {30, 30, 30}} {
		if !seen[c] {
			t.Errorf("no %s pixel in the plot", name)
		}
	}
}

func TestReportWrite(t *testing.T) {
	mk := func(name string, rate float64, perCPU int64, rss float64) *result {
		return &result{Setup: setup{Name: name, Kind: kindTraces, Unit: "spans"}, Rate: rate, Samples: []sample{
			{Items: perCPU, CPU: time.Second, Busy: 2 * time.Second, PeakRSS: rss, P99: 1200 * time.Millisecond, P99OK: true},
			{Items: perCPU, CPU: time.Second, Busy: 2 * time.Second, PeakRSS: rss - 10, P99: 1400 * time.Millisecond, P99OK: true},
			{Items: perCPU * 2, CPU: 2 * time.Second, Busy: 4 * time.Second, PeakRSS: rss, P99: 1300 * time.Millisecond, P99OK: true, Verdict: "3 refused"},
		}}
	}
	g := signalGroups["traces"]
	rep := &report{env: &benchEnv{duration: time.Second, step: time.Second, rounds: 3}, started: time.Now(), groups: []groupResult{{group: g, results: map[string]*result{
		"gateway":              mk("gateway", 100000, 150000, 300),
		"gateway-no-redaction": mk("gateway-no-redaction", 110000, 160000, 200),
		"passthrough":          mk("passthrough", 300000, 300000, 120),
	}}}}
	dir := t.TempDir()
	out := filepath.Join(dir, "benchmarks.md")
	if err := rep.write(out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		generatedNotes,
		"| gateway | passthrough | 0.50 |", // 150k / 300k per CPU-s
		"| 0.50 | **no** |",                // below the 0.8 goal
		"| 0.94 | yes |",                   // 150k / 160k meets 0.9
		"300 MiB | **no** |",               // peak RSS over 256
		"1300 ms",                          // median P99
		"2/3",                              // one round was not clean
		"gateway round 3: 3 refused",
		"(benchmarks.png)",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, reportPNG)); err != nil {
		t.Errorf("no plot beside the report: %v", err)
	}
}

// TestRawSink: the counting sink finds every span, log record and profile
// of an OTLP export, over gRPC and HTTP, and times them by their stamps.
func TestRawSink(t *testing.T) {
	s := startRawSink(t)
	sent := time.Now().Add(-300 * time.Millisecond)
	sc := scenario.Scenario{Requests: 20, FailEvery: 10, Start: sent.Add(-time.Second)}
	td := sc.Traces()
	// Stamp each trace's root with the send time, as the load generator does.
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if sp.ParentSpanID().IsEmpty() {
					sp.SetEndTimestamp(pcommon.NewTimestampFromTime(sent))
				}
			}
		}
	}
	harness.SendTraces(t, s.GRPCAddr, "t", td)
	if got := s.Count(); got != td.SpanCount() {
		t.Fatalf("traces: counted %d, sent %d", got, td.SpanCount())
	}
	p99, ok := s.lat.Quantile(0.99)
	if !ok || p99 < 300*time.Millisecond || p99 > 2*time.Second {
		t.Errorf("span P99 %s %v, want about 300ms (the roots' stamp, not the children's ends)", p99, ok)
	}

	ld := sc.Logs()
	harness.SendLogs(t, s.HTTPURL+"/otlp", "t", ld)
	if got := s.Count() - td.SpanCount(); got != ld.LogRecordCount() {
		t.Errorf("logs: counted %d, sent %d", got, ld.LogRecordCount())
	}

	// gateway.yaml may compress its Loki export with zstd.
	raw, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := zstd.NewWriter(nil)
	req, _ := http.NewRequest(http.MethodPost, s.HTTPURL+"/otlp/v1/logs", bytes.NewReader(zw.EncodeAll(raw, nil)))
	req.Header.Set("Content-Encoding", "zstd")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("zstd logs: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := s.Count() - td.SpanCount(); got != 2*ld.LogRecordCount() {
		t.Errorf("zstd logs: counted %d in all, want %d", got, 2*ld.LogRecordCount())
	}

	pd, err := loadgen.ProfileBatch(3)
	if err != nil {
		t.Fatal(err)
	}
	before := s.Count()
	harness.SendProfiles(t, s.GRPCAddr, "t", pd)
	want := 0
	for _, rp := range pd.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			want += sp.Profiles().Len()
		}
	}
	if got := s.Count() - before; got != want || want == 0 {
		t.Errorf("profiles: counted %d, sent %d", got, want)
	}
}
