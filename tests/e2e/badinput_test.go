package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// selfMetric sums the samples of the collector's own /metrics named name
// whose labels include every one of labels (k="v"); 0 when none exist.
func selfMetric(t *testing.T, metricsURL, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatalf("GET %s: %v", metricsURL, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		ok := true
		for _, l := range labels {
			if !strings.Contains(line[:i], l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", metricsURL, line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// badInputSpan is a span the test can recognise in the sink by name.
func badInputSpan(name string, id byte) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "badinput")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName(name)
	s.SetTraceID(pcommon.TraceID{id, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	s.SetSpanID(pcommon.SpanID{id, 1, 2, 3, 4, 5, 6, 7})
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	return td
}

const badInputTenant = "badinput"

// post sends body to url as badInputTenant and returns the status and the answer's text.
func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Scope-OrgID", badInputTenant)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// TestBadInput sends, between good spans and a good Loki push, the bad
// requests a client or a scrape target can produce (malformed and
// truncated OTLP protobuf and JSON, bodies over the limit on OTLP/HTTP and
// Loki push, invalid UTF-8, a thousand attributes, a target serving
// garbage) and checks each answer, that the collector stays up and passes
// on exactly the good data, and which of its own counters count the
// refusals. Malformed OTLP over gRPC is not sent: the client library
// cannot produce it.
//
// What v0.158.0 counts: a request the OTLP receiver cannot decode (or
// reads past max_request_body_size) is refused before its obsreport
// operation starts, so otelcol_receiver_refused_spans does not move (it
// counts items a decoded request could not push into the pipeline, such as
// memory_limiter refusals). The HTTP server's per-status request count,
// emitted at COLLECTOR_METRICS_LEVEL=detailed, sees it, and so does our
// rejections extension at every level (TestBadInputRejections).
func TestBadInput(t *testing.T) {
	const maxBody = 64 << 10
	telemetryPort := harness.FreePort(t)
	httpAddr, lokiAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	_, lokiPort, _ := net.SplitHostPort(lokiAddr)

	// A scrape target answering 200 with a body that is not the exposition
	// format.
	garbage := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "<html>\x00\x01 this is { not metrics\n")
	})}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = garbage.Serve(gl) }()
	t.Cleanup(func() { _ = garbage.Close() })

	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: map[string]string{
		"COLLECTOR_METRICS_LEVEL":   "detailed",
		"COLLECTOR_TELEMETRY_PORT":  fmt.Sprint(telemetryPort),
		"OTLP_HTTP_ENDPOINT":        httpAddr,
		"OTLP_HTTP_MAX_BODY_BYTES":  fmt.Sprint(maxBody),
		"LOKI_PUSH_ENDPOINT":        lokiAddr,
		"LOKI_PUSH_MAX_BODY_BYTES":  fmt.Sprint(maxBody),
		"FASTAPI_TARGET":            harness.StartFakeFastAPI(t),
		"FASTAPI_DATA_METRICS_PATH": harness.FakeFastAPIDataPath,
		"REDIS_EXPORTER_TARGET":     gl.Addr().String(),
	}})
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	countStatus := func(port string, code int) float64 {
		return selfMetric(t, metricsURL, "http_server_request_duration_count",
			fmt.Sprintf(`http_response_status_code="%d"`, code), `server_port="`+port+`"`)
	}
	count400 := func() float64 { return countStatus(httpPort, 400) }
	lokiBefore400, lokiBefore413 := countStatus(lokiPort, 400), countStatus(lokiPort, 413)
	refusedSpans := func() float64 {
		return selfMetric(t, metricsURL, "otelcol_receiver_refused_spans", `receiver="otlp"`)
	}
	before400, beforeRefused := count400(), refusedSpans()

	harness.SendTraces(t, gw.OTLPGRPC, badInputTenant, badInputSpan("good-before", 1))

	valid, err := ptraceotlp.NewExportRequestFromTraces(badInputSpan("never-arrives", 9)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"malformed protobuf", "/v1/traces", "application/x-protobuf", []byte("\x0a\xff\xff\xff\xff\x0fnot protobuf")},
		{"truncated protobuf", "/v1/traces", "application/x-protobuf", valid[:len(valid)-3]},
		{"malformed JSON", "/v1/traces", "application/json", []byte(`{"resourceSpans":[{"scopeSpans":`)},
		{"malformed JSON logs", "/v1/logs", "application/json", []byte(`{"resourceLogs":[}`)},
		// v0.158.0 answers a body over max_request_body_size with 400
		// "request body too large", not 413.
		{"body over the limit", "/v1/traces", "application/x-protobuf", bytes.Repeat(valid, maxBody/len(valid)+1)},
	}
	for _, b := range bad {
		code, msg := post(t, gw.OTLPHTTP+b.path, b.contentType, b.body)
		// The answer is an OTLP Status whose message names the problem.
		if code != http.StatusBadRequest || len(strings.TrimSpace(msg)) < 8 {
			t.Errorf("%s: answered %d %q, want 400 with a message", b.name, code, msg)
		}
		if b.name == "body over the limit" && !strings.Contains(msg, "request body too large") {
			t.Errorf("%s: message %q does not say the body is too large", b.name, msg)
		}
	}

	// Invalid UTF-8 in string fields of a well-formed protobuf: the
	// collector does not validate UTF-8, so it accepts the span and passes
	// its bytes on unchanged. JSON with raw invalid bytes: the same.
	const badName, badValue = "utf8-\xff\xfe-name", "a\xc3\x28b"
	invalid := badInputSpan(badName, 2)
	invalid.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("bad", badValue)
	body, err := ptraceotlp.NewExportRequestFromTraces(invalid).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := post(t, gw.OTLPHTTP+"/v1/traces", "application/x-protobuf", body); code != http.StatusOK {
		t.Errorf("invalid UTF-8 in protobuf: answered %d %q, want 200 (accepted unchanged)", code, msg)
	}
	jsonBody := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"05000000000000000000000000000005","spanId":"0500000000000005","name":"` + "json-\xff-name" + `"}]}]}]}`)
	if code, msg := post(t, gw.OTLPHTTP+"/v1/traces", "application/json", jsonBody); code != http.StatusOK {
		t.Errorf("invalid UTF-8 in JSON: answered %d %q, want 200", code, msg)
	}

	// A thousand attributes on one span: no limit applies, all arrive.
	wide := badInputSpan("a-thousand-attributes", 3)
	attrs := wide.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	for i := range 1000 {
		attrs.PutStr(fmt.Sprintf("attr.%04d", i), fmt.Sprintf("value-%d", i))
	}
	body, err = ptraceotlp.NewExportRequestFromTraces(wide).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := post(t, gw.OTLPHTTP+"/v1/traces", "application/x-protobuf", body); code != http.StatusOK {
		t.Errorf("1000 attributes: answered %d %q, want 200", code, msg)
	}

	// Loki push, our receiver: malformed JSON is 400, too large is 413
	// (Loki's own answers), and a good line after them arrives.
	pushURL := gw.LokiPush + "/loki/api/v1/push"
	if code, msg := post(t, pushURL, "application/json", []byte(`{"streams":[{"stream":`)); code != http.StatusBadRequest || msg == "" {
		t.Errorf("malformed Loki push: answered %d %q, want 400 with a message", code, msg)
	}
	line := strings.Repeat("x", maxBody)
	tooLarge := fmt.Sprintf(`{"streams":[{"stream":{"job":"badinput"},"values":[["%d","%s"]]}]}`, time.Now().UnixNano(), line)
	if code, msg := post(t, pushURL, "application/json", []byte(tooLarge)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized Loki push: answered %d %q, want 413", code, msg)
	}
	good := fmt.Sprintf(`{"streams":[{"stream":{"job":"badinput"},"values":[["%d","good line"]]}]}`, time.Now().UnixNano())
	if code, msg := post(t, pushURL, "application/json", []byte(good)); code != http.StatusNoContent {
		t.Errorf("good Loki push after bad ones: answered %d %q, want 204", code, msg)
	}

	harness.SendTraces(t, gw.OTLPGRPC, badInputTenant, badInputSpan("good-after", 4))

	// The five accepted spans, and none of the refused requests'.
	gw.Tempo.WaitSpans(t, 5, badInputTenant)
	got := map[string]ptrace.Span{}
	for _, r := range gw.Tempo.Requests() {
		rss := r.Traces.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			ss := rss.At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				for k := 0; k < ss.At(j).Spans().Len(); k++ {
					s := ss.At(j).Spans().At(k)
					got[s.Name()] = s
				}
			}
		}
	}
	for _, name := range []string{"good-before", "good-after", badName, "json-\xff-name", "a-thousand-attributes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("span %q did not arrive (got %d spans)", name, len(got))
		}
	}
	if _, ok := got["never-arrives"]; ok {
		t.Error("a span of a refused request arrived")
	}
	if s, ok := got[badName]; ok {
		if v, _ := s.Attributes().Get("bad"); v.Str() != badValue {
			t.Errorf("invalid UTF-8 attribute arrived as %q, want the bytes %q", v.Str(), badValue)
		}
	}
	if s, ok := got["a-thousand-attributes"]; ok && s.Attributes().Len() != 1000 {
		t.Errorf("the wide span arrived with %d attributes, want 1000", s.Attributes().Len())
	}

	if d := count400() - before400; d != float64(len(bad)) {
		t.Errorf("http_server_request_duration_count{status 400, OTLP HTTP port} moved by %v, want %d (one per bad request)", d, len(bad))
	}
	if d := countStatus(lokiPort, 400) - lokiBefore400; d != 1 {
		t.Errorf("400s counted on the Loki push port moved by %v, want 1", d)
	}
	if d := countStatus(lokiPort, 413) - lokiBefore413; d != 1 {
		t.Errorf("413s counted on the Loki push port moved by %v, want 1", d)
	}
	harness.Eventually(t, 30*time.Second, func() error {
		if n := gw.Loki.LogCount(); n != 1 {
			return fmt.Errorf("Loki sink has %d records, want the 1 good line", n)
		}
		return nil
	})
	if d := refusedSpans() - beforeRefused; d != 0 {
		t.Errorf("otelcol_receiver_refused_spans moved by %v: undecodable requests have no spans to count, want 0", d)
	}

	// The garbage target is down, the backend on another target is up.
	gw.Prometheus.WaitFor(t, 30*time.Second, harness.PromQL{
		`up{job="redis_exporter"}`:          harness.Value(0),
		`up{job="gatewayz_production"}`:     harness.Value(1),
		`sum(gatewayz_http_requests_total)`: harness.Value(harness.FakeFastAPIRequests),
	})
	if err := harness.WaitHTTP200(gw.Health, time.Second); err != nil {
		t.Errorf("collector not healthy after bad input: %v", err)
	}
}

// rejected reads otelcol_ingress_requests_rejected (the rejections
// extension) for one receiver and reason.
func rejected(t *testing.T, metricsURL, receiver, reason string) float64 {
	t.Helper()
	return selfMetric(t, metricsURL, "otelcol_ingress_requests_rejected",
		`receiver="`+receiver+`"`, `reason="`+reason+`"`)
}

var rejectReasons = []string{"bad_request", "too_large", "unsupported", "unauthenticated", "refused_downstream"}

// TestBadInputRejections sends each of the four ingress receivers bad
// requests of several reasons, at the default metrics level, and checks
// that the rejections extension counts exactly those, by receiver and
// reason (good requests in between are not counted), and logs one info
// line per reason.
func TestBadInputRejections(t *testing.T) {
	const maxBody = 64 << 10
	telemetryPort := harness.FreePort(t)
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"COLLECTOR_TELEMETRY_PORT":        fmt.Sprint(telemetryPort),
		"OTLP_HTTP_MAX_BODY_BYTES":        fmt.Sprint(maxBody),
		"LOKI_PUSH_MAX_BODY_BYTES":        fmt.Sprint(maxBody),
		"PYROSCOPE_INGEST_MAX_BODY_BYTES": fmt.Sprint(maxBody),
	}})
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)

	valid, err := ptraceotlp.NewExportRequestFromTraces(badInputSpan("good", 1)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	huge := bytes.Repeat([]byte("x"), maxBody+1)
	type request struct {
		method, url, contentType string
		body                     []byte
		code                     int
	}
	ingestURL := gw.PyroscopeIngest + "/ingest?name=badinput.app&format=pprof&from=1&until=2"
	pushURL := gw.LokiPush + "/loki/api/v1/push"
	want := map[string]map[string]float64{} // receiver -> reason -> count
	for _, c := range []struct {
		receiver, reason string
		req              request
	}{
		{"otlp_http", "", request{"POST", gw.OTLPHTTP + "/v1/traces", "application/x-protobuf", valid, 200}},
		{"otlp_http", "bad_request", request{"POST", gw.OTLPHTTP + "/v1/traces", "application/x-protobuf", []byte("\x0a\xff\xff\xff\xff\x0fnot protobuf"), 400}},
		{"otlp_http", "bad_request", request{"POST", gw.OTLPHTTP + "/v1/logs", "application/json", []byte(`{"resourceLogs":[}`), 400}},
		{"otlp_http", "too_large", request{"POST", gw.OTLPHTTP + "/v1/traces", "application/x-protobuf", bytes.Repeat(valid, maxBody/len(valid)+1), 400}},
		{"otlp_http", "unsupported", request{"POST", gw.OTLPHTTP + "/v1/traces", "text/plain", valid, 415}},
		{"otlp_http", "unsupported", request{"GET", gw.OTLPHTTP + "/v1/traces", "", nil, 405}},
		{"lokipush", "bad_request", request{"POST", pushURL, "application/json", []byte(`{"streams":[{"stream":`), 400}},
		{"lokipush", "too_large", request{"POST", pushURL, "application/json", huge, 413}},
		{"lokipush", "too_large", request{"POST", pushURL, "application/json", huge, 413}},
		{"lokipush", "unsupported", request{"GET", pushURL, "", nil, 405}},
		{"pyroscope", "bad_request", request{"POST", ingestURL, "application/octet-stream", []byte("not a profile"), 400}},
		{"pyroscope", "too_large", request{"POST", ingestURL, "application/octet-stream", huge, 413}},
		{"pyroscope", "unsupported", request{"GET", ingestURL, "", nil, 405}},
	} {
		req, err := http.NewRequest(c.req.method, c.req.url, bytes.NewReader(c.req.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.req.contentType != "" {
			req.Header.Set("Content-Type", c.req.contentType)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.req.method, c.req.url, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.req.code {
			t.Errorf("%s %s (%s): answered %d %q, want %d", c.req.method, c.req.url, c.reason, resp.StatusCode, msg, c.req.code)
		}
		if want[c.receiver] == nil {
			want[c.receiver] = map[string]float64{}
		}
		if c.reason != "" {
			want[c.receiver][c.reason]++
		}
	}

	// gRPC: grpc-go refuses a message over max_recv_msg_size (4 MiB) before
	// any interceptor, and a method the receiver does not serve.
	harness.SendTraces(t, gw.OTLPGRPC, badInputTenant, badInputSpan("good-grpc", 2))
	big := badInputSpan("too-large", 3)
	big.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("big", strings.Repeat("x", 5<<20))
	if err := harness.DialOTLP(t, gw.OTLPGRPC).ExportTraces(badInputTenant, ptraceotlp.NewExportRequestFromTraces(big)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("5 MiB gRPC export: %v, want ResourceExhausted", err)
	}
	conn, err := grpc.NewClient(gw.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/NoSuchMethod", &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown gRPC method: %v, want Unimplemented", err)
	}
	want["otlp_grpc"] = map[string]float64{"too_large": 1, "unsupported": 1}

	// The server side counts a gRPC call when it ends, which may be just
	// after the client has its answer.
	harness.Eventually(t, 10*time.Second, func() error {
		for receiver, reasons := range want {
			for _, reason := range rejectReasons {
				if got := rejected(t, metricsURL, receiver, reason); got != reasons[reason] {
					return fmt.Errorf("otelcol_ingress_requests_rejected{receiver=%q,reason=%q} = %v, want %v", receiver, reason, got, reasons[reason])
				}
			}
		}
		return nil
	})
	// The first refusal of each reason is logged at once: the line is in
	// the output as soon as the pipe delivers it.
	harness.Eventually(t, 5*time.Second, func() error {
		for receiver, reasons := range want {
			for reason := range reasons {
				if !gw.HasLogLine("info", "Refused requests", `"receiver": "`+receiver+`"`, `"reason": "`+reason+`"`) {
					return fmt.Errorf("no info line \"Refused requests\" for receiver %s, reason %s", receiver, reason)
				}
			}
		}
		return nil
	})
}
