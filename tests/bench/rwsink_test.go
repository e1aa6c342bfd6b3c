package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// rwSink is the metrics bench's Mimir: a remote-write endpoint that decodes
// every write (snappy, then the protobuf wire format) and counts its
// samples. A real Prometheus costs about as much CPU per sample to append
// as the collector does to scrape and write it, and it shares the load
// core, so it cannot take the rates the collector is measured at; the
// end-to-end tests check that what remote write sends is stored right.
type rwSink struct {
	URL     string
	samples atomic.Int64
	errs    atomic.Int64
	lastErr atomic.Value
}

func startRWSink(t testing.TB) *rwSink {
	t.Helper()
	s := &rwSink{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/api/v1/write"
	return s
}

func (s *rwSink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		var raw []byte
		if raw, err = snappy.Decode(nil, body); err == nil {
			var n int64
			if n, err = countRemoteWriteSamples(raw); err == nil {
				s.samples.Add(n)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	s.errs.Add(1)
	s.lastErr.Store(err.Error())
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// countRemoteWriteSamples counts the samples and native histograms of a
// prometheus.WriteRequest: field 1 is a TimeSeries, whose fields 2 and 4
// are its samples and histograms.
func countRemoteWriteSamples(b []byte) (int64, error) {
	var n int64
	count := func([]byte) error { n++; return nil }
	err := eachField(b, 1, func(ts []byte) error {
		if err := eachField(ts, 2, count); err != nil {
			return err
		}
		return eachField(ts, 4, count)
	})
	return n, err
}

// TestRWSinkCountsSamples: samples and native histograms of every series
// are counted, labels are not, and a write that does not decode is
// answered 400 and counted as an error, not as samples.
func TestRWSinkCountsSamples(t *testing.T) {
	s := startRWSink(t)
	req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "__name__", Value: "a"}, {Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "b"}}, Samples: []prompb.Sample{{Value: 3, Timestamp: 1}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "c"}}, Histograms: []prompb.Histogram{{Timestamp: 1}}},
	}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte) int {
		resp, err := http.Post(s.URL, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(snappy.Encode(nil, raw)); code != http.StatusNoContent {
		t.Fatalf("a good write answered %d, want 204", code)
	}
	if code := post(snappy.Encode(nil, []byte{0x0a, 0xff})); code != http.StatusBadRequest {
		t.Fatalf("a truncated write answered %d, want 400", code)
	}
	if code := post(raw); code != http.StatusBadRequest {
		t.Fatalf("a write without snappy answered %d, want 400", code)
	}
	if got := s.samples.Load(); got != 4 {
		t.Errorf("counted %d samples, want 4", got)
	}
	if got := s.errs.Load(); got != 2 {
		t.Errorf("counted %d bad writes, want 2", got)
	}
}

// TestMetricsWindow: a window passes only when the scrapes' samples
// arrived, nothing failed or was undecodable, and the queue did not grow.
func TestMetricsWindow(t *testing.T) {
	at := time.Unix(0, 0)
	a := metricsReading{at: at, appended: 1000, queue: 10}
	ok := metricsReading{at: at.Add(2 * time.Second), appended: 1000 + 2*50000, queue: 12}
	for _, c := range []struct {
		name string
		b    func(r metricsReading) metricsReading
		want string
	}{
		{"everything arrived", func(r metricsReading) metricsReading { return r }, ""},
		{"nothing arrived", func(r metricsReading) metricsReading { r.appended = a.appended; return r }, "no sample arrived"},
		{"too few arrived", func(r metricsReading) metricsReading { r.appended = a.appended + 90000; return r }, "45.0k samples/s arrived of 50.0k"},
		{"a point failed", func(r metricsReading) metricsReading { r.failed = 1; return r }, "1 points failed"},
		{"a write did not decode", func(r metricsReading) metricsReading { r.rejected = 1; return r }, "the sink could not decode 1 writes"},
		{"the queue grew", func(r metricsReading) metricsReading { r.queue = 200; return r }, "queue grew from 10 to 200"},
	} {
		if _, why := metricsWindow(a, c.b(ok), 50000); why != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, why, c.want)
		}
	}
}
