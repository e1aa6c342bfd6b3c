// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver/internal/metadata"
)

const openMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"

// exposer answers each scrape with the next of its responses (the last
// one again once they are used up) and remembers the requests.
type exposer struct {
	mu        sync.Mutex
	responses []func(http.ResponseWriter)
	n         int
	requests  []*http.Request
}

func body(contentType, text string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", contentType)
		_, _ = fmt.Fprint(w, text)
	}
}

func (e *exposer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	respond := e.responses[min(e.n, len(e.responses)-1)]
	e.n++
	e.requests = append(e.requests, r)
	e.mu.Unlock()
	respond(w)
}

// recorder keeps what the receiver hands on, split by scrape: a scrape
// ends with its report gauges.
type recorder struct {
	mu       sync.Mutex
	requests [][]pmetric.Metrics
	cur      []pmetric.Metrics
	err      atomic.Pointer[error]
}

func (r *recorder) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (r *recorder) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur = append(r.cur, md)
	if findMetric(md, "scrape_series_added").Name() != "" {
		r.requests = append(r.requests, r.cur)
		r.cur = nil
	}
	if err := r.err.Load(); err != nil {
		return *err
	}
	return nil
}

// scrape returns the requests of the i-th scrape, waiting for it.
func (r *recorder) scrape(t *testing.T, i int) []pmetric.Metrics {
	t.Helper()
	var got []pmetric.Metrics
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.requests) > i {
			got = r.requests[i]
			return true
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	return got
}

func start(t *testing.T, e *exposer, next consumer.Metrics, edit func(*Config)) *observer.ObservedLogs {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	cfg := createDefaultConfig().(*Config)
	cfg.ScrapeConfigs = []ScrapeConfig{{
		JobName:        "app",
		ScrapeInterval: 50 * time.Millisecond,
		ScrapeTimeout:  40 * time.Millisecond,
		StaticConfigs:  []StaticConfig{{Targets: []string{strings.TrimPrefix(srv.URL, "http://")}}},
	}}
	if edit != nil {
		edit(cfg)
	}
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	r, err := NewFactory().CreateMetrics(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return logs
}

func inScrape(reqs []pmetric.Metrics, name string) pmetric.Metric {
	for _, md := range reqs {
		if m := findMetric(md, name); m.Name() != "" {
			return m
		}
	}
	return pmetric.NewMetric()
}

func gaugeValue(t *testing.T, reqs []pmetric.Metrics, name string) float64 {
	t.Helper()
	m := inScrape(reqs, name)
	require.Equal(t, pmetric.MetricTypeGauge, m.Type(), name)
	require.Equal(t, 1, m.Gauge().DataPoints().Len(), name)
	return m.Gauge().DataPoints().At(0).DoubleValue()
}

func TestRequestsAreBounded(t *testing.T) {
	var text strings.Builder
	text.WriteString("# TYPE g gauge\n")
	for i := range 10 {
		fmt.Fprintf(&text, "g{i=\"%d\"} %d\n", i, i)
	}
	text.WriteString("# TYPE h histogram\n")
	for i := range 3 {
		fmt.Fprintf(&text, "h_bucket{i=\"%d\",le=\"1.0\"} 1\nh_bucket{i=\"%d\",le=\"+Inf\"} 2\nh_count{i=\"%d\"} 2\nh_sum{i=\"%d\"} 3\n", i, i, i, i)
	}
	text.WriteString("# EOF\n")
	rec := &recorder{}
	start(t, &exposer{responses: []func(http.ResponseWriter){body(openMetrics, text.String())}}, rec,
		func(c *Config) { c.MaxPointsPerRequest = 3 })

	reqs := rec.scrape(t, 1)
	points, gauges, hists := 0, 0, 0
	for _, md := range reqs {
		assert.LessOrEqual(t, md.DataPointCount(), 3)
		points += md.DataPointCount()
		if g := findMetric(md, "g"); g.Type() == pmetric.MetricTypeGauge {
			gauges += g.Gauge().DataPoints().Len()
		}
		if m := findMetric(md, "h"); m.Type() == pmetric.MetricTypeHistogram {
			h := m.Histogram().DataPoints()
			for i := 0; i < h.Len(); i++ {
				// No histogram is cut in two.
				assert.Equal(t, []uint64{1, 1}, h.At(i).BucketCounts().AsRaw())
				assert.Equal(t, uint64(2), h.At(i).Count())
			}
			hists += h.Len()
		}
	}
	assert.Equal(t, 10, gauges)
	assert.Equal(t, 3, hists)
	assert.Equal(t, 10+3+5, points)
	assert.Equal(t, 6, len(reqs))
}

func TestMalformedExpositionKeepsWhatCameBefore(t *testing.T) {
	good := "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# EOF\n"
	bad := "# TYPE a gauge\na 1\n# TYPE b gauge\nb two\n# EOF\n"
	rec := &recorder{}
	logs := start(t, &exposer{responses: []func(http.ResponseWriter){body(openMetrics, good), body(openMetrics, bad)}}, rec, nil)

	first := rec.scrape(t, 0)
	assert.Equal(t, 1.0, gaugeValue(t, first, "up"))
	second := rec.scrape(t, 1)
	assert.Equal(t, 0.0, gaugeValue(t, second, "up"))
	assert.Equal(t, 1.0, gaugeValue(t, second, "a"), "the sample before the error is delivered")
	b := inScrape(second, "b")
	require.Equal(t, pmetric.MetricTypeGauge, b.Type())
	require.Equal(t, 1, b.Gauge().DataPoints().Len())
	assert.True(t, b.Gauge().DataPoints().At(0).Flags().NoRecordedValue(), "the series after the error is stale")

	warned := logs.FilterMessage("Failed to scrape Prometheus endpoint").All()
	require.NotEmpty(t, warned)
	assert.Contains(t, warned[0].ContextMap()["error"], "parsing the exposition")
	assert.Contains(t, warned[0].ContextMap()["error"], "two")
}

func TestFailedScrapes(t *testing.T) {
	good := "# TYPE c counter\nc_total 1\n# TYPE g gauge\ng 2\n# EOF\n"
	for name, failure := range map[string]func(http.ResponseWriter){
		"status": func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) },
		"content type": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprint(w, "{}")
		},
		"timeout": func(w http.ResponseWriter) {
			time.Sleep(100 * time.Millisecond)
			body(openMetrics, good)(w)
		},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			logs := start(t, &exposer{responses: []func(http.ResponseWriter){body(openMetrics, good), failure, body(openMetrics, good)}}, rec, nil)
			assert.Equal(t, 1.0, gaugeValue(t, rec.scrape(t, 0), "up"))

			failed := rec.scrape(t, 1)
			assert.Equal(t, 0.0, gaugeValue(t, failed, "up"))
			assert.Equal(t, 0.0, gaugeValue(t, failed, "scrape_samples_scraped"))
			for _, m := range []pmetric.Metric{inScrape(failed, "c_total"), inScrape(failed, "g")} {
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					t.Fatalf("no stale point for %q", m.Name())
				}
				require.Equal(t, 1, dps.Len(), m.Name())
				assert.True(t, dps.At(0).Flags().NoRecordedValue(), m.Name())
			}
			require.NotEmpty(t, logs.FilterMessage("Failed to scrape Prometheus endpoint").All())

			// Recovered: the series are known still, as in Prometheus, and
			// none is stale again.
			again := rec.scrape(t, 2)
			assert.Equal(t, 1.0, gaugeValue(t, again, "up"))
			assert.Equal(t, 0.0, gaugeValue(t, again, "scrape_series_added"))
			assert.False(t, inScrape(again, "g").Gauge().DataPoints().At(0).Flags().NoRecordedValue())
		})
	}
}

func TestScrapeRequest(t *testing.T) {
	e := &exposer{responses: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		_, _ = fmt.Fprint(gz, "# TYPE g gauge\ng 7\n")
		_ = gz.Close()
	}}}
	rec := &recorder{}
	start(t, e, rec, func(c *Config) { c.ScrapeConfigs[0].MetricsPath = "/prometheus/metrics" })
	assert.Equal(t, 7.0, gaugeValue(t, rec.scrape(t, 0), "g"), "a gzipped text 0.0.4 answer")

	e.mu.Lock()
	r := e.requests[0]
	e.mu.Unlock()
	assert.Equal(t, "/prometheus/metrics", r.URL.Path)
	assert.Equal(t, acceptHeader, r.Header.Get("Accept"))
	assert.True(t, strings.HasPrefix(r.Header.Get("Accept"), "application/openmetrics-text;version=1.0.0"))
	assert.Equal(t, "gzip", r.Header.Get("Accept-Encoding"))
	assert.Equal(t, "0.04", r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"))
}

func TestRefusedRequestsAreLoggedAndScrapingGoesOn(t *testing.T) {
	rec := &recorder{}
	refused := errors.New("memory limit reached")
	rec.err.Store(&refused)
	logs := start(t, &exposer{responses: []func(http.ResponseWriter){body(openMetrics, "# TYPE g gauge\ng 1\n# EOF\n")}}, rec, nil)
	rec.scrape(t, 0)
	rec.err.Store(nil)
	assert.Equal(t, 1.0, gaugeValue(t, rec.scrape(t, 2), "g"))
	warned := logs.FilterMessage("Scraped metrics were refused").All()
	require.NotEmpty(t, warned)
	assert.Equal(t, "memory limit reached", warned[0].ContextMap()["error"])
}

// A series the target stops exposing is stale once, then forgotten; one
// that comes back is new.
func TestSeriesComeAndGo(t *testing.T) {
	with := "# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 2\n# EOF\n"
	without := "# TYPE g gauge\ng{a=\"1\"} 1\n# EOF\n"
	rec := &recorder{}
	start(t, &exposer{responses: []func(http.ResponseWriter){body(openMetrics, with), body(openMetrics, without), body(openMetrics, without), body(openMetrics, with)}}, rec, nil)

	points := func(i int) (fresh, stale int) {
		m := inScrape(rec.scrape(t, i), "g")
		require.Equal(t, pmetric.MetricTypeGauge, m.Type())
		dps := m.Gauge().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			if dps.At(j).Flags().NoRecordedValue() {
				stale++
			} else {
				fresh++
			}
		}
		return fresh, stale
	}
	for i, want := range [][2]int{{2, 0}, {1, 1}, {1, 0}, {2, 0}} {
		fresh, stale := points(i)
		assert.Equal(t, want, [2]int{fresh, stale}, "scrape %d", i)
	}
	assert.Equal(t, 2.0, gaugeValue(t, rec.scrape(t, 0), "scrape_series_added"))
	assert.Equal(t, 0.0, gaugeValue(t, rec.scrape(t, 1), "scrape_series_added"))
	assert.Equal(t, 1.0, gaugeValue(t, rec.scrape(t, 3), "scrape_series_added"))
}

// Once a scrape's requests are handed on and gone, nothing the receiver
// keeps holds any chunk of that scrape's body: the next scrape's fetch
// would otherwise find the heap holding them too (at 250k series, 21 MB).
func TestScrapeKeepsNoBody(t *testing.T) {
	tgt := newTarget(&ScrapeConfig{JobName: "app"}, &Config{}, "127.0.0.1:1", nil, "test", zap.NewNop())
	tgt.chunk = 40
	body := []byte("# TYPE a counter\na_total{x=\"1\"} 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 1\n" +
		"# TYPE b histogram\nb_bucket{le=\"1\",y=\"2\"} 1\nb_bucket{le=\"+Inf\",y=\"2\"} 2\nb_count{y=\"2\"} 2\nb_sum{y=\"2\"} 3\n" +
		"c{z=\"3\"} 4\nc{z=\"4\"} 5\nc{z=\"5\"} 6\n# EOF\n")
	var chunks []weak.Pointer[byte]
	defer func(f func(int) []byte) { newChunk = f }(newChunk)
	newChunk = func(n int) []byte {
		b := make([]byte, 0, n)
		chunks = append(chunks, weak.Make(&b[:1][0]))
		return b
	}
	var requests int
	s := tgt.begin(time.Now(), 100, func(pmetric.Metrics) { requests++ })
	require.NoError(t, s.parse(packed(body, tgt.chunk), "application/openmetrics-text; version=1.0.0"))
	s.finish(time.Millisecond, true, nil)
	require.Positive(t, requests)
	require.Equal(t, 8, tgt.series.len())
	require.Greater(t, len(chunks), 3, "the body is parsed in chunks")
	s = nil
	runtime.GC()
	runtime.GC()
	for i, c := range chunks {
		assert.Nil(t, c.Value(), "chunk %d of the scrape's body is still reachable after it was handed on", i)
	}
	runtime.KeepAlive(tgt)
}
