// Package bench measures the built collector as a process (`make bench`):
// for each signal the highest rate it sustains on one core, and at that
// rate its CPU-seconds per million items, peak RSS and P99 arrival-to-export
// latency. Configs that are compared run interleaved in one run and are
// reported as ratios; TestBench writes docs/benchmarks.md and its plot.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

type benchEnv struct {
	out          string
	duration     time.Duration
	step         time.Duration
	rounds       int
	refine       int
	signals      []string
	collectorCPU string
	loadCPUs     string
	nproc        int
	workers      int
	load         loader
}

func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 10s", name, v)
	}
	return d
}

func envInt(t testing.TB, name string, def, least int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		t.Fatalf("%s=%q: want an integer of at least %d", name, v, least)
	}
	return n
}

func envFrom(t testing.TB) *benchEnv {
	e := &benchEnv{
		out: os.Getenv("BENCH_OUT"),
		// One span-metrics and service-graph flush interval: every window
		// holds one flush, as production does every 15 s.
		duration: envDuration(t, "BENCH_DURATION", 15*time.Second),
		step:     envDuration(t, "BENCH_STEP", 2*time.Second),
		// Four, not two: one setup's items per CPU-second vary by a tenth
		// either way between fresh collectors at one rate, which two
		// rounds' median does not damp (the run's length: README,
		// Performance).
		rounds: envInt(t, "BENCH_ROUNDS", 4, 1),
		refine: envInt(t, "BENCH_REFINE", 3, 0),
		// Enough concurrent senders that a collector's pause (a GC, a
		// flush) does not cost the paced generator its rate: the generator
		// never makes up lost time.
		workers: envInt(t, "BENCH_WORKERS", 64, 1),
		nproc:   runtime.NumCPU(),
		load:    runLoad,
	}
	sig := os.Getenv("BENCH_SIGNALS")
	if sig == "" {
		sig = "traces,logs,profiles,metrics"
	}
	for _, s := range strings.Split(sig, ",") {
		s = strings.TrimSpace(s)
		if _, ok := signalGroups[s]; !ok && s != "metrics" {
			t.Fatalf("BENCH_SIGNALS: unknown signal %q (traces, logs, profiles, metrics)", s)
		}
		e.signals = append(e.signals, s)
	}
	// One core for the collector, the rest for the load and the sinks: the
	// collector's cost is then its own.
	e.collectorCPU = os.Getenv("BENCH_COLLECTOR_CPU")
	e.loadCPUs = os.Getenv("BENCH_LOAD_CPUS")
	if e.collectorCPU == "" && e.nproc > 1 {
		e.collectorCPU = strconv.Itoa(e.nproc - 1)
	}
	if e.loadCPUs == "" && e.nproc > 1 {
		e.loadCPUs = "0"
		if e.nproc > 2 {
			e.loadCPUs = fmt.Sprintf("0-%d", e.nproc-2)
		}
	}
	return e
}

// comparison is a ratio the report states: items per CPU-second of A over
// those of B, with the minimum the issue asks for (0: none).
type comparison struct {
	Topic string // short name for the goals table
	What  string
	A, B  string
	Goal  float64
}

type group struct {
	Signal      string
	Title       string
	Setups      []setup
	Comparisons []comparison
	// RateGoal is the sustained rate per core the group's receivers must
	// reach (0: none); comparisons run at it when both sides sustain it.
	RateGoal float64
	// PerCPUGoal is the items per CPU-second the first comparison's first
	// setup must reach at that comparison's rate (0: none).
	PerCPUGoal float64
}

// logBatch is lines per push or export. Promtail sends up to 1 MiB per
// push and python-logging-loki whatever its handler buffered; the load
// generator's default of 100 would make the rate a matter of request
// round trips rather than of per-line cost.
const logBatch = 1000

var signalGroups = map[string]group{
	"traces": {
		Signal: "traces", Title: "Spans (OTLP gRPC)",
		Setups: []setup{
			{Name: "gateway", Kind: kindTraces, Unit: "spans", Start: 20000},
			{Name: "gateway-no-redaction", Kind: kindTraces, Unit: "spans", Start: 20000},
			{Name: "passthrough", Kind: kindTraces, Unit: "spans", Start: 40000},
			// The opt-ins README and gateway.yaml put a price on.
			{Name: "gateway-file-storage", Kind: kindTraces, Unit: "spans", Start: 20000, Env: map[string]string{"EXPORT_QUEUE_STORAGE": "file_storage"}},
			{Name: "gateway-tenant-derive", Kind: kindTraces, Unit: "spans", Start: 20000, Env: map[string]string{"DERIVE_PROCESSORS": "[attributes/tenant]"}},
		},
		Comparisons: []comparison{
			{Topic: "span derivation", What: "span metrics, service graph, token metrics (and normalisation, redaction): gateway / pass-through, same exporters", A: "gateway", B: "passthrough", Goal: 0.8},
			{Topic: "redaction", What: "redaction: gateway / gateway without its redaction processors", A: "gateway", B: "gateway-no-redaction", Goal: 0.9},
			{Topic: "on-disk queues", What: "on-disk export queues: gateway with `EXPORT_QUEUE_STORAGE=file_storage` / gateway", A: "gateway-file-storage", B: "gateway"},
			{Topic: "tenant-labelled derivation", What: "tenant-labelled derived metrics: gateway with `DERIVE_PROCESSORS=[attributes/tenant]` / gateway", A: "gateway-tenant-derive", B: "gateway"},
		},
		// Issue 13: 0.8 of the pass-through's ~375k.
		PerCPUGoal: 300000,
	},
	"logs": {
		Signal: "logs", Title: "Log lines (gateway.yaml)",
		Setups: []setup{
			{Name: "loki-push-protobuf", Kind: kindLokiProto, Unit: "lines", Start: 100000, Batch: logBatch},
			{Name: "loki-push-json", Kind: kindLokiJSON, Unit: "lines", Start: 100000, Batch: logBatch},
			{Name: "otlp-logs", Kind: kindLogs, Unit: "lines", Start: 100000, Batch: logBatch},
		},
		Comparisons: []comparison{
			{Topic: "Loki push, protobuf", What: "Loki push (Promtail: snappy protobuf) / OTLP logs carrying the same lines", A: "loki-push-protobuf", B: "otlp-logs", Goal: 0.9},
			{Topic: "Loki push, JSON", What: "Loki push (python-logging-loki: JSON) / OTLP logs carrying the same lines", A: "loki-push-json", B: "otlp-logs", Goal: 0.9},
		},
		RateGoal: 400000,
	},
	"profiles": {
		Signal: "profiles", Title: "Profiles (30 KB gzipped CPU pprof, gateway.yaml)",
		Setups: []setup{
			{Name: "pyroscope-ingest", Kind: kindPyroscope, Unit: "uploads", Start: 100},
			{Name: "otlp-profiles", Kind: kindProfiles, Unit: "profiles", Start: 100},
		},
		Comparisons: []comparison{
			{Topic: "Pyroscope", What: "Pyroscope /ingest / OTLP profiles carrying the same profile", A: "pyroscope-ingest", B: "otlp-profiles"},
		},
		RateGoal: 400,
	},
}

// result is everything measured for one setup.
type result struct {
	Setup setup
	Rate  float64 // sustained: the highest rate that held for a whole window
	Steps []step
	// Sustained is that window, in the search's collector.
	Sustained *sample
	Samples   []sample // comparison rounds, each at its comparison's rate
	Note      string
}

// TestBench is `make bench`. It runs only when BENCH_OUT names the report
// to write: a whole run takes many minutes and wants the machine to itself.
func TestBench(t *testing.T) {
	e := envFrom(t)
	if e.out == "" {
		t.Skip("set BENCH_OUT=docs/benchmarks.md (make bench does) to run the benchmark")
	}
	if !filepath.IsAbs(e.out) {
		e.out = filepath.Join(harness.RepoRoot(), e.out)
	}
	snapshotGateway(t)
	pin(t, os.Getpid(), e.loadCPUs)
	started := time.Now()
	rep := &report{env: e, started: started, redaction: presentRedaction(t)}
	for _, sig := range e.signals {
		if sig == "metrics" {
			t.Run("metrics", func(t *testing.T) { rep.metrics = benchMetrics(t, e) })
			continue
		}
		rep.groups = append(rep.groups, runGroup(t, e, signalGroups[sig]))
	}
	rep.elapsed = time.Since(started)
	if err := rep.write(e.out); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s in %s", e.out, rep.elapsed.Round(time.Second))
}

// runGroup finds each setup's sustained rate, then measures each
// comparison's two setups at one common rate (commonRates) in interleaved
// rounds, each in a fresh collector, rotating the order (A B C, B C A,
// ...), so a machine that slows down part-way slows every setup alike.
func runGroup(t *testing.T, e *benchEnv, g group) groupResult {
	results := map[string]*result{}
	sustained := map[string]float64{}
	for _, s := range g.Setups {
		s := s
		switch s.Name {
		case "gateway-no-redaction":
			s.Config = writeNoRedactionConfig(t)
		case "passthrough":
			s.Config = writePassthroughConfig(t)
		}
		r := &result{Setup: s}
		results[s.Name] = r
		t.Run(g.Signal+"/search/"+s.Name, func(t *testing.T) {
			r.Rate, r.Steps, r.Sustained = search(t, e, s)
			t.Logf("%s: sustained %s %s/s", s.Name, si(r.Rate), s.Unit)
		})
		if r.Rate == 0 {
			r.Note = "no rate sustained"
		}
		sustained[s.Name] = r.Rate
	}
	gr := groupResult{group: g, results: results, rates: commonRates(g.Comparisons, sustained, g.RateGoal)}
	runs := gr.runs()
	for round := range e.rounds {
		for i := range runs {
			run := runs[(i+round)%len(runs)]
			s := results[run.setup]
			t.Run(fmt.Sprintf("%s/round%d/%s@%s", g.Signal, round+1, run.setup, si(run.rate)), func(t *testing.T) {
				m := measure(t, e, s.Setup, run.rate, round+1)
				s.Samples = append(s.Samples, m)
				t.Logf("%s at %s/s: %s %s per CPU-s, peak RSS %.0f MiB, P99 %s, %s",
					s.Setup.Name, si(run.rate), si(m.perCPUSecond()), s.Setup.Unit, m.PeakRSS, m.P99, orOK(m.Verdict))
			})
		}
	}
	return gr
}

// setupRun is one setup at one comparison rate.
type setupRun struct {
	setup string
	rate  float64
}

// runs are the distinct setup runs of one round: every comparison's two
// setups at its rate, each once.
func (gr groupResult) runs() []setupRun {
	var out []setupRun
	for i, c := range gr.group.Comparisons {
		if gr.rates[i] == 0 {
			continue
		}
		for _, name := range []string{c.A, c.B} {
			r := setupRun{name, gr.rates[i]}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}
