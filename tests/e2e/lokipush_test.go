package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

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

// wantLog is a log record as Loki's OTLP endpoint must receive it: what
// the whole pipeline decides (tenant, the resource after resource/normalize)
// and what it must not change (line, timestamp, trace context). How each
// field is mapped, and every status and message of a refused push, are the
// lokipush receiver's unit tests' job. The sink's records are keyed by
// timestamp: every entry pushed in this test has its own.
type wantLog struct {
	Tenant   string
	Resource map[string]any
	Body     string
	TraceID  string // hex, "" for none
	SpanID   string
}

// TestLokiPushThroughGateway pushes what real Loki clients send
// (python-logging-loki's JSON, Promtail's snappy protobuf on both push
// paths, a client without a tenant), once each with a rejected request in
// between and then all at once, and checks that Loki's OTLP endpoint gets
// every line exactly once, byte for byte, with its exact timestamp, its
// resource and the sender's tenant, and nothing of the rejected request.
func TestLokiPushThroughGateway(t *testing.T) {
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
		want[ts(i)] = wantLog{Tenant: pyTenant, Resource: pyResource, Body: pyLine}
		return bytes.Replace(fixture, []byte(pythonFixtureTS), []byte(jsonTS(ts(i))), 1)
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
	apiResource := map[string]any{
		"service.name": "gatewayz-api", "job": "gatewayz-api", "filename": "/var/log/gatewayz/api.log",
		"k8s.namespace.name": "gatewayz", "level": "info", "deployment.environment": lokiDeploymentEnv,
	}
	// promtail sends four entries in three streams, at ts(first..first+3),
	// as Promtail does: labels as Prometheus labels.String() (sorted,
	// `name="value"` joined by ", ").
	promtail := func(first int) []byte {
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
		want[ts(first)] = wantLog{Tenant: promtailTenant, Resource: apiResource,
			Body:    apiLine("GET", "/v1/quote", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
			TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
		want[ts(first+1)] = wantLog{Tenant: promtailTenant, Resource: apiResource,
			Body:    apiLine("POST", "/v1/orders", "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13"),
			TraceID: "5b8aa5a2d2c872e8321cf37308d69df2", SpanID: "051581bf3cb55c13"}
		want[ts(first+2)] = wantLog{Tenant: promtailTenant,
			Resource: map[string]any{
				"service.name": "gatewayz-worker", "job": "gatewayz-worker", "filename": "/var/log/gatewayz/worker.log",
				"k8s.namespace.name": "gatewayz", "deployment.environment": lokiDeploymentEnv,
			},
			Body:    workerLine,
			TraceID: "0af7651916cd43dd8448eb211c80319c"}
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
			TraceID: "1234567890abcdef1234567890abcdef", SpanID: "abcdef1234567890"}
		b, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return snappy.Encode(nil, b)
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
			// An all-zero id is no trace context.
			Body: shopLine}
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

	// The entry at rejectedTS is good, but its request is rejected as a
	// whole for the bad one after it: it must never reach Loki.
	rejectedTS := ts(40)
	partlyBad := fmt.Sprintf(`{"streams":[`+
		`{"stream":{"application":"gatewayz-api"},"values":[[%s,"this line is in a rejected request"]]},`+
		`{"stream":{"application":"gatewayz-api"},"values":[["12:00","bad timestamp"]]}]}`,
		jsonTS(rejectedTS))

	// post sends body and reports an answer other than status; it is safe
	// in goroutines.
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(name, url string, headers map[string]string, body []byte, status int) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("%s: status %d (%q), want %d", name, resp.StatusCode, bytes.TrimSpace(msg), status)
		}
	}
	noTenantHeaders := map[string]string{"Content-Type": "application/json", "User-Agent": "curl/8.5.0"}

	// Phase 1, one at a time: each client once, and a rejected request
	// between two good ones of the same client.
	post("python-logging-loki", pushURL, pythonHeaders, python(0), http.StatusNoContent)
	post("request with one bad entry", pushURL, pythonHeaders, []byte(partlyBad), http.StatusBadRequest)
	post("python-logging-loki after a rejected request", pushURL, pythonHeaders, python(1), http.StatusNoContent)
	post("promtail", pushURL, promtailHeaders, promtail(10), http.StatusNoContent)
	post("promtail on the legacy path", gw.LokiPush+"/api/prom/push", promtailHeaders, promtail(20), http.StatusNoContent)
	post("no tenant", pushURL, noTenantHeaders, noTenant(30), http.StatusNoContent)
	if t.Failed() {
		t.FailNow()
	}

	// Phase 2: the three clients at once, so that the batch processor has
	// all tenants in flight together.
	const rounds = 10
	type sender struct {
		name    string
		headers map[string]string
		body    func(round int) []byte
	}
	var wg sync.WaitGroup
	for _, c := range []sender{
		{"python", pythonHeaders, func(r int) []byte { return python(100 + r) }},
		{"promtail", promtailHeaders, func(r int) []byte { return promtail(200 + 4*r) }},
		{"no tenant", noTenantHeaders, func(r int) []byte { return noTenant(300 + 2*r) }},
	} {
		// The bodies are built here: building one records what it must
		// deliver, in a map the pushing goroutines do not touch.
		bodies := make([][]byte, rounds)
		for r := range bodies {
			bodies[r] = c.body(r)
		}
		wg.Go(func() {
			for r, body := range bodies {
				post(fmt.Sprintf("%s round %d", c.name, r), pushURL, c.headers, body, http.StatusNoContent)
			}
		})
	}
	wg.Wait()

	harness.Eventually(t, 20*time.Second, func() error {
		if n := gw.Loki.LogCount(); n < len(want) {
			return fmt.Errorf("loki has %d records, want %d", n, len(want))
		}
		return nil
	})

	// Flatten what Loki received, keyed by timestamp.
	got := map[int64]wantLog{}
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
		for _, rl := range r.Logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					g := wantLog{
						Tenant:   r.Tenant(),
						Resource: rl.Resource().Attributes().AsRaw(),
						Body:     lr.Body().AsString(),
					}
					if !lr.TraceID().IsEmpty() {
						g.TraceID = lr.TraceID().String()
					}
					if !lr.SpanID().IsEmpty() {
						g.SpanID = lr.SpanID().String()
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
	for _, ts := range slices.Sorted(maps.Keys(want)) {
		w := want[ts]
		perTenant[w.Tenant]++
		g, ok := got[ts]
		if !ok {
			t.Errorf("record %d (%s, %q) missing from Loki: lost or its timestamp changed", ts, w.Tenant, w.Body)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d changed on the way:\n got  %+v\n want %+v", ts, g, w)
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

// jsonTS is a Loki JSON timestamp: a string of Unix epoch nanoseconds.
func jsonTS(ns int64) string { return strconv.Quote(strconv.FormatInt(ns, 10)) }

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
