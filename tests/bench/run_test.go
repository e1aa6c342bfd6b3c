package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// setup is one collector config fed by one kind of load.
type setup struct {
	Name   string
	Config string // repo-relative or absolute; "" = gateway.yaml (gatewaySource)
	Kind   loadKind
	Unit   string // what an item is: spans, lines, uploads ...
	Start  float64
	Batch  int // items per request; 0 = the load generator's default
	// Env is set on the collector over productionEnv: an opt-in of
	// gateway.yaml's (on-disk queues, a tenant-labelling derive branch).
	Env map[string]string
}

// productionFlush is gateway.yaml's default span-metrics and service-graph
// flush interval.
const productionFlush = 15 * time.Second

// productionEnv keeps the gateway at its shipped cadence, not the tests'
// one-second flushes and scrapes, and at the memory settings
// collector-configs/with-memory-limit.sh derives from its default.
func productionEnv() map[string]string {
	return map[string]string{
		"SPANMETRICS_FLUSH_INTERVAL":   productionFlush.String(),
		"SERVICE_GRAPH_FLUSH_INTERVAL": productionFlush.String(),
		"BATCH_TIMEOUT":                "1s",
		"FASTAPI_SCRAPE_INTERVAL":      "15s",
		"FASTAPI_DATA_SCRAPE_INTERVAL": "30s",
		"FASTAPI_SCRAPE_TIMEOUT":       "10s",
		"REDIS_SCRAPE_INTERVAL":        "30s",
		"REDIS_SCRAPE_TIMEOUT":         "10s",
		"SELF_SCRAPE_INTERVAL":         "15s",
		"COLLECTOR_LOG_LEVEL":          "warn",
		"GOMEMLIMIT":                   "1600MiB",
	}
}

// live is a started, pinned collector and the sink its items end up in.
type live struct {
	gw     *harness.Gateway
	pid    int
	kind   loadKind
	target string
	count  func() int
	lat    *harness.Latency
	// factor is sink items (spans, records, profiles) per load item (span,
	// line, upload), measured at warm-up.
	factor  float64
	load    loader
	workers int
	batch   int
}

func startLive(t testing.TB, e *benchEnv, s setup, extraEnv map[string]string) *live {
	t.Helper()
	sink := startRawSink(t)
	env := productionEnv()
	env["TEMPO_OTLP_ENDPOINT"] = sink.GRPCAddr
	env["PYROSCOPE_OTLP_ENDPOINT"] = sink.GRPCAddr
	env["LOKI_OTLP_URL"] = sink.HTTPURL + "/otlp"
	for k, v := range s.Env {
		env[k] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	cfg := s.Config
	if cfg == "" {
		cfg = gatewaySource
	}
	gw := harness.StartGateway(t, harness.GatewayOptions{Config: cfg, Env: env})
	pin(t, gw.Pid(), e.collectorCPU)
	l := &live{gw: gw, pid: gw.Pid(), kind: s.Kind, load: e.load, workers: e.workers, batch: s.Batch, count: sink.Count, lat: sink.lat}
	switch s.Kind {
	case kindTraces, kindProfiles:
		l.target = gw.OTLPGRPC
	case kindLogs:
		l.target = gw.OTLPHTTP
	case kindLokiJSON, kindLokiProto:
		l.target = gw.LokiPush
	case kindPyroscope:
		l.target = gw.PyroscopeIngest
	default:
		t.Fatalf("setup %s: unknown load kind %q", s.Name, s.Kind)
	}
	return l
}

// warm sends for a second at rate, waits for the sink to settle and
// measures how many sink units one load item becomes.
func (l *live) warm(t testing.TB, rate float64) {
	t.Helper()
	before := l.count()
	c, err := l.load(context.Background(), loadOptions{Kind: l.kind, Target: l.target, Rate: rate, Duration: time.Second, Workers: l.workers, Batch: l.batch})
	if err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if c.Accepted == 0 {
		t.Fatalf("warm-up: the collector accepted nothing (%+v)", c)
	}
	l.settle()
	got := l.count() - before
	if got == 0 {
		t.Fatalf("warm-up: %d items accepted, none reached the sink", c.Accepted)
	}
	l.factor = float64(got) / float64(c.Accepted)
}

// settle waits until the sink has received nothing new for longer than
// the batch timeout, so the next window starts with nothing in flight.
func (l *live) settle() {
	last, since := l.count(), time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if n := l.count(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 1500*time.Millisecond {
			return
		}
	}
}

// window is one timed send and what became of it.
type window struct {
	Rate     float64
	Duration time.Duration
	Counts   loadCounts
	Err      error
	Want     int // sink units the accepted items should become
	Exported int // sink units that arrived within the drain window
	CPU      time.Duration
	Busy     time.Duration // send time plus the drain it needed
	// LoadCPU is this process's CPU (generator and sink) in the window: near
	// a full core of its own, the rate was bounded by it, not the collector.
	LoadCPU time.Duration
}

// drainWindow is how long after the last send every accepted item must
// have reached its sink: the batch timeout (1 s) and an export.
const drainWindow = 3 * time.Second

func (l *live) run(t testing.TB, rate float64, d time.Duration) window {
	t.Helper()
	w := window{Rate: rate, Duration: d}
	before := l.count()
	cpu0, self0 := cpuTime(t, l.pid), cpuTime(t, os.Getpid())
	start := time.Now()
	w.Counts, w.Err = l.load(context.Background(), loadOptions{Kind: l.kind, Target: l.target, Rate: rate, Duration: d, Workers: l.workers, Batch: l.batch})
	// The factor is measured, so allow rounding, never a lost item.
	w.Want = int(math.Floor(l.factor*float64(w.Counts.Accepted) + 1e-6))
	for deadline := time.Now().Add(drainWindow); l.count()-before < w.Want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	w.Busy = time.Since(start)
	w.Exported = l.count() - before
	w.CPU = cpuTime(t, l.pid) - cpu0
	w.LoadCPU = cpuTime(t, os.Getpid()) - self0
	return w
}

// verdict says why a window does not count as sustained, or "" if it
// does: everything sent was accepted, nothing refused, the generator
// reached the rate, and every accepted item was exported in time.
func (w window) verdict() string {
	want := w.Rate * w.Duration.Seconds()
	switch {
	case w.Err != nil:
		return w.Err.Error()
	case w.Counts.Refused > 0:
		return fmt.Sprintf("%d refused", w.Counts.Refused)
	case w.Counts.Failed > 0:
		return fmt.Sprintf("%d failed", w.Counts.Failed)
	case float64(w.Counts.Accepted) < 0.97*want:
		return fmt.Sprintf("accepted %s of %s", si(float64(w.Counts.Accepted)), si(want))
	case w.Exported < w.Want:
		return fmt.Sprintf("exported %s of %s within %s", si(float64(w.Exported)), si(float64(w.Want)), drainWindow)
	}
	return ""
}

// sample is one measurement window of one setup: a comparison round, or
// the window that confirmed its sustained rate.
type sample struct {
	Rate     float64
	Round    int // comparison round, from 1; 0 for the sustained window
	Items    int64
	CPU      time.Duration
	Busy     time.Duration
	PeakRSS  float64 // MiB
	P99      time.Duration
	P99OK    bool
	Verdict  string
	Observed int64
	LoadCPU  time.Duration // the bench process's: generator and sink
}

func (s sample) perCPUSecond() float64 { return float64(s.Items) / s.CPU.Seconds() }

// measure starts a fresh collector for setup, warms it, sends at rate for
// the measurement window and records its cost.
func measure(t testing.TB, e *benchEnv, s setup, rate float64, round int) sample {
	t.Helper()
	l := startLive(t, e, s, nil)
	defer func() { _ = l.gw.Stop() }()
	l.warm(t, rate)
	// Peak RSS over the fresh collector's whole life: start, warm-up and
	// window, all at this rate.
	out := l.measureWindow(t, rate, e.duration, false)
	out.Round = round
	return out
}

// measureWindow sends at rate for d and records the window's cost, its
// peak RSS (from the window's start with ownPeak, else since the process
// started) and its P99.
func (l *live) measureWindow(t testing.TB, rate float64, d time.Duration, ownPeak bool) sample {
	t.Helper()
	l.lat.Reset()
	if ownPeak {
		resetPeakRSS(t, l.pid)
	}
	w := l.run(t, rate, d)
	out := sample{
		Rate: rate, Items: w.Counts.Accepted, CPU: w.CPU, Busy: w.Busy,
		PeakRSS: peakRSSMiB(t, l.pid), Verdict: w.verdict(), LoadCPU: w.LoadCPU,
	}
	out.P99, out.P99OK = l.lat.Quantile(0.99)
	obs, skipped := l.lat.Count()
	out.Observed = obs
	// Timestamps that are not send times (a fixture's own) make a P99
	// meaningless: report none rather than a wrong one.
	if skipped > obs/10 {
		out.P99OK = false
	}
	return out
}

// confirmTries bounds the confirmation.
const confirmTries = 5

// search starts a fresh collector for setup, finds its highest rate with
// short steps, then confirms it with whole measurement windows
// (confirmRate). The sustained rate is the highest that held, and its
// window (peak RSS counted from its start) is returned with it.
func search(t testing.TB, e *benchEnv, s setup) (float64, []step, *sample) {
	t.Helper()
	l := startLive(t, e, s, nil)
	defer func() { _ = l.gw.Stop() }()
	l.warm(t, s.Start/4)
	found, steps := searchRate(s.Start, s.Start*1024, e.refine, func(rate float64) (bool, string) {
		w := l.run(t, rate, e.step)
		why := w.verdict()
		if why != "" {
			l.settle() // let a failed step's backlog out before the next
		}
		t.Logf("%s: %s %s/s: %s (collector %.0f%% of a core, load generator and sink %.0f%%)",
			s.Name, s.Kind, si(rate), orOK(why), 100*w.CPU.Seconds()/w.Busy.Seconds(), 100*w.LoadCPU.Seconds()/w.Busy.Seconds())
		return why == "", why
	})
	if found == 0 {
		return 0, steps, nil
	}
	var held *sample
	rate, confirm := confirmRate(found, confirmTries, func(rate float64) (bool, string, float64) {
		l.settle()
		m := l.measureWindow(t, rate, e.duration, true)
		t.Logf("%s: confirm %s %s/s for %s: %s (%s per CPU-s, peak RSS %.0f MiB)",
			s.Name, si(rate), s.Unit, e.duration, orOK(m.Verdict), si(m.perCPUSecond()), m.PeakRSS)
		if m.Verdict == "" {
			held = &m
		}
		return m.Verdict == "", m.Verdict, float64(m.Items) / e.duration.Seconds()
	})
	return rate, append(steps, confirm...), held
}

func orOK(why string) string {
	if why == "" {
		return "ok"
	}
	return why
}
