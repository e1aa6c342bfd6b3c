package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// metricsSink is the metrics bench's Mimir: an OTLP/HTTP metrics endpoint
// that decodes every write (any Content-Encoding Mimir takes, then the
// protobuf wire format) and counts the samples Mimir would store of it. A
// real Prometheus costs about as much CPU per sample to append as the
// collector does to scrape and write it, and it shares the load core, so
// it cannot take the rates the collector is measured at; the end-to-end
// tests check that what the exporter sends is stored right.
type metricsSink struct {
	// URL is the base URL, as MIMIR_OTLP_URL takes it.
	URL     string
	samples atomic.Int64
	errs    atomic.Int64
	lastErr atomic.Value
}

func startMetricsSink(t testing.TB) *metricsSink {
	t.Helper()
	s := &metricsSink{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/otlp"
	return s
}

func (s *metricsSink) serve(w http.ResponseWriter, r *http.Request) {
	err := errors.New("not an OTLP protobuf metrics write")
	if r.URL.Path == "/otlp/v1/metrics" && r.Header.Get("Content-Type") == "application/x-protobuf" {
		var raw []byte
		if raw, err = harness.ReadBody(r); err == nil {
			var n int64
			if n, err = countOTLPSamples(raw); err == nil {
				s.samples.Add(n)
				w.Header().Set("Content-Type", "application/x-protobuf")
				w.WriteHeader(http.StatusOK)
				return
			}
		}
	}
	s.errs.Add(1)
	s.lastErr.Store(err.Error())
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// OTLP metrics field numbers (opentelemetry/proto/metrics/v1).
const (
	fieldResourceMetrics = 1 // ExportMetricsServiceRequest
	fieldScopeMetrics    = 2 // ResourceMetrics
	fieldMetrics         = 2 // ScopeMetrics
	fieldGauge           = 5 // Metric ...
	fieldSum             = 7
	fieldHistogram       = 9
	fieldExpHistogram    = 10
	fieldSummary         = 11
	fieldDataPoints      = 1 // Gauge, Sum, Histogram, ExponentialHistogram, Summary
	fieldPointSum        = 5 // HistogramDataPoint (optional), SummaryDataPoint
	fieldExplicitBounds  = 7
	fieldQuantileValues  = 6 // SummaryDataPoint
)

// countOTLPSamples counts the samples Prometheus and Mimir store of an
// ExportMetricsServiceRequest: one per gauge or sum point; a histogram
// point is its buckets (one per bound and +Inf), _count and, when it has
// one, _sum; a summary point its quantiles, _sum and _count; an
// exponential histogram point one native histogram.
func countOTLPSamples(b []byte) (int64, error) {
	var n int64
	one := func([]byte) error { n++; return nil }
	histogram := func(p []byte) error {
		bounds, hasSum, err := histogramShape(p)
		n += int64(bounds) + 2 // the bounds' buckets, +Inf, _count
		if hasSum {
			n++
		}
		return err
	}
	summary := func(p []byte) error {
		n += 2 // _sum, _count
		return eachField(p, fieldQuantileValues, one)
	}
	points := func(field protowire.Number, f func([]byte) error) func([]byte) error {
		return func(m []byte) error {
			return eachField(m, field, func(data []byte) error { return eachField(data, fieldDataPoints, f) })
		}
	}
	metric := []func([]byte) error{
		points(fieldGauge, one), points(fieldSum, one), points(fieldHistogram, histogram),
		points(fieldExpHistogram, one), points(fieldSummary, summary),
	}
	err := eachField(b, fieldResourceMetrics, func(rm []byte) error {
		return eachField(rm, fieldScopeMetrics, func(sm []byte) error {
			return eachField(sm, fieldMetrics, func(m []byte) error {
				for _, f := range metric {
					if err := f(m); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
	return n, err
}

// histogramShape reads a HistogramDataPoint's number of explicit bounds
// (packed, or one fixed64 each) and whether it has a sum.
func histogramShape(p []byte) (bounds int, hasSum bool, err error) {
	for len(p) > 0 {
		num, typ, l := protowire.ConsumeTag(p)
		if l < 0 {
			return 0, false, protowire.ParseError(l)
		}
		p = p[l:]
		switch {
		case num == fieldExplicitBounds && typ == protowire.BytesType:
			v, l := protowire.ConsumeBytes(p)
			if l < 0 || len(v)%8 != 0 {
				return 0, false, fmt.Errorf("explicit_bounds: %d bytes", len(v))
			}
			bounds += len(v) / 8
		case num == fieldExplicitBounds && typ == protowire.Fixed64Type:
			bounds++
		case num == fieldPointSum && typ == protowire.Fixed64Type:
			hasSum = true
		}
		l = protowire.ConsumeFieldValue(num, typ, p)
		if l < 0 {
			return 0, false, protowire.ParseError(l)
		}
		p = p[l:]
	}
	return bounds, hasSum, nil
}

// TestMetricsSinkCountsSamples: every kind of point is counted as the
// samples Mimir stores of it, attributes are not, the exporter's zstd is
// read, and a write that does not decode is answered 400 and counted as
// an error, not as samples.
func TestMetricsSinkCountsSamples(t *testing.T) {
	s := startMetricsSink(t)
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty().SetEmptyGauge()
	g.DataPoints().AppendEmpty().Attributes().PutStr("job", "x")
	g.DataPoints().AppendEmpty().SetDoubleValue(2)
	// Gauge points 2, sum point 1.
	ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().SetIntValue(3)
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints()
	// 3 bounds + +Inf + _count + _sum = 6.
	withSum := h.AppendEmpty()
	withSum.ExplicitBounds().FromRaw([]float64{0.1, 1, 10})
	withSum.BucketCounts().FromRaw([]uint64{1, 0, 0, 2})
	withSum.SetCount(3)
	withSum.SetSum(12)
	// No bounds, no sum: +Inf and _count = 2.
	h.AppendEmpty().SetCount(0)
	// One native histogram: 1.
	ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty().SetCount(4)
	// 2 quantiles + _sum + _count = 4.
	q := ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty().QuantileValues()
	q.AppendEmpty().SetQuantile(0.5)
	q.AppendEmpty().SetQuantile(0.99)
	const want = 2 + 1 + 6 + 2 + 1 + 4
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte, encoding string) int {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/metrics", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(raw, ""); code != http.StatusOK {
		t.Fatalf("a good write answered %d (%v), want 200", code, s.lastErr.Load())
	}
	enc, _ := zstd.NewWriter(nil)
	if code := post(enc.EncodeAll(raw, nil), "zstd"); code != http.StatusOK {
		t.Fatalf("a good zstd write answered %d (%v), want 200", code, s.lastErr.Load())
	}
	if code := post([]byte{0x0a, 0xff}, ""); code != http.StatusBadRequest {
		t.Fatalf("a truncated write answered %d, want 400", code)
	}
	if code := post(raw, "zstd"); code != http.StatusBadRequest {
		t.Fatalf("a write that is not the zstd it says answered %d, want 400", code)
	}
	if got := s.samples.Load(); got != 2*want {
		t.Errorf("counted %d samples, want %d", got, 2*want)
	}
	if got := s.errs.Load(); got != 2 {
		t.Errorf("counted %d bad writes, want 2", got)
	}
}

// TestMetricsWindow: a window passes only when every scrape came on time
// and its samples arrived (up to one scrape cut by the window's edges),
// nothing failed or was undecodable, and the queue did not grow by more
// than a scrape.
func TestMetricsWindow(t *testing.T) {
	at := time.Unix(0, 0)
	a := metricsReading{at: at, appended: 1000, served: 5000, queue: 10}
	ok := metricsReading{at: at.Add(4 * time.Second), appended: 1000 + 4*50000, served: 5000 + 4*50000, queue: 40000}
	for _, c := range []struct {
		name string
		b    func(r metricsReading) metricsReading
		want string
	}{
		{"everything arrived", func(r metricsReading) metricsReading { return r }, ""},
		{"one scrape still in flight at the edge", func(r metricsReading) metricsReading { r.appended -= 50000; return r }, ""},
		{"one scrape fewer answered at the edge", func(r metricsReading) metricsReading { r.served -= 50000; r.appended -= 50000; return r }, ""},
		{"nothing arrived", func(r metricsReading) metricsReading { r.appended = a.appended; return r }, "no sample arrived"},
		{"too few arrived", func(r metricsReading) metricsReading { r.appended -= 50001; return r }, "150k samples arrived of 200k served"},
		{"scrapes fell behind", func(r metricsReading) metricsReading { r.served -= 100001; return r }, "2.0 scrapes answered in 4.0s of scraping every 1s"},
		{"a point failed", func(r metricsReading) metricsReading { r.failed = 1; return r }, "1 points failed"},
		{"a write did not decode", func(r metricsReading) metricsReading { r.rejected = 1; return r }, "the sink could not decode 1 writes"},
		{"the queue grew", func(r metricsReading) metricsReading { r.queue = 60000; return r }, "queue grew from 10 to 60000"},
	} {
		if _, why := metricsWindow(a, c.b(ok), 50000); why != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, why, c.want)
		}
	}
}
