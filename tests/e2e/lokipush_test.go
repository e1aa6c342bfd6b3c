package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const (
	pyTenant       = "team-py"
	promtailTenant = "team-promtail"
	// lokiDefaultTenant is TENANT_ID: where a push without X-Scope-OrgID goes.
	lokiDefaultTenant = "lokipush-fallback-tenant"
	// lokiDeploymentEnv is DEPLOYMENT_ENV: what resource/normalize inserts
	// as deployment.environment when a stream has none. Not "production",
	// so it cannot be confused with python-logging-loki's environment tag.
	lokiDeploymentEnv = "staging-eu"

	pythonFixture = "components/receiver/lokipushreceiver/testdata/clients/python_logging_loki.json"
	// pythonFixtureTS is the fixture's only timestamp, replaced textually so
	// that the rest of the body stays byte for byte what the library posted.
	pythonFixtureTS = `"1764213941123456768"`
)

// wantLog is a log record as Loki's OTLP endpoint must receive it. The
// sink's records are keyed by timestamp: every entry pushed in this test has
// its own.
type wantLog struct {
	Tenant   string
	Resource map[string]any
	Body     string
	SevText  string
	SevNum   plog.SeverityNumber
	TraceID  string // hex, "" for none
	SpanID   string
	Attrs    map[string]any
}

// TestLokiPushThroughGateway pushes what real Loki clients send
// (python-logging-loki's JSON, Promtail's snappy protobuf, a client without
// a tenant) to the gateway's lokipush receiver, with bad requests in
// between, and checks that Loki's OTLP endpoint gets every line exactly
// once, byte for byte, with its exact timestamp, the documented resource and
// record mapping and the sender's tenant.
func TestLokiPushThroughGateway(t *testing.T) {
	testStart := time.Now()
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"TENANT_ID":      lokiDefaultTenant,
		"DEPLOYMENT_ENV": lokiDeploymentEnv,
	}})
	pushURL := gw.LokiPush + "/loki/api/v1/push"

	// Current timestamps (Loki rejects week-old entries) whose last digits
	// are not zero, so any rounding on the way shows.
	base := time.Now().Add(-2*time.Second).UnixNano()/1000*1000 + 789
	ts := func(i int) int64 { return base + int64(i)*1_000_003 }

	want := map[int64]wantLog{}

	// --- python-logging-loki 0.3.1 ---
	fixture, err := os.ReadFile(filepath.Join(harness.RepoRoot(), pythonFixture))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(fixture, []byte(pythonFixtureTS)); n != 1 {
		t.Fatalf("fixture has %d occurrences of %s, want 1", n, pythonFixtureTS)
	}
	// The expected line, decoded independently of the receiver.
	var parsed struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(fixture, &parsed); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(parsed.Streams) != 1 || len(parsed.Streams[0].Values) != 1 {
		t.Fatalf("fixture has an unexpected shape: %+v", parsed)
	}
	pyLine := parsed.Streams[0].Values[0][1]
	if !strings.Contains(pyLine, "zoë") || !strings.Contains(pyLine, "\nTraceback") {
		t.Fatalf("fixture line decoded unexpectedly: %q", pyLine)
	}
	pythonBody := func(ts int64) []byte {
		return bytes.Replace(fixture, []byte(pythonFixtureTS), []byte(jsonTS(ts)), 1)
	}
	pyResource := map[string]any{
		"service.name": "gatewayz-api", // from the application label
		"application":  "gatewayz-api",
		"environment":  "production",
		"severity":     "error",
		"logger":       "app.routes",
		// resource/normalize derives it from the environment tag.
		"deployment.environment": "production",
	}
	pythonHeaders := map[string]string{
		// What requests.post(url, json=payload, headers=...) sends.
		"Content-Type":  "application/json",
		"User-Agent":    "python-requests/2.32.3",
		"Accept":        "*/*",
		"X-Scope-OrgID": pyTenant,
	}
	// python sends one record per request, at ts(i).
	python := func(i int) []byte {
		want[ts(i)] = wantLog{Tenant: pyTenant, Resource: pyResource, Body: pyLine,
			SevText: "error", SevNum: plog.SeverityNumberError}
		return pythonBody(ts(i))
	}

	// --- Promtail ---
	promtailHeaders := map[string]string{
		"Content-Type":  "application/x-protobuf",
		"User-Agent":    "promtail/3.5.1",
		"X-Scope-OrgID": promtailTenant,
	}
	apiLine := func(method, path, traceID, spanID string) string {
		return fmt.Sprintf(`{"level":"info","msg":"request served","method":%q,"path":%q,"status":200,"duration_ms":12.5,"trace_id":%q,"span_id":%q}`,
			method, path, traceID, spanID)
	}
	workerLine := "level=error msg=\"settlement failed\" order=8812 err=\"upstream timeout\" note=\"tab\there, ünïcödé\""
	routerLine := `{"msg":"cache hit","key":"models:v2","traceId":"1234567890abcdef1234567890abcdef","spanId":"abcdef1234567890"}`
	// promtailRequest is what Promtail sends for these streams: labels as
	// Prometheus labels.String() (sorted, `name="value"` joined by ", ").
	promtailBody := func(first int) []byte {
		at := func(i int) time.Time { return time.Unix(0, ts(first+i)) }
		req := push.PushRequest{Streams: []push.Stream{
			{
				Labels: `{filename="/var/log/gatewayz/api.log", job="gatewayz-api", k8s_namespace_name="gatewayz", level="info"}`,
				Entries: []push.Entry{
					{Timestamp: at(0), Line: apiLine("GET", "/v1/quote", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")},
					{Timestamp: at(1), Line: apiLine("POST", "/v1/orders", "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13")},
				},
			},
			{
				Labels: `{filename="/var/log/gatewayz/worker.log", job="gatewayz-worker", k8s_namespace_name="gatewayz"}`,
				Entries: []push.Entry{{
					Timestamp: at(2),
					Line:      workerLine,
					StructuredMetadata: push.LabelsAdapter{
						{Name: "level", Value: "error"},
						{Name: "pod", Value: "gatewayz-worker-6f7c9d-x2v4q"},
						{Name: "trace_id", Value: "0af7651916cd43dd8448eb211c80319c"},
					},
				}},
			},
			{
				Labels: `{deployment_environment_name="canary", k8s_pod_name="router-7d9f-abcde", service_name="gatewayz-router"}`,
				Entries: []push.Entry{{
					Timestamp: at(3),
					Line:      routerLine,
					StructuredMetadata: push.LabelsAdapter{
						{Name: "detected_level", Value: "debug"},
						{Name: "user_id", Value: "u-42"},
					},
				}},
			},
		}}
		b, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return snappy.Encode(nil, b)
	}
	apiResource := map[string]any{
		"service.name": "gatewayz-api", "job": "gatewayz-api", "filename": "/var/log/gatewayz/api.log",
		"k8s.namespace.name": "gatewayz", "level": "info", "deployment.environment": lokiDeploymentEnv,
	}
	// promtail sends four entries in three streams, at ts(first..first+3).
	promtail := func(first int) []byte {
		want[ts(first)] = wantLog{Tenant: promtailTenant, Resource: apiResource,
			Body:    apiLine("GET", "/v1/quote", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
			SevText: "info", SevNum: plog.SeverityNumberInfo,
			TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
		want[ts(first+1)] = wantLog{Tenant: promtailTenant, Resource: apiResource,
			Body:    apiLine("POST", "/v1/orders", "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13"),
			SevText: "info", SevNum: plog.SeverityNumberInfo,
			TraceID: "5b8aa5a2d2c872e8321cf37308d69df2", SpanID: "051581bf3cb55c13"}
		want[ts(first+2)] = wantLog{Tenant: promtailTenant,
			Resource: map[string]any{
				"service.name": "gatewayz-worker", "job": "gatewayz-worker", "filename": "/var/log/gatewayz/worker.log",
				"k8s.namespace.name": "gatewayz", "deployment.environment": lokiDeploymentEnv,
			},
			Body:    workerLine,
			SevText: "error", SevNum: plog.SeverityNumberError,
			TraceID: "0af7651916cd43dd8448eb211c80319c",
			Attrs:   map[string]any{"level": "error", "pod": "gatewayz-worker-6f7c9d-x2v4q"}}
		want[ts(first+3)] = wantLog{Tenant: promtailTenant,
			Resource: map[string]any{
				"service.name":                "gatewayz-router",
				"k8s.pod.name":                "router-7d9f-abcde",
				"deployment.environment.name": "canary",
				// resource/normalize copies these from the attributes above.
				"deployment.environment": "canary",
				"service.instance.id":    "router-7d9f-abcde",
			},
			Body:    routerLine,
			SevText: "debug", SevNum: plog.SeverityNumberDebug,
			TraceID: "1234567890abcdef1234567890abcdef", SpanID: "abcdef1234567890",
			Attrs: map[string]any{"detected_level": "debug", "user_id": "u-42"}}
		return promtailBody(first)
	}

	// --- a client that sends no X-Scope-OrgID ---
	shopLine := `order 8812 placed: 3 items, total "€42.00"`
	batchLine := "nightly export finished in 93s\r\n\twith trailing whitespace  "
	// noTenant sends two streams, at ts(first) and ts(first+1).
	noTenant := func(first int) []byte {
		want[ts(first)] = wantLog{Tenant: lokiDefaultTenant,
			Resource: map[string]any{
				"service.name": "shop", "app": "shop", "team": "core",
				// Sent: resource/normalize must not overwrite it.
				"deployment.environment": "prod",
			},
			Body:    shopLine,
			SevText: "warn", SevNum: plog.SeverityNumberWarn,
			// An all-zero id is no trace context: it stays an attribute.
			Attrs: map[string]any{"pod": "shop-0", "level": "warn", "trace_id": "00000000000000000000000000000000"}}
		want[ts(first+1)] = wantLog{Tenant: lokiDefaultTenant,
			Resource: map[string]any{
				"namespace": "batch", // the empty host label is dropped
				// No service label: the receiver sets none, normalisation does.
				"service.name":           "unknown_service",
				"deployment.environment": lokiDeploymentEnv,
			},
			Body: batchLine}
		return []byte(fmt.Sprintf(`{"streams":[`+
			`{"stream":{"app":"shop","deployment_environment":"prod","team":"core"},"values":[[%s,%s,{"pod":"shop-0","level":"warn","trace_id":"00000000000000000000000000000000"}]]},`+
			`{"stream":{"namespace":"batch","host":""},"values":[[%s,%s]]}]}`,
			jsonTS(ts(first)), jsonString(shopLine), jsonTS(ts(first+1)), jsonString(batchLine)))
	}

	// rejectedLine is in a request that is rejected as a whole: it must
	// never reach Loki.
	rejectedTS := ts(40)
	partlyBad := fmt.Sprintf(`{"streams":[`+
		`{"stream":{"application":"gatewayz-api"},"values":[[%s,"this line is in a rejected request"]]},`+
		`{"stream":{"application":"gatewayz-api"},"values":[["12:00","bad timestamp"]]}]}`,
		jsonTS(rejectedTS))

	// --- the pushes ---
	type pushCase struct {
		name       string
		url        string
		headers    map[string]string
		body       []byte
		status     int
		wantMsg    string // exact response body (without the trailing newline)
		wantSubstr []string
	}
	withHeaders := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	// send posts p and reports a wrong answer; it is safe in goroutines.
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(p pushCase) {
		req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(p.body))
		if err != nil {
			t.Error(err)
			return
		}
		for k, v := range p.headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := strings.TrimSuffix(string(msg), "\n")
		switch {
		case resp.StatusCode != p.status:
			t.Errorf("%s: status %d (%q), want %d", p.name, resp.StatusCode, got, p.status)
		case p.status == http.StatusNoContent && len(msg) != 0:
			t.Errorf("%s: 204 with a body %q", p.name, got)
		case p.wantMsg != "" && got != p.wantMsg:
			t.Errorf("%s: message %q, want %q", p.name, got, p.wantMsg)
		}
		for _, sub := range p.wantSubstr {
			if !strings.Contains(got, sub) {
				t.Errorf("%s: message %q does not mention %q", p.name, got, sub)
			}
		}
	}
	noTenantHeaders := map[string]string{"Content-Type": "application/json", "User-Agent": "curl/8.5.0"}

	// Phase 1, one at a time: each bad request is followed by a good one
	// of the same client.
	for _, p := range []pushCase{
		{name: "python-logging-loki", url: pushURL, headers: pythonHeaders, body: python(0), status: 204},
		{name: "truncated JSON", url: pushURL, headers: pythonHeaders, body: pythonBody(ts(41))[:60], status: 400,
			wantSubstr: []string{"invalid JSON push request", "unexpected end of JSON input"}},
		{name: "request with one bad entry", url: pushURL, headers: pythonHeaders, body: []byte(partlyBad), status: 400,
			wantMsg: `stream 1, entry 0: invalid timestamp "12:00": must be a string of Unix epoch nanoseconds`},
		{name: "python-logging-loki after bad requests", url: pushURL, headers: pythonHeaders, body: python(1), status: 204},

		{name: "promtail", url: pushURL, headers: promtailHeaders, body: promtail(10), status: 204},
		{name: "unsupported Content-Type", url: pushURL, headers: withHeaders(promtailHeaders, "Content-Type", "text/plain"),
			body: promtailBody(42), status: 415,
			wantMsg: `unsupported Content-Type "text/plain": use application/json or application/x-protobuf`},
		{name: "unsupported Content-Encoding", url: pushURL, headers: withHeaders(promtailHeaders, "Content-Encoding", "br"),
			body: promtailBody(46), status: 415, wantMsg: `unsupported Content-Encoding: br`},
		{name: "corrupt snappy", url: pushURL, headers: promtailHeaders, body: []byte("\x20garbage, not a snappy block"), status: 400,
			wantSubstr: []string{"invalid snappy-compressed body"}},
		// On the legacy path, right after the bad ones.
		{name: "promtail after bad requests", url: gw.LokiPush + "/api/prom/push", headers: promtailHeaders, body: promtail(20), status: 204},

		{name: "no tenant", url: pushURL, headers: noTenantHeaders, body: noTenant(30), status: 204},
	} {
		send(p)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Phase 2: the three clients at once, so that the batch processor has
	// all tenants in flight together.
	const rounds = 10
	var clients [3][]pushCase
	for r := range rounds {
		clients[0] = append(clients[0], pushCase{name: fmt.Sprintf("python round %d", r), url: pushURL,
			headers: pythonHeaders, body: python(100 + r), status: 204})
		clients[1] = append(clients[1], pushCase{name: fmt.Sprintf("promtail round %d", r), url: pushURL,
			headers: promtailHeaders, body: promtail(200 + 4*r), status: 204})
		clients[2] = append(clients[2], pushCase{name: fmt.Sprintf("no tenant round %d", r), url: pushURL,
			headers: noTenantHeaders, body: noTenant(300 + 2*r), status: 204})
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for _, p := range c {
				send(p)
			}
		})
	}
	wg.Wait()
	if err := harness.WaitHTTP200(gw.Health, 5*time.Second); err != nil {
		t.Fatalf("collector unhealthy after the bad requests: %v", err)
	}

	harness.Eventually(t, 20*time.Second, func() error {
		if n := gw.Loki.LogCount(); n < len(want) {
			return fmt.Errorf("loki has %d records, want %d", n, len(want))
		}
		return nil
	})
	sentBy := time.Now()

	// Flatten what Loki received, keyed by timestamp.
	type gotLog struct {
		wantLog
		Observed time.Time
	}
	got := map[int64]gotLog{}
	tenantsOfRequests := map[string]int{}
	for ri, r := range gw.Loki.Requests() {
		if !strings.HasSuffix(r.Path, "/otlp/v1/logs") {
			t.Errorf("loki request %d path %q, want Loki's native OTLP endpoint .../otlp/v1/logs", ri, r.Path)
		}
		tenants := r.Header.Values(harness.TenantHeader)
		if len(tenants) != 1 {
			t.Errorf("loki request %d has X-Scope-OrgID %q, want exactly one", ri, tenants)
		}
		tenantsOfRequests[r.Tenant()]++
		rls := r.Logs.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rl := rls.At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					g := gotLog{wantLog: wantLog{
						Tenant:   r.Tenant(),
						Resource: rl.Resource().Attributes().AsRaw(),
						Body:     lr.Body().AsString(),
						SevText:  lr.SeverityText(),
						SevNum:   lr.SeverityNumber(),
						Attrs:    lr.Attributes().AsRaw(),
					}, Observed: lr.ObservedTimestamp().AsTime()}
					if !lr.TraceID().IsEmpty() {
						g.TraceID = lr.TraceID().String()
					}
					if !lr.SpanID().IsEmpty() {
						g.SpanID = lr.SpanID().String()
					}
					if len(g.Attrs) == 0 {
						g.Attrs = nil
					}
					ts := int64(lr.Timestamp()) //nolint:gosec // test timestamps fit
					if prev, dup := got[ts]; dup {
						t.Errorf("two records with timestamp %d: %q and %q (delivered twice?)", ts, prev.Body, g.Body)
					}
					got[ts] = g
				}
			}
		}
	}

	if _, leaked := got[rejectedTS]; leaked {
		t.Errorf("a line of a rejected request reached Loki: %q", got[rejectedTS].Body)
	}
	for ts, g := range got {
		if _, ok := want[ts]; !ok && ts != rejectedTS {
			t.Errorf("unexpected record at %d (tenant %q): %q", ts, g.Tenant, g.Body)
		}
	}
	perTenant := map[string]int{}
	for _, ts := range sortedKeys(want) {
		w := want[ts]
		perTenant[w.Tenant]++
		g, ok := got[ts]
		if !ok {
			t.Errorf("record %d (%s, %q) missing from Loki: lost or its timestamp changed", ts, w.Tenant, w.Body)
			continue
		}
		if g.Body != w.Body {
			t.Errorf("record %d: body changed on the way:\n got  %q\n want %q", ts, g.Body, w.Body)
		}
		if g.Tenant != w.Tenant {
			t.Errorf("record %d (%q) sent to Loki as tenant %q, want %q", ts, w.Body, g.Tenant, w.Tenant)
		}
		if !reflect.DeepEqual(g.Resource, w.Resource) {
			t.Errorf("record %d (%q): resource\n got  %v\n want %v", ts, w.Body, g.Resource, w.Resource)
		}
		if g.SevText != w.SevText || g.SevNum != w.SevNum {
			t.Errorf("record %d (%q): severity %q/%s, want %q/%s", ts, w.Body, g.SevText, g.SevNum, w.SevText, w.SevNum)
		}
		if g.TraceID != w.TraceID || g.SpanID != w.SpanID {
			t.Errorf("record %d (%q): trace %q span %q, want trace %q span %q", ts, w.Body, g.TraceID, g.SpanID, w.TraceID, w.SpanID)
		}
		if !reflect.DeepEqual(g.Attrs, w.Attrs) {
			t.Errorf("record %d (%q): attributes %v, want %v", ts, w.Body, g.Attrs, w.Attrs)
		}
		if g.Observed.Before(testStart) || g.Observed.After(sentBy) {
			t.Errorf("record %d (%q): observed timestamp %s is not the receive time (between %s and %s)",
				ts, w.Body, g.Observed, testStart, sentBy)
		}
	}
	// No request to Loki mixed tenants or came without one.
	for tenant := range tenantsOfRequests {
		if perTenant[tenant] == 0 {
			t.Errorf("loki got a request as tenant %q, which sent nothing", tenant)
		}
	}
	if n := gw.Loki.LogCount(); n != len(want) {
		t.Errorf("loki has %d records in all, want exactly %d", n, len(want))
	}
	t.Logf("%d records from 3 tenants in %d Loki requests (per tenant %v)", len(want), len(gw.Loki.Requests()), tenantsOfRequests)
}

func sortedKeys(m map[int64]wantLog) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// jsonTS is a Loki JSON timestamp: a string of Unix epoch nanoseconds.
func jsonTS(ns int64) string { return strconv.Quote(strconv.FormatInt(ns, 10)) }

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
