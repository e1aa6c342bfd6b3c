package bench

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// The metrics bench scrapes a generated exposition once a second through
// gateway.yaml's own FastAPI job and writes it to Mimir over OTLP, here
// metricsSink; the rate is the samples that arrive there per second.
const metricsScrapeInterval = time.Second

// metricsTarget serves whatever exposition is current at /metrics, and an
// empty one on every other path (the FastAPI data job).
type metricsTarget struct {
	addr string
	cur  atomic.Pointer[exposition]
	// served is the samples of every whole scrape answered so far.
	served atomic.Int64
}

// exposition is what one scrape answers, and how many samples it holds.
type exposition struct {
	h       http.Handler
	samples int64
}

func startMetricsTarget(t testing.TB) *metricsTarget {
	t.Helper()
	mt := &metricsTarget{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := mt.cur.Load()
		if r.URL.Path != "/metrics" || x == nil {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			return
		}
		x.h.ServeHTTP(w, r)
		if x.samples > 0 && r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds") != "" {
			mt.served.Add(x.samples)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	mt.addr = ln.Addr().String()
	return mt
}

// set serves `series` series from now on and returns how many samples one
// scrape of them holds (histogram buckets count one each, as Prometheus
// stores them).
func (mt *metricsTarget) set(t testing.TB, series int) int {
	t.Helper()
	x := &exposition{h: metricsHandler(series)}
	mt.cur.Store(x)
	resp, err := http.Get("http://" + mt.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	x.samples = int64(n)
	return n
}

// metricsRun is a pinned gateway scraping mt and writing to a fresh
// metricsSink.
type metricsRun struct {
	mt        *metricsTarget
	gw        *harness.Gateway
	sink      *metricsSink
	telemetry string
}

func startMetricsRun(t testing.TB, e *benchEnv, mt *metricsTarget) *metricsRun {
	t.Helper()
	sink := startMetricsSink(t)
	port := harness.FreePort(t)
	env := productionEnv()
	for k, v := range map[string]string{
		"FASTAPI_TARGET":            mt.addr,
		"FASTAPI_SCRAPE_INTERVAL":   metricsScrapeInterval.String(),
		"FASTAPI_SCRAPE_TIMEOUT":    metricsScrapeInterval.String(),
		"FASTAPI_DATA_METRICS_PATH": "/empty",
		"COLLECTOR_TELEMETRY_PORT":  strconv.Itoa(port),
		"MIMIR_OTLP_URL":            sink.URL,
	} {
		env[k] = v
	}
	gw := harness.StartGateway(t, harness.GatewayOptions{Config: gatewaySource, Env: env})
	pin(t, gw.Pid(), e.collectorCPU)
	return &metricsRun{mt: mt, gw: gw, sink: sink, telemetry: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
}

type metricsReading struct {
	at       time.Time
	appended float64 // samples that reached the sink
	served   float64 // samples of the scrapes the target answered
	rejected float64 // writes the sink could not decode
	queue    float64 // Mimir exporter's queue size (metric points)
	failed   float64 // points the exporter failed to send
	cpu      time.Duration
	load     time.Duration // this process (the exposition and the sink)
}

const mimirExporter = `exporter="otlp_http/mimir"`

func (m *metricsRun) read(t testing.TB) metricsReading {
	t.Helper()
	r := metricsReading{at: time.Now(), cpu: cpuTime(t, m.gw.Pid()), load: cpuTime(t, os.Getpid()),
		appended: float64(m.sink.samples.Load()), served: float64(m.mt.served.Load()), rejected: float64(m.sink.errs.Load())}
	var err error
	if r.queue, _, err = scrapeSum(m.telemetry, "otelcol_exporter_queue_size", mimirExporter); err != nil {
		t.Fatal(err)
	}
	// The collector's own endpoint names counters without `_total` (Mimir
	// adds it to what is written there): with it this never matched.
	if r.failed, _, err = scrapeSum(m.telemetry, "otelcol_exporter_send_failed_metric_points", mimirExporter); err != nil {
		t.Fatal(err)
	}
	return r
}

// span watches the sink for d and returns the readings at the first and
// the last time its appended count moved. Writes land in lumps, one or a
// few per scrape, so a rate over fixed clock times would be off by up
// to a scrape per window; from lump to lump it is exact.
func (m *metricsRun) span(t testing.TB, d time.Duration) (first, last metricsReading) {
	t.Helper()
	prev := m.read(t)
	first, last = prev, prev
	moved := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
		cur := m.read(t)
		if cur.appended != prev.appended {
			if moved == 0 {
				first = cur
			}
			last = cur
			moved++
		}
		prev = cur
	}
	if moved < 2 {
		return first, prev // nothing, or one lump: no rate to speak of
	}
	return first, last
}

// waitSteady waits, up to timeout, until a few scrapes in a row were
// appended whole: the first scrapes of a new target or series set come
// late and partial.
func (m *metricsRun) waitSteady(t testing.TB, perScrape int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		a, b := m.span(t, 3*metricsScrapeInterval)
		if _, why := metricsWindow(a, b, perScrape); why == "" {
			return
		}
	}
}

// metricsWindow judges a span of scraping: the scrape loop kept its
// interval, the sink received what the target served (up to one scrape:
// each scrape lands as a few lumps, so a window's two edges may cut one),
// no point failed, nothing was undecodable, and the exporter's queue did
// not grow by more than a scrape. The rate is what arrived per second.
func metricsWindow(a, b metricsReading, perScrape int) (rate float64, why string) {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 || b.appended <= a.appended {
		return 0, "no sample arrived"
	}
	rate = (b.appended - a.appended) / secs
	scrape := float64(perScrape)
	served, arrived := b.served-a.served, b.appended-a.appended
	switch {
	case b.rejected > a.rejected:
		return rate, fmt.Sprintf("the sink could not decode %.0f writes", b.rejected-a.rejected)
	case b.failed > a.failed:
		return rate, fmt.Sprintf("%.0f points failed", b.failed-a.failed)
	// The queue (metric points, never more than samples) breathes with
	// each scrape's batches; falling behind shows as growth beyond one.
	case b.queue > a.queue+scrape:
		return rate, fmt.Sprintf("queue grew from %.0f to %.0f", a.queue, b.queue)
	case served < (secs/metricsScrapeInterval.Seconds()-1)*scrape:
		return rate, fmt.Sprintf("%.1f scrapes answered in %.1fs of scraping every %s", served/scrape, secs, metricsScrapeInterval)
	case arrived < served-scrape:
		return rate, fmt.Sprintf("%s samples arrived of %s served", si(arrived), si(served))
	}
	return rate, ""
}

// benchMetrics finds how many series a one-second scrape may hold with
// everything written to Mimir in time, then measures a fresh gateway there.
func benchMetrics(t *testing.T, e *benchEnv) *result {
	res := &result{Setup: setup{Name: "scrape-otlp-mimir", Unit: "samples"}}
	mt := startMetricsTarget(t)
	settleFor := 15 * metricsScrapeInterval
	// Long enough that one scrape more or less at a window's edge is an
	// eighth of it.
	windowFor := max(e.step*2, 8*time.Second)
	series := 0.0
	t.Run("search", func(t *testing.T) {
		m := startMetricsRun(t, e, mt)
		defer func() { _ = m.gw.Stop() }()
		series, res.Steps = searchRate(50000, 3.2e6, max(e.refine-1, 1), func(n float64) (bool, string) {
			perScrape := mt.set(t, int(n))
			m.waitSteady(t, perScrape, settleFor)
			a, b := m.span(t, windowFor)
			rate, why := metricsWindow(a, b, perScrape)
			secs := b.at.Sub(a.at).Seconds()
			t.Logf("%s series (%s samples/scrape): %s samples/s arrived, queue %.0f, collector %.0f%% of a core, exposition and sink %.0f%%: %s",
				si(n), si(float64(perScrape)), si(rate), b.queue, 100*(b.cpu-a.cpu).Seconds()/secs, 100*(b.load-a.load).Seconds()/secs, orOK(why))
			return why == "", why
		})
	})
	if series == 0 {
		res.Note = "no series count sustained"
		return res
	}
	// Confirmation, as for the other signals: a whole window at the count
	// the search found, stepping down by a tenth while one fails (the
	// search's short windows let a scrape loop that is just falling
	// behind pass).
	t.Run("measure", func(t *testing.T) {
		m := startMetricsRun(t, e, mt)
		defer func() { _ = m.gw.Stop() }()
		for try := 0; ; try++ {
			perScrape := mt.set(t, int(series))
			m.waitSteady(t, perScrape, settleFor)
			resetPeakRSS(t, m.gw.Pid())
			a, b := m.span(t, e.duration)
			rate, why := metricsWindow(a, b, perScrape)
			t.Logf("%s series: %s samples/s arrived, %s samples per CPU-s, %s", si(series), si(rate), si(float64(b.appended-a.appended)/(b.cpu-a.cpu).Seconds()), orOK(why))
			res.Steps = append(res.Steps, step{Rate: series, OK: why == "", Reason: why, Confirm: true})
			if why != "" && try < 4 {
				series *= 0.9
				continue
			}
			res.Rate = float64(perScrape) / metricsScrapeInterval.Seconds()
			res.Note = fmt.Sprintf("%s series scraped every %s; Mimir exporter's queue %.0f points at the end", si(series), metricsScrapeInterval, b.queue)
			res.Samples = append(res.Samples, sample{
				Rate: rate, Items: int64(b.appended - a.appended), CPU: b.cpu - a.cpu, Busy: b.at.Sub(a.at),
				PeakRSS: peakRSSMiB(t, m.gw.Pid()), Verdict: why, LoadCPU: b.load - a.load,
			})
			return
		}
	})
	// The memory goal holds at the rate goal: above it a scrape holds more
	// series, and the collector more memory, than the goal asks for.
	if len(res.Samples) == 1 && res.Samples[0].Verdict == "" && res.Rate > metricsGoal {
		t.Run("at-goal", func(t *testing.T) {
			m := startMetricsRun(t, e, mt)
			defer func() { _ = m.gw.Stop() }()
			perScrape := mt.set(t, metricsGoal)
			m.waitSteady(t, perScrape, settleFor)
			resetPeakRSS(t, m.gw.Pid())
			a, b := m.span(t, e.duration)
			rate, why := metricsWindow(a, b, perScrape)
			rss := peakRSSMiB(t, m.gw.Pid())
			t.Logf("%s series: %s samples/s arrived, %s samples per CPU-s, peak RSS %.0f MiB, %s", si(metricsGoal), si(rate),
				si(float64(b.appended-a.appended)/(b.cpu-a.cpu).Seconds()), rss, orOK(why))
			res.Samples = append(res.Samples, sample{
				Rate: rate, Round: 1, Items: int64(b.appended - a.appended), CPU: b.cpu - a.cpu, Busy: b.at.Sub(a.at),
				PeakRSS: rss, Verdict: why, LoadCPU: b.load - a.load,
			})
		})
	}
	return res
}
