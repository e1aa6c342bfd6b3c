package loadgen_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/google/pprof/profile"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const (
	testTenant = "loadgen-tenant"
	testToken  = "loadgen-test-token"
	// templateIDMark starts every trace id of a request template: one that
	// reaches a receiver was never re-stamped.
	templateIDMark = "f1e2d3c4b5a69788"
	lokiPushPath   = "/loki/api/v1/push"
)

// run runs o and checks what every finished run must satisfy.
func run(t *testing.T, o loadgen.Options) (c loadgen.Counts, start, end time.Time) {
	t.Helper()
	start = time.Now()
	c, err := loadgen.Run(context.Background(), o, nil)
	end = time.Now()
	if err != nil {
		t.Fatalf("loadgen.Run(%+v): %v", o, err)
	}
	if c.Sent != c.Accepted+c.Refused+c.Failed {
		t.Errorf("counts %+v: sent is not accepted+refused+failed", c)
	}
	if c.Sent == 0 {
		t.Fatalf("nothing sent: %+v", c)
	}
	return c, start, end
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("X-Scope-OrgID"); got != testTenant {
		t.Errorf("X-Scope-OrgID %q, want %q", got, testTenant)
	}
	if got := h.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization %q, want the bearer token", got)
	}
}

// within fails unless ts (ns) lies in the run.
func within(t *testing.T, what string, ts int64, start, end time.Time) {
	t.Helper()
	if ts < start.UnixNano() || ts > end.UnixNano() {
		t.Errorf("%s %s is outside the run %s .. %s", what, time.Unix(0, ts).Format(time.RFC3339Nano),
			start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
}

func TestTracesGatewayShaped(t *testing.T) {
	sink := harness.StartOTLPSink(t)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.Traces, Target: sink.GRPCAddr, Rate: 2000, Duration: time.Second,
		Workers: 2, BatchSize: 200, Tenant: testTenant, Token: testToken})
	if c.Accepted != c.Sent || c.Accepted%200 != 0 {
		t.Fatalf("counts %+v: want every request of 200 spans accepted", c)
	}
	if got := int64(sink.SpanCount()); got != c.Accepted {
		t.Fatalf("the sink holds %d spans, Accepted says %d", got, c.Accepted)
	}
	traces := map[pcommon.TraceID][]ptrace.Span{}
	services := map[pcommon.TraceID]map[string]bool{}
	for _, r := range sink.Requests() {
		checkHeaders(t, r.Header)
		if n := r.Traces.SpanCount(); n != 200 {
			t.Errorf("a request of %d spans, want 200", n)
		}
		for _, rs := range r.Traces.ResourceSpans().All() {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					traces[sp.TraceID()] = append(traces[sp.TraceID()], sp)
					if services[sp.TraceID()] == nil {
						services[sp.TraceID()] = map[string]bool{}
					}
					services[sp.TraceID()][svc.Str()] = true
				}
			}
		}
	}
	// Fresh trace ids in every request: one trace per 5 spans.
	if want := int(c.Accepted / 5); len(traces) != want {
		t.Fatalf("%d distinct trace ids, want %d (one per gateway request)", len(traces), want)
	}
	failed := 0
	for id, spans := range traces {
		if len(spans) != 5 || len(services[id]) != 2 {
			t.Fatalf("trace %s: %d spans from %v, want 5 from gateway and router", id, len(spans), services[id])
		}
		var server ptrace.Span
		latest := pcommon.Timestamp(0)
		for _, sp := range spans {
			latest = max(latest, sp.EndTimestamp())
			if sp.Kind() == ptrace.SpanKindServer && sp.ParentSpanID().IsEmpty() {
				server = sp
			}
		}
		if server == (ptrace.Span{}) {
			t.Fatalf("trace %s has no root SERVER span", id)
		}
		// The root ends last, at the send time.
		if server.EndTimestamp() != latest {
			t.Errorf("trace %s: root ends %v, a child later at %v", id, server.EndTimestamp(), latest)
		}
		within(t, "root span end", int64(server.EndTimestamp()), start, end)
		if server.Status().Code() == ptrace.StatusCodeError {
			failed++
		}
		var genai int
		for _, sp := range spans {
			if sp.Kind() != ptrace.SpanKindClient {
				continue
			}
			if _, ok := sp.Attributes().Get("gen_ai.system"); ok {
				genai++
				in, _ := sp.Attributes().Get("gen_ai.usage.input_tokens")
				out, _ := sp.Attributes().Get("gen_ai.usage.output_tokens")
				if sp.ParentSpanID() != server.SpanID() || in.Int() <= 0 || out.Int() <= 0 {
					t.Errorf("trace %s: GenAI span %q: parent %s, tokens %d/%d", id, sp.Name(), sp.ParentSpanID(), in.Int(), out.Int())
				}
			}
		}
		if genai != 1 {
			t.Errorf("trace %s: %d GenAI CLIENT spans, want 1", id, genai)
		}
	}
	if want := len(traces) / loadgen.TraceFailEvery; failed != want {
		t.Errorf("%d failed requests of %d, want %d", failed, len(traces), want)
	}
}

func TestTracesPartialBatch(t *testing.T) {
	sink := harness.StartOTLPSink(t)
	c, _, _ := run(t, loadgen.Options{Kind: loadgen.Traces, Target: sink.GRPCAddr, Rate: 70, Duration: 300 * time.Millisecond,
		Workers: 1, BatchSize: 7, Tenant: testTenant})
	if c.Accepted == 0 || int64(sink.SpanCount()) != c.Accepted {
		t.Fatalf("counts %+v, the sink holds %d spans", c, sink.SpanCount())
	}
	for _, r := range sink.Requests() {
		if n := r.Traces.SpanCount(); n != 7 {
			t.Errorf("a request of %d spans, want 7", n)
		}
	}
}

func TestGRPCRefusalCountedOnce(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.ResourceExhausted} {
		t.Run(code.String(), func(t *testing.T) {
			sink := harness.StartOTLPSink(t)
			sink.SetFault(harness.Fault{GRPCCode: code})
			c, _, _ := run(t, loadgen.Options{Kind: loadgen.Traces, Target: sink.GRPCAddr, Duration: time.Second, Workers: 1, BatchSize: 100, Tenant: testTenant})
			if c.Refused != c.Sent || c.Accepted != 0 || c.Failed != 0 {
				t.Fatalf("counts %+v: want every item refused", c)
			}
			// Backing off 50, 100, 200, 400 ms ... a closed loop without it
			// would send hundreds in a second.
			if reqs := c.Sent / 100; reqs > 6 || int(reqs) != sink.Refused() {
				t.Errorf("%d requests sent, the sink refused %d: want at most 6, each sent once", reqs, sink.Refused())
			}
		})
	}
}

func TestGRPCOtherErrorIsFailed(t *testing.T) {
	sink := harness.StartOTLPSink(t)
	sink.SetFault(harness.Fault{GRPCCode: codes.PermissionDenied})
	var mu sync.Mutex
	var errs []error
	c, _, _ := run(t, loadgen.Options{Kind: loadgen.Profiles, Target: sink.GRPCAddr, Duration: 300 * time.Millisecond, Workers: 1, Tenant: testTenant,
		OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	if c.Failed != c.Sent || c.Refused != 0 || c.Accepted != 0 {
		t.Fatalf("counts %+v: want every item failed", c)
	}
	mu.Lock()
	defer mu.Unlock()
	// One profile per request: one error per item, saying why.
	if int64(len(errs)) != c.Failed || !strings.Contains(errs[0].Error(), "PermissionDenied") {
		t.Errorf("OnError saw %d errors (%v) for %d failed requests", len(errs), errs, c.Failed)
	}
}

func TestLogsWithTraceIDs(t *testing.T) {
	sink := harness.StartOTLPSink(t)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.Logs, Target: sink.HTTPURL, Rate: 1000, Duration: time.Second,
		Workers: 2, Tenant: testTenant, Token: testToken})
	if c.Accepted != c.Sent || int64(sink.LogCount()) != c.Accepted {
		t.Fatalf("counts %+v, the sink holds %d records", c, sink.LogCount())
	}
	ids := map[pcommon.TraceID]bool{}
	for _, r := range sink.Requests() {
		checkHeaders(t, r.Header)
		if r.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("POST %s as %s, want /v1/logs protobuf", r.Path, r.Header.Get("Content-Type"))
		}
		for _, rl := range r.Logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					within(t, "log time", int64(lr.Timestamp()), start, end)
					if lr.TraceID().IsEmpty() || lr.SpanID().IsEmpty() || lr.Body().Str() == "" {
						t.Fatalf("record without trace context or body: %v %v %q", lr.TraceID(), lr.SpanID(), lr.Body().Str())
					}
					ids[lr.TraceID()] = true
				}
			}
		}
	}
	if int64(len(ids)) != c.Accepted {
		t.Errorf("%d distinct trace ids in %d records", len(ids), c.Accepted)
	}
}

func TestHTTPRefusalHonoursRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var mu sync.Mutex
			var at []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
				w.Header().Set("Retry-After", "1")
				http.Error(w, "busy", status)
			}))
			defer srv.Close()
			c, _, _ := run(t, loadgen.Options{Kind: loadgen.LokiJSON, Target: srv.URL, Duration: 1500 * time.Millisecond, Workers: 1, BatchSize: 10})
			if c.Refused != c.Sent || c.Accepted != 0 || c.Failed != 0 {
				t.Fatalf("counts %+v: want every line refused", c)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(at) != 2 || at[1].Sub(at[0]) < 950*time.Millisecond {
				t.Errorf("requests at %v: want two, a Retry-After second apart", at)
			}
		})
	}
}

// recorder is an HTTP server that keeps every request's path, headers and body.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type recorded struct {
	url    string
	header http.Header
	body   []byte
}

func startRecorder(t *testing.T, status int) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.URL.String(), r.Header.Clone(), b})
		rec.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// checkLokiLine checks one pushed line's time and trace id (fresh, not the
// template's) and returns the trace id.
func checkLokiLine(t *testing.T, ts int64, traceID string, start, end time.Time) string {
	t.Helper()
	within(t, "line time", ts, start, end)
	id, err := hex.DecodeString(traceID)
	if err != nil || len(id) != 16 || strings.HasPrefix(traceID, templateIDMark) {
		t.Fatalf("trace id %q: want a fresh 32-digit hex id", traceID)
	}
	return traceID
}

func TestLokiJSON(t *testing.T) {
	rec := startRecorder(t, http.StatusNoContent)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.LokiJSON, Target: rec.srv.URL, Rate: 500, Duration: time.Second,
		Workers: 2, BatchSize: 50, Tenant: testTenant, Token: testToken})
	if c.Accepted != c.Sent {
		t.Fatalf("counts %+v", c)
	}
	lines, ids := 0, map[string]bool{}
	for _, r := range rec.all() {
		checkHeaders(t, r.header)
		if r.url != lokiPushPath || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s as %s", r.url, r.header.Get("Content-Type"))
		}
		var body struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("push body: %v\n%s", err, r.body)
		}
		for _, s := range body.Streams {
			if s.Stream["application"] != "gatewayz-api" || s.Stream["logger"] == "" || s.Stream["severity"] == "" {
				t.Errorf("stream labels %v: want python-logging-loki's tags", s.Stream)
			}
			for _, v := range s.Values {
				ts, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil || len(v[0]) != 19 {
					t.Fatalf("timestamp %q: want ns", v[0])
				}
				var line struct {
					Level   string `json:"level"`
					TraceID string `json:"trace_id"`
				}
				if err := json.Unmarshal([]byte(v[1]), &line); err != nil {
					t.Fatalf("line %q: %v", v[1], err)
				}
				if line.Level != s.Stream["severity"] {
					t.Errorf("line level %q in stream of severity %q", line.Level, s.Stream["severity"])
				}
				ids[checkLokiLine(t, ts, line.TraceID, start, end)] = true
				lines++
			}
		}
	}
	if int64(lines) != c.Accepted || len(ids) != lines {
		t.Errorf("%d lines pushed with %d distinct trace ids, Accepted says %d", lines, len(ids), c.Accepted)
	}
}

func TestLokiProto(t *testing.T) {
	rec := startRecorder(t, http.StatusNoContent)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.LokiProto, Target: rec.srv.URL, Rate: 500, Duration: time.Second,
		Workers: 2, BatchSize: 50, Tenant: testTenant, Token: testToken})
	if c.Accepted != c.Sent {
		t.Fatalf("counts %+v", c)
	}
	lines, ids := 0, map[string]bool{}
	for _, r := range rec.all() {
		checkHeaders(t, r.header)
		if r.url != lokiPushPath || r.header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("POST %s as %s", r.url, r.header.Get("Content-Type"))
		}
		raw, err := snappy.Decode(nil, r.body)
		if err != nil {
			t.Fatalf("not snappy: %v", err)
		}
		var req push.PushRequest
		if err := req.Unmarshal(raw); err != nil {
			t.Fatalf("not a PushRequest: %v", err)
		}
		for _, s := range req.Streams {
			if !strings.Contains(s.Labels, `job="gatewayz-`) {
				t.Errorf("stream labels %s: want Promtail's", s.Labels)
			}
			for _, e := range s.Entries {
				var id string
				for _, md := range e.StructuredMetadata {
					if md.Name == "trace_id" {
						id = md.Value
					}
				}
				if id == "" {
					var line struct {
						TraceID string `json:"trace_id"`
					}
					if err := json.Unmarshal([]byte(e.Line), &line); err != nil {
						t.Fatalf("line %q has no trace id: %v", e.Line, err)
					}
					id = line.TraceID
				}
				ids[checkLokiLine(t, e.Timestamp.UnixNano(), id, start, end)] = true
				lines++
			}
		}
	}
	if int64(lines) != c.Accepted || len(ids) != lines {
		t.Errorf("%d lines pushed with %d distinct trace ids, Accepted says %d", lines, len(ids), c.Accepted)
	}
}

func TestPyroscopeUploads(t *testing.T) {
	rec := startRecorder(t, http.StatusOK)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.Pyroscope, Target: rec.srv.URL + "/", Rate: 10, Duration: time.Second,
		Workers: 2, Tenant: testTenant, Token: testToken})
	reqs := rec.all()
	if c.Accepted != c.Sent || int64(len(reqs)) != c.Accepted {
		t.Fatalf("counts %+v, %d uploads received", c, len(reqs))
	}
	fixture, err := profile.ParseData(loadgen.CPUProfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		checkHeaders(t, r.header)
		// The fixture's size: the collector's work per upload is unchanged.
		if d := len(r.body) - len(loadgen.CPUProfile); d < -100 || d > 100 {
			t.Errorf("upload body of %d bytes, the fixture %d", len(r.body), len(loadgen.CPUProfile))
		}
		p, err := profile.ParseData(r.body)
		if err != nil {
			t.Fatalf("upload does not parse as pprof: %v", err)
		}
		within(t, "pprof time_nanos", p.TimeNanos, start, end)
		if p.TimeNanos = fixture.TimeNanos; p.String() != fixture.String() {
			t.Error("upload differs from the fixture in more than its time")
		}
		u, err := http.NewRequest(http.MethodPost, r.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := u.URL.Query()
		if u.URL.Path != "/ingest" || q.Get("name") != "gatewayz-api.cpu{env=production}" || q.Get("format") != "pprof" {
			t.Errorf("upload to %s", r.url)
		}
		from, _ := strconv.ParseInt(q.Get("from"), 10, 64)
		until, _ := strconv.ParseInt(q.Get("until"), 10, 64)
		if until < start.Unix() || until > end.Unix() || until-from != 15 {
			t.Errorf("from %d until %d: want until the send time (s), the profile's 15 s", from, until)
		}
	}
}

func TestOTLPProfilesCarryThePprof(t *testing.T) {
	sink := harness.StartOTLPSink(t)
	c, start, end := run(t, loadgen.Options{Kind: loadgen.Profiles, Target: sink.GRPCAddr, Rate: 20, Duration: 500 * time.Millisecond,
		Workers: 1, BatchSize: 2, Tenant: testTenant, Token: testToken})
	if c.Accepted != c.Sent {
		t.Fatalf("counts %+v", c)
	}
	p, err := profile.ParseData(loadgen.CPUProfile)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(pprofcompare.FromPprof(p))
	copies := 0
	for _, r := range sink.Requests() {
		checkHeaders(t, r.Header)
		for _, rp := range r.Profiles.ResourceProfiles().All() {
			got := pprofcompare.Flame{}
			got.AddOTLP(r.Profiles.Dictionary(), rp)
			if fmt.Sprint(got) != want {
				t.Fatalf("an OTLP profile differs from the pprof it carries:\n%s", pprofcompare.LineDiff(want, fmt.Sprint(got)))
			}
			for _, sp := range rp.ScopeProfiles().All() {
				for _, prof := range sp.Profiles().All() {
					within(t, "profile time", int64(prof.Time()), start, end)
				}
			}
			copies++
		}
	}
	if int64(copies) != c.Accepted {
		t.Errorf("%d profiles received, Accepted says %d", copies, c.Accepted)
	}
}

// TestRateHonoured sends at a set rate to a server that answers at once:
// the total must be what the rate allows, within one request and 10%.
func TestRateHonoured(t *testing.T) {
	rec := startRecorder(t, http.StatusNoContent)
	const rate, d, batch = 2000.0, 2 * time.Second, 50
	c, _, _ := run(t, loadgen.Options{Kind: loadgen.LokiJSON, Target: rec.srv.URL, Rate: rate, Duration: d, Workers: 4, BatchSize: batch})
	want := rate * d.Seconds()
	if got := float64(c.Accepted); got < 0.9*want || got > 1.1*want+batch {
		t.Errorf("%v lines in %s at %v/s, want %v ± 10%%", got, d, rate, want)
	}
}

func TestProgress(t *testing.T) {
	rec := startRecorder(t, http.StatusNoContent)
	var mu sync.Mutex
	var seen []loadgen.Counts
	c, err := loadgen.Run(context.Background(), loadgen.Options{Kind: loadgen.LokiJSON, Target: rec.srv.URL, Rate: 1000, Duration: 2500 * time.Millisecond}, func(c loadgen.Counts) {
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("progress called %d times in 2.5 s, want 2", len(seen))
	}
	if seen[0].Accepted == 0 || seen[1].Accepted <= seen[0].Accepted || seen[1].Accepted > c.Accepted {
		t.Errorf("progress %+v then %+v, final %+v: want growing running totals", seen[0], seen[1], c)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    loadgen.Options
		want string
	}{
		{loadgen.Options{Kind: "metrics", Target: "x:1"}, `unknown kind "metrics"`},
		{loadgen.Options{Kind: loadgen.Traces}, "no target"},
		{loadgen.Options{Kind: loadgen.Traces, Target: "x:1", Rate: -1}, "rate -1"},
		{loadgen.Options{Kind: loadgen.Logs, Target: "127.0.0.1:4318"}, "want a base URL"},
		{loadgen.Options{Kind: loadgen.Pyroscope, Target: "http://127.0.0.1:1", BatchSize: 3}, "batch size 3"},
		{loadgen.Options{Kind: loadgen.LokiJSON, Target: "http://127.0.0.1:1", BatchSize: 10001}, "at most"},
	} {
		_, err := loadgen.Run(context.Background(), tc.o, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadgen.Run(%+v) = %v, want an error with %q", tc.o, err, tc.want)
		}
	}
}

// A dead target fails every request, without spinning.
func TestDeadTargetFails(t *testing.T) {
	c, _, _ := run(t, loadgen.Options{Kind: loadgen.Logs, Target: "http://" + harness.FreeAddr(t), Duration: 500 * time.Millisecond, Workers: 1})
	if c.Failed != c.Sent || c.Sent > 20*100 {
		t.Errorf("counts %+v: want a few requests, every one failed", c)
	}
}

func TestCPUProfileIsTheReceiverFixture(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "components/receiver/pyroscopereceiver/testdata/cpu_30k.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loadgen.CPUProfile, want) {
		t.Error("internal/loadgen/cpu_30k.pb.gz differs from the pyroscope receiver's fixture: copy it again")
	}
}

func TestMetricsHandler(t *testing.T) {
	for _, n := range []int{1, 9, 100, 1000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			srv := httptest.NewServer(loadgen.MetricsHandler(n))
			defer srv.Close()
			first, second := scrape(t, srv.URL), scrape(t, srv.URL)
			if len(first) != n || len(second) != n {
				t.Fatalf("%d then %d series, want %d", len(first), len(second), n)
			}
			for k, v := range first {
				if second[k] == v {
					t.Errorf("%s stayed %q between scrapes", k, v)
				}
			}
		})
	}
}

// scrape parses the exposition (failing on anything Prometheus would
// refuse) and returns each series' value.
func scrape(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	series := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		if _, dup := series[k]; dup {
			t.Fatalf("series %s twice", k)
		}
		series[k] = v
	}
	return series
}
