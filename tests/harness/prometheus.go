package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Prometheus is a real Prometheus server with the remote-write receiver and
// exemplar storage on, standing in for Mimir. Remote writes go through a
// recording proxy so tests can check the headers of each write.
type Prometheus struct {
	// URL is Prometheus's own base URL (PromQL API).
	URL string
	// RemoteWriteURL is the recording proxy's remote-write endpoint; point
	// the collector at it.
	RemoteWriteURL string

	mu     sync.Mutex
	writes []RecordedWrite
}

// RecordedWrite is one remote-write request seen by the proxy.
type RecordedWrite struct {
	Header http.Header
	Status int
	// Metrics are the metric names (__name__) of the series written.
	Metrics map[string]bool
}

// Tenant is the write's X-Scope-OrgID.
func (w RecordedWrite) Tenant() string { return w.Header.Get(TenantHeader) }

// StartPrometheus runs the binary named by $PROMETHEUS_BIN (the Makefile
// builds it) with a throwaway TSDB.
func StartPrometheus(t testing.TB) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	// No scrape jobs: every sample in this server arrived by remote write.
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--enable-feature=exemplar-storage",
		"--log.level=warn",
	)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() { stopProcess(cmd, 10*time.Second) })
	p := &Prometheus{URL: "http://" + addr}
	if err := WaitHTTP200(p.URL+"/-/ready", 60*time.Second); err != nil {
		t.Fatalf("prometheus did not become ready: %v\n%s", err, logs.String())
	}

	target, _ := url.Parse(p.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		names, err := remoteWriteMetricNames(body)
		if err != nil {
			t.Errorf("remote write the proxy cannot decode: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		p.mu.Lock()
		p.writes = append(p.writes, RecordedWrite{Header: r.Header.Clone(), Status: rec.status, Metrics: names})
		p.mu.Unlock()
	})}
	go func() { _ = srv.Serve(pl) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.RemoteWriteURL = "http://" + pl.Addr().String() + "/api/v1/write"
	return p
}

func remoteWriteMetricNames(body []byte) (map[string]bool, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("prompb.WriteRequest: %w", err)
	}
	names := map[string]bool{}
	for _, ts := range req.Timeseries {
		for _, l := range ts.Labels {
			if l.Name == "__name__" {
				names[l.Value] = true
			}
		}
	}
	return names, nil
}

// Writes returns the remote writes recorded so far.
func (p *Prometheus) Writes() []RecordedWrite {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RecordedWrite(nil), p.writes...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Sample is one element of an instant-query vector.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query and returns its vector.
func (p *Prometheus) Query(promql string) ([]Sample, error) {
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {promql}}, &out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", promql, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", promql, out.Data.ResultType)
	}
	samples := make([]Sample, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", promql, r.Value[1], err)
		}
		samples = append(samples, Sample{Metric: r.Metric, Value: v})
	}
	return samples, nil
}

// QueryValue runs a query that must return exactly one sample.
func (p *Prometheus) QueryValue(promql string) (float64, error) {
	s, err := p.Query(promql)
	if err != nil {
		return 0, err
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("query %q returned %d samples, want 1: %v", promql, len(s), s)
	}
	return s[0].Value, nil
}

// Exemplar is one exemplar returned by /api/v1/query_exemplars.
type Exemplar struct {
	SeriesLabels map[string]string
	Labels       map[string]string
	Value        float64
}

// QueryExemplars returns the exemplars of the series selected by promql in
// the last hour.
func (p *Prometheus) QueryExemplars(promql string) ([]Exemplar, error) {
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	now := time.Now()
	q := url.Values{
		"query": {promql},
		"start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)},
		"end":   {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)},
	}
	if err := p.get("/api/v1/query_exemplars", q, &out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("exemplars %q: %s", promql, out.Error)
	}
	var ex []Exemplar
	for _, d := range out.Data {
		for _, e := range d.Exemplars {
			v, _ := strconv.ParseFloat(e.Value, 64)
			ex = append(ex, Exemplar{SeriesLabels: d.SeriesLabels, Labels: e.Labels, Value: v})
		}
	}
	return ex, nil
}

func (p *Prometheus) get(path string, q url.Values, into any) error {
	resp, err := http.Get(p.URL + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}
