package harness

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakePrometheusAPI answers instant queries from results (query -> the
// values of its samples) and lists names as the stored metric names.
func fakePrometheusAPI(t *testing.T, results map[string][]string, names []string) *Prometheus {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/query":
			var vector []any
			for i, v := range results[r.URL.Query().Get("query")] {
				vector = append(vector, map[string]any{
					"metric": map[string]string{"i": string(rune('a' + i))},
					"value":  []any{1764300000, v},
				})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success",
				"data": map[string]any{"resultType": "vector", "result": vector}})
		case "/api/v1/label/__name__/values":
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": names})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &Prometheus{URL: srv.URL}
}

func TestPromQLChecks(t *testing.T) {
	p := fakePrometheusAPI(t, map[string][]string{
		"one":   {"3"},
		"sum":   {"0.30000000000000004"},
		"two":   {"1", "2"},
		"empty": nil,
	}, nil)
	for _, tc := range []struct {
		query   string
		want    PromWant
		wantErr string // "" for a pass
	}{
		{"one", Value(3), ""},
		{"one", Value(4), "one = 3, want 4"},
		{"sum", Value(0.3), "want 0.3"},
		{"sum", Approx(0.3), ""},
		{"sum", Approx(0.31), "want ≈ 0.31"},
		{"two", Value(1), "returned 2 samples"},
		{"two", Series(2), ""},
		{"empty", Series(0), ""},
		{"empty", Series(1), "returned 0 series, want 1 series"},
		{"empty", Value(0), "returned 0 samples"},
	} {
		err := p.Check(tc.query, tc.want)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s %s: %v", tc.query, tc.want, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s %s: error %v, want one containing %q", tc.query, tc.want, err, tc.wantErr)
		}
	}
}

func TestSelectedMetricNames(t *testing.T) {
	p := fakePrometheusAPI(t, nil, []string{"bar_total", "foo_a", "foo_b", "up"})
	for _, tc := range []struct {
		expr    string
		want    []string
		wantErr string
	}{
		{`sum by (service) (rate(traces_spanmetrics_calls_total{service="api"}[5m]))`, []string{"traces_spanmetrics_calls_total"}, ""},
		// A written name counts whether or not it is stored.
		{`missing_metric / on() group_left up`, []string{"missing_metric", "up"}, ""},
		{`histogram_quantile(0.9, sum by (le) (rate({__name__=~"foo_.*"}[1m]))) > bar_total`, []string{"bar_total", "foo_a", "foo_b"}, ""},
		{`{__name__!="up", __name__=~".*_.*"}`, []string{"bar_total", "foo_a", "foo_b"}, ""},
		{`count({job="x"})`, nil, "has no metric name"},
		{`sum(rate(x[$__rate_interval]))`, nil, "parsing"},
	} {
		got, err := p.SelectedMetricNames(tc.expr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.expr, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.expr, got, err, tc.want)
		}
	}
}

func TestSinkFaults(t *testing.T) {
	s := StartOTLPSink(t)
	conn := DialOTLP(t, s.GRPCAddr)
	export := func() error {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		return conn.ExportTraces("acme", ptraceotlp.NewExportRequestFromTraces(td))
	}
	body, err := plogotlp.NewExportRequestFromLogs(plog.NewLogs()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		req, _ := http.NewRequest(http.MethodPost, s.HTTPURL+"/otlp/v1/logs", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set(TenantHeader, "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	s.SetFault(Fault{GRPCCode: codes.Unavailable, HTTPStatus: http.StatusServiceUnavailable, For: 500 * time.Millisecond})
	if err := export(); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC export during the fault: %v, want UNAVAILABLE", err)
	}
	if code := post(); code != http.StatusServiceUnavailable {
		t.Errorf("HTTP export during the fault: %d, want 503", code)
	}
	if s.Refused() != 2 || len(s.Requests()) != 0 {
		t.Errorf("refused %d, recorded %d; want 2 refused and none recorded", s.Refused(), len(s.Requests()))
	}
	time.Sleep(600 * time.Millisecond)
	if err := export(); err != nil {
		t.Errorf("gRPC export after the fault ended: %v", err)
	}
	if code := post(); code != http.StatusOK {
		t.Errorf("HTTP export after the fault ended: %d", code)
	}

	s.SetFault(Fault{Delay: 300 * time.Millisecond})
	start := time.Now()
	if err := export(); err != nil {
		t.Errorf("delayed export: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("delayed export answered after %s, want at least 300ms", d)
	}
	if s.SpanCount() != 2 || s.Refused() != 2 {
		t.Errorf("spans %d, refused %d; want 2 accepted after the fault and no new refusal", s.SpanCount(), s.Refused())
	}
}

// TestFreePortNeverRepeats: two listeners of one collector must never be
// given the same port, even when the kernel hands a closed one out again.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
