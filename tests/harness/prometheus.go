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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.yaml.in/yaml/v3"
)

// Prometheus is a real Prometheus server with the OTLP receiver and
// exemplar storage on, standing in for Mimir's OTLP endpoint. Writes go
// through a recording proxy so tests can check the headers and metrics of
// each write.
type Prometheus struct {
	// URL is Prometheus's own base URL (PromQL API).
	URL string
	// OTLPURL is the recording proxy's OTLP base URL, as MIMIR_OTLP_URL
	// takes it (the exporter appends /v1/metrics); point the collector at it.
	OTLPURL string

	faults faults
	mu     sync.Mutex
	writes []RecordedWrite
}

// SetFault makes the recording proxy refuse or delay metrics writes from
// now on, as an unavailable Mimir would (see Fault; only HTTPStatus and
// Delay apply). Refused writes are recorded with their status and metrics
// and never reach Prometheus.
func (p *Prometheus) SetFault(f Fault) { p.faults.set(f) }

// Refused is how many writes a fault has refused so far.
func (p *Prometheus) Refused() int { return p.faults.refusedCount() }

// PrometheusOptions changes how StartPrometheusWith runs Prometheus.
type PrometheusOptions struct {
	// RuleFiles are Prometheus rule files (absolute, or relative to the
	// repository root), evaluated every second.
	RuleFiles []string
	// AlertmanagerURL is the base URL of the Alertmanager that firing
	// alerts are sent to (Prometheus appends /api/v2/alerts); "" sends
	// none.
	AlertmanagerURL string
}

// RecordedWrite is one OTLP metrics request seen by the proxy.
type RecordedWrite struct {
	Header http.Header
	Status int
	// Metrics are the names of the metrics written, as Prometheus names
	// them (metric families: a histogram is its base name).
	Metrics map[string]bool
}

// Tenant is the write's X-Scope-OrgID.
func (w RecordedWrite) Tenant() string { return w.Header.Get(TenantHeader) }

// prometheusOTLPPath is where Prometheus serves OTLP metrics; Mimir's is
// /otlp/v1/metrics.
const prometheusOTLPPath = "/api/v1/otlp/v1/metrics"

// StartPrometheus runs the binary named by $PROMETHEUS_BIN (the Makefile
// builds it) with a throwaway TSDB, no rules and no Alertmanager.
func StartPrometheus(t testing.TB) *Prometheus {
	t.Helper()
	return StartPrometheusWith(t, PrometheusOptions{})
}

// StartPrometheusWith is StartPrometheus with rule files and an
// Alertmanager.
func StartPrometheusWith(t testing.TB, o PrometheusOptions) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	config, err := prometheusConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, config, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	p := &Prometheus{URL: "http://" + addr}
	startServer(t, "prometheus", bin, []string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-otlp-receiver",
		"--enable-feature=exemplar-storage",
		"--log.level=warn",
	}, p.URL+"/-/ready", 60*time.Second)

	target, _ := url.Parse(p.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/otlp/v1/metrics" {
			http.NotFound(w, r)
			return
		}
		header := r.Header.Clone()
		md, body, err := DecodeOTLPMetrics(r)
		if err != nil {
			t.Errorf("metrics write the proxy cannot decode: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if code := p.faults.refuseHTTP(r.Context()); code != 0 {
			http.Error(w, "refused by the test's fault", code)
			p.mu.Lock()
			p.writes = append(p.writes, RecordedWrite{Header: header, Status: code, Metrics: PrometheusNames(md)})
			p.mu.Unlock()
			return
		}
		// Prometheus takes gzip or no compression, Mimir also lz4 and
		// zstd: forward the decoded protobuf.
		r.Header.Del("Content-Encoding")
		r.Header.Set("Content-Type", "application/x-protobuf")
		r.ContentLength = int64(len(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.URL.Path = prometheusOTLPPath
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		p.mu.Lock()
		p.writes = append(p.writes, RecordedWrite{Header: header, Status: rec.status, Metrics: PrometheusNames(md)})
		p.mu.Unlock()
	})}
	go func() { _ = srv.Serve(pl) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.OTLPURL = "http://" + pl.Addr().String() + "/otlp"
	return p
}

// PrometheusConfigFile is the base config of every test Prometheus and of
// `make dev`'s: its OTLP translation and out-of-order window are Mimir's.
const PrometheusConfigFile = "tests/harness/prometheus.yaml"

// prometheusConfig is PrometheusConfigFile with o's rules and Alertmanager.
// It has no scrape jobs: every sample in this server arrived over OTLP.
func prometheusConfig(o PrometheusOptions) ([]byte, error) {
	base, err := os.ReadFile(filepath.Join(RepoRoot(), PrometheusConfigFile))
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{}
	if err := yaml.Unmarshal(base, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", PrometheusConfigFile, err)
	}
	var rules []string
	for _, f := range o.RuleFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(RepoRoot(), f)
		}
		// Prometheus would only say so in its log, after the readiness wait.
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("rule file: %w", err)
		}
		rules = append(rules, f)
	}
	if len(rules) > 0 {
		cfg["rule_files"] = rules
	}
	if o.AlertmanagerURL != "" {
		u, err := url.Parse(o.AlertmanagerURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("AlertmanagerURL %q: want http(s)://host:port[/path]", o.AlertmanagerURL)
		}
		cfg["alerting"] = map[string]any{"alertmanagers": []any{map[string]any{
			"scheme":         u.Scheme,
			"path_prefix":    u.Path,
			"static_configs": []any{map[string]any{"targets": []string{u.Host}}},
		}}}
	}
	return yaml.Marshal(cfg)
}

// DecodeOTLPMetrics reads an OTLP/HTTP metrics request: protobuf or JSON,
// with any Content-Encoding Mimir accepts (gzip, lz4, zstd, none). It
// returns the metrics and their protobuf encoding.
func DecodeOTLPMetrics(r *http.Request) (pmetric.Metrics, []byte, error) {
	raw, err := ReadBody(r)
	if err != nil {
		return pmetric.Metrics{}, nil, err
	}
	req := pmetricotlp.NewExportRequest()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := req.UnmarshalJSON(raw); err != nil {
			return pmetric.Metrics{}, nil, fmt.Errorf("OTLP JSON: %w", err)
		}
		raw, err = req.MarshalProto()
		return req.Metrics(), raw, err
	}
	if err := req.UnmarshalProto(raw); err != nil {
		return pmetric.Metrics{}, nil, fmt.Errorf("OTLP protobuf: %w", err)
	}
	return req.Metrics(), raw, nil
}

// PrometheusNames are the names Prometheus (and Mimir) give md's metrics
// with translation_strategy UnderscoreEscapingWithSuffixes.
func PrometheusNames(md pmetric.Metrics) map[string]bool {
	namer := otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)
	names := map[string]bool{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if name, err := namer.Build(otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: metricType(m)}); err == nil {
					names[name] = true
				}
			}
		}
	}
	return names
}

func metricType(m pmetric.Metric) otlptranslator.MetricType {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return otlptranslator.MetricTypeGauge
	case pmetric.MetricTypeSum:
		if m.Sum().IsMonotonic() {
			return otlptranslator.MetricTypeMonotonicCounter
		}
		return otlptranslator.MetricTypeNonMonotonicCounter
	case pmetric.MetricTypeHistogram:
		return otlptranslator.MetricTypeHistogram
	case pmetric.MetricTypeExponentialHistogram:
		return otlptranslator.MetricTypeExponentialHistogram
	case pmetric.MetricTypeSummary:
		return otlptranslator.MetricTypeSummary
	}
	return otlptranslator.MetricTypeUnknown
}

// Writes returns the metrics writes recorded so far.
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
